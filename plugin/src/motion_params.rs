//! A slot's modulator and re-roll as host parameters, and their meaning as the engine's
//! [`engine::Motion`] (docs/config.md, "Modulation and re-roll"): the plugin only chooses values;
//! what a modulator does at a song position is defined once, in `engine::motion`.
//!
//! Depth is a share of the target's range, so that one host parameter means the same for every
//! transform: 25 % on Rotate (-180..180 degrees) swings +-90 degrees, on Mix +-0.25. The slot's
//! snapshot carries it in the target's units with the parameter's range as the modulator's
//! `range`, which is also what a saved config holds.

use engine::{Modulator, Motion, Rate, Shape, Target};
use nice_plug::prelude::*;
use std::sync::Arc;

/// The modulator's curve; `Off` leaves the slot where the host puts it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModShape {
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "sine"]
    #[name = "Sine"]
    Sine,
    #[id = "triangle"]
    #[name = "Triangle"]
    Triangle,
    #[id = "saw"]
    #[name = "Saw"]
    Saw,
    #[id = "square"]
    #[name = "Square"]
    Square,
    #[id = "random"]
    #[name = "Random step"]
    Random,
    #[id = "drift"]
    #[name = "Drift"]
    Drift,
}

impl ModShape {
    /// The engine's curve (`None` for `Off`).
    pub fn shape(self) -> Option<Shape> {
        Some(match self {
            ModShape::Off => return None,
            ModShape::Sine => Shape::Sine,
            ModShape::Triangle => Shape::Triangle,
            ModShape::Saw => Shape::Saw,
            ModShape::Square => Shape::Square,
            ModShape::Random => Shape::Random,
            ModShape::Drift => Shape::Drift,
        })
    }

    pub fn from_shape(shape: Shape) -> ModShape {
        match shape {
            Shape::Sine => ModShape::Sine,
            Shape::Triangle => ModShape::Triangle,
            Shape::Saw => ModShape::Saw,
            Shape::Square => ModShape::Square,
            Shape::Random => ModShape::Random,
            Shape::Drift => ModShape::Drift,
        }
    }

    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// How fast the modulator runs: free in Hz, or one period per note length or bars of the host's
/// tempo and meter.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModRate {
    #[id = "free"]
    #[name = "Free (Hz)"]
    Free,
    #[id = "1/16"]
    #[name = "1/16"]
    Sixteenth,
    #[id = "1/8"]
    #[name = "1/8"]
    Eighth,
    #[id = "1/4"]
    #[name = "1/4"]
    Quarter,
    #[id = "1/2"]
    #[name = "1/2"]
    Half,
    #[id = "1bar"]
    #[name = "1 bar"]
    Bar1,
    #[id = "2bars"]
    #[name = "2 bars"]
    Bars2,
    #[id = "4bars"]
    #[name = "4 bars"]
    Bars4,
    #[id = "8bars"]
    #[name = "8 bars"]
    Bars8,
}

/// The synced rates with their engine meaning, in menu order.
const SYNCED: [(ModRate, Rate); 8] = [
    (ModRate::Sixteenth, Rate::Beats(0.25)),
    (ModRate::Eighth, Rate::Beats(0.5)),
    (ModRate::Quarter, Rate::Beats(1.0)),
    (ModRate::Half, Rate::Beats(2.0)),
    (ModRate::Bar1, Rate::Bars(1.0)),
    (ModRate::Bars2, Rate::Bars(2.0)),
    (ModRate::Bars4, Rate::Bars(4.0)),
    (ModRate::Bars8, Rate::Bars(8.0)),
];

impl ModRate {
    /// The engine's rate; `hz` is used when the rate is free.
    pub fn rate(self, hz: f32) -> Rate {
        SYNCED
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(Rate::Hz(f64::from(hz)), |(_, rate)| *rate)
    }

    /// The synced rate meaning `rate` (`None`: free, or a length the menu does not offer).
    pub fn synced(rate: Rate) -> Option<ModRate> {
        SYNCED.iter().find(|(_, r)| *r == rate).map(|(m, _)| *m)
    }

    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// What the modulator moves.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModTarget {
    #[id = "mix"]
    #[name = "Mix"]
    Mix,
    #[id = "param"]
    #[name = "Parameter"]
    Param,
}

impl ModTarget {
    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// How often a slot with a random selection, shuffle or noise draws anew.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reroll {
    #[id = "off"]
    #[name = "Off"]
    Off,
    #[id = "1beat"]
    #[name = "Every beat"]
    Beat1,
    #[id = "2beats"]
    #[name = "Every 2 beats"]
    Beats2,
    #[id = "1bar"]
    #[name = "Every bar"]
    Bar1,
    #[id = "2bars"]
    #[name = "Every 2 bars"]
    Bars2,
    #[id = "4bars"]
    #[name = "Every 4 bars"]
    Bars4,
    #[id = "8bars"]
    #[name = "Every 8 bars"]
    Bars8,
}

const REROLLS: [(Reroll, Rate); 6] = [
    (Reroll::Beat1, Rate::Beats(1.0)),
    (Reroll::Beats2, Rate::Beats(2.0)),
    (Reroll::Bar1, Rate::Bars(1.0)),
    (Reroll::Bars2, Rate::Bars(2.0)),
    (Reroll::Bars4, Rate::Bars(4.0)),
    (Reroll::Bars8, Rate::Bars(8.0)),
];

impl Reroll {
    /// The engine's re-roll period (`None` for `Off`).
    pub fn rate(self) -> Option<Rate> {
        REROLLS
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, rate)| *rate)
    }

    pub fn from_rate(rate: Rate) -> Option<Reroll> {
        REROLLS.iter().find(|(_, r)| *r == rate).map(|(m, _)| *m)
    }

    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// Free-running rates the plugin offers, in Hz.
pub const MOD_HZ_RANGE: (f32, f32) = (0.01, 20.0);

pub fn mod_hz_param(name: String) -> FloatParam {
    FloatParam::new(
        name,
        0.5,
        FloatRange::Skewed {
            min: MOD_HZ_RANGE.0,
            max: MOD_HZ_RANGE.1,
            factor: FloatRange::skew_factor(-2.0),
        },
    )
    .with_unit(" Hz")
    .with_value_to_string(formatters::v2s_f32_rounded(2))
}

/// Depth: a share of the target's range, negative to swing the other way first.
pub fn mod_depth_param(name: String) -> FloatParam {
    FloatParam::new(
        name,
        0.25,
        FloatRange::Linear {
            min: -1.0,
            max: 1.0,
        },
    )
    .with_unit(" % of range")
    .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
    .with_string_to_value(Arc::new(|s| {
        let t = s.trim().trim_end_matches("of range").trim();
        t.trim_end_matches('%')
            .trim()
            .parse::<f32>()
            .ok()
            .map(|v| v / 100.0)
    }))
}

/// Phase: where in its cycle the modulator starts, in degrees (a config writes periods).
pub fn mod_phase_param(name: String) -> FloatParam {
    FloatParam::new(
        name,
        0.0,
        FloatRange::Linear {
            min: 0.0,
            max: 360.0,
        },
    )
    .with_unit(" deg")
    .with_value_to_string(formatters::v2s_f32_rounded(0))
}

/// A slot's motion as the worker needs it: the parameter values taken on the audio thread and
/// the target's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotMotion {
    pub shape: ModShape,
    pub rate: ModRate,
    pub hz: f32,
    /// A share of the target's range, [-1, 1].
    pub depth: f32,
    /// Degrees, [0, 360].
    pub phase_degrees: f32,
    pub target: ModTarget,
    /// The target parameter's range (mix: 0..1).
    pub range: [f32; 2],
    pub reroll: Reroll,
}

impl Default for SlotMotion {
    fn default() -> Self {
        Self {
            shape: ModShape::Off,
            rate: ModRate::Bar1,
            hz: 0.5,
            depth: 0.25,
            phase_degrees: 0.0,
            target: ModTarget::Mix,
            range: [0.0, 1.0],
            reroll: Reroll::Off,
        }
    }
}

impl SlotMotion {
    /// The engine's motion of a slot whose transform takes `param_count` float parameters and
    /// whose draws are random (`draws`: a random selection, shuffle or noise); `None` when
    /// nothing moves. A transform without parameters moves its mix. Depth and phase are worked
    /// out in f64 from the parameter values, so a saved config holds exactly these numbers.
    pub fn motion(&self, param_count: usize, draws: bool) -> Option<Motion> {
        let (low, high) = (f64::from(self.range[0]), f64::from(self.range[1]));
        let modulator = self.shape.shape().map(|shape| Modulator {
            shape,
            rate: self.rate.rate(self.hz),
            depth: f64::from(self.depth) * (high - low),
            phase: (f64::from(self.phase_degrees) / 360.0).rem_euclid(1.0),
            target: if self.target == ModTarget::Param && param_count > 0 {
                Target::Param
            } else {
                Target::Mix
            },
            range: Some((low, high)),
        });
        let reroll = self.reroll.rate().filter(|_| draws);
        (modulator.is_some() || reroll.is_some()).then_some(Motion { modulator, reroll })
    }
}

/// A rate as a config writes it: Hz as a number, synced rates as text.
pub fn rate_text(rate: Rate) -> String {
    match rate {
        Rate::Hz(hz) => format!("{hz}"),
        Rate::Beats(b) => {
            // Note lengths N/D with D a power of two: beats = 4 N / D.
            let mut d = 4u32;
            while (b * f64::from(d) / 4.0).fract() != 0.0 && d < 32 {
                d *= 2;
            }
            format!("\"{}/{d}\"", b * f64::from(d) / 4.0)
        }
        Rate::Bars(1.0) => "1 bar".to_string(),
        Rate::Bars(n) => format!("{n} bars"),
    }
}

/// The config name of a curve.
pub fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Sine => "sine",
        Shape::Triangle => "triangle",
        Shape::Saw => "saw",
        Shape::Square => "square",
        Shape::Random => "random",
        Shape::Drift => "drift",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menus_mean_the_engines_rates() {
        assert_eq!(ModRate::Quarter.rate(3.0), Rate::Beats(1.0));
        assert_eq!(ModRate::Free.rate(3.0), Rate::Hz(3.0));
        assert_eq!(ModRate::Bars8.rate(3.0), Rate::Bars(8.0));
        for rate in [
            "1/16", "1/8", "1/4", "1/2", "1 bar", "2 bars", "4 bars", "8 bars",
        ] {
            let r = Rate::from_text(rate).unwrap();
            assert_eq!(ModRate::synced(r).unwrap().rate(1.0), r, "{rate}");
        }
        assert_eq!(ModRate::synced(Rate::Beats(3.0)), None);
        assert_eq!(Reroll::from_rate(Rate::Bars(2.0)), Some(Reroll::Bars2));
        assert_eq!(Reroll::Off.rate(), None);
    }

    #[test]
    fn a_parameterless_transform_moves_its_mix_and_only_draws_reroll() {
        let m = SlotMotion {
            shape: ModShape::Sine,
            target: ModTarget::Param,
            reroll: Reroll::Bar1,
            ..SlotMotion::default()
        };
        let motion = m.motion(0, false).unwrap();
        assert_eq!(motion.modulator.unwrap().target, Target::Mix);
        assert_eq!(motion.reroll, None);
        assert_eq!(
            m.motion(1, true).unwrap().modulator.unwrap().target,
            Target::Param
        );
        assert_eq!(m.motion(1, true).unwrap().reroll, Some(Rate::Bars(1.0)));
        let still = SlotMotion::default();
        assert_eq!(still.motion(1, true), None);
    }

    #[test]
    fn depth_is_a_share_of_the_range_and_rates_read_back_as_text() {
        let m = SlotMotion {
            shape: ModShape::Square,
            depth: 0.25,
            phase_degrees: 90.0,
            target: ModTarget::Param,
            range: [-180.0, 180.0],
            ..SlotMotion::default()
        };
        let modulator = m.motion(1, false).unwrap().modulator.unwrap();
        assert_eq!((modulator.depth, modulator.phase), (90.0, 0.25));
        assert_eq!(modulator.range, Some((-180.0, 180.0)));
        for (rate, _) in SYNCED.iter().map(|(m, r)| (*r, m)) {
            let text = rate_text(rate);
            assert_eq!(
                Rate::from_text(text.trim_matches('"')),
                Some(rate),
                "{text}"
            );
        }
        assert_eq!(rate_text(Rate::Hz(0.5)), "0.5");
    }
}
