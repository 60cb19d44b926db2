//! How a bend entry moves over a song (docs/config.md, "Modulation and re-roll"): song
//! positions, the modulator curves and rates, and the fixed mixing function that random curves
//! and re-rolls draw from. Applying them to a spec is [`crate::modulation`].

/// Where in the song a window is: seconds from the song's start and quarter-note beats (at a
/// tempo), with the bar length in quarter notes (4 in 4/4, 3 in 6/8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SongPosition {
    pub seconds: f64,
    pub beats: f64,
    pub beats_per_bar: f64,
}

impl SongPosition {
    /// `seconds` into a song at `bpm` quarter notes per minute.
    pub fn at_tempo(seconds: f64, bpm: f64, beats_per_bar: f64) -> SongPosition {
        SongPosition {
            seconds,
            beats: seconds * bpm / 60.0,
            beats_per_bar,
        }
    }
}

/// The curve a modulator follows, a function of its cycle count `c` (one period per unit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `sin(2 pi c)`.
    Sine,
    /// Up from 0 to 1 at a quarter cycle, down to -1 at three quarters, back to 0: sine's phase.
    Triangle,
    /// Rising ramp: `2 frac(c) - 1`.
    Saw,
    /// `+1` in the first half of each cycle, `-1` in the second.
    Square,
    /// Sample and hold: one uniform value in [-1, 1] per cycle, drawn from the seed.
    Random,
    /// Smooth random drift: one-dimensional gradient (Perlin) noise with a gradient per cycle.
    Drift,
}

impl Shape {
    pub const NAMES: &'static str = "sine, triangle, saw, square, random, drift";

    pub fn from_name(name: &str) -> Option<Shape> {
        Some(match name {
            "sine" => Shape::Sine,
            "triangle" => Shape::Triangle,
            "saw" => Shape::Saw,
            "square" => Shape::Square,
            "random" => Shape::Random,
            "drift" => Shape::Drift,
            _ => return None,
        })
    }

    /// The curve's value in [-1, 1] after `cycles` periods; `seed` chooses the random shapes'
    /// values.
    pub fn at(self, cycles: f64, seed: u64) -> f64 {
        let n = cycles.floor();
        let x = cycles - n;
        match self {
            Shape::Sine => (std::f64::consts::TAU * x).sin(),
            Shape::Triangle => {
                if x < 0.25 {
                    4.0 * x
                } else if x < 0.75 {
                    2.0 - 4.0 * x
                } else {
                    4.0 * x - 4.0
                }
            }
            Shape::Saw => 2.0 * x - 1.0,
            Shape::Square => {
                if x < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
            Shape::Random => uniform(seed, n as i64),
            Shape::Drift => {
                // Gradients g_n at whole cycles, the quintic fade between them; the raw noise
                // stays within +-0.5, so it is doubled to use the whole range.
                let (g0, g1) = (uniform(seed, n as i64), uniform(seed, n as i64 + 1));
                let fade = x * x * x * (x * (x * 6.0 - 15.0) + 10.0);
                let v = g0 * x + fade * (g1 * (x - 1.0) - g0 * x);
                (2.0 * v).clamp(-1.0, 1.0)
            }
        }
    }
}

/// How fast a modulator runs, or how often a re-roll draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Free-running, periods per second.
    Hz(f64),
    /// One period every this many quarter-note beats (a 1/16 note is 0.25, a whole note 4).
    Beats(f64),
    /// One period every this many bars.
    Bars(f64),
}

impl Rate {
    /// A note length `N/D` (D one of 1, 2, 4, 8, 16, 32; `1/4` is one beat) or `N bar(s)`
    /// (1 to 64): the synced rates a config may write as text.
    pub fn from_text(text: &str) -> Option<Rate> {
        let text = text.trim();
        if let Some((n, d)) = text.split_once('/') {
            let n: u32 = n.trim().parse().ok()?;
            let d: u32 = d.trim().parse().ok()?;
            if n == 0 || n > 64 || ![1, 2, 4, 8, 16, 32].contains(&d) {
                return None;
            }
            return Some(Rate::Beats(4.0 * f64::from(n) / f64::from(d)));
        }
        let mut words = text.split_whitespace();
        let count: u32 = words.next()?.parse().ok()?;
        match (words.next(), words.next()) {
            (Some("bar" | "bars"), None) if (1..=64).contains(&count) => {
                Some(Rate::Bars(f64::from(count)))
            }
            _ => None,
        }
    }

    /// Periods elapsed at `position`.
    pub fn cycles(self, position: SongPosition) -> f64 {
        match self {
            Rate::Hz(hz) => position.seconds * hz,
            Rate::Beats(beats) => position.beats / beats,
            Rate::Bars(bars) => position.beats / (bars * position.beats_per_bar),
        }
    }
}

/// What a modulator moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The entry's mix, kept in [0, 1].
    Mix,
    /// The transform's main parameter (docs/config.md), kept in its allowed range.
    Param,
}

/// A modulator: `value = base + depth * shape(rate cycles + phase)`, clamped to the target's
/// range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Modulator {
    pub shape: Shape,
    pub rate: Rate,
    /// In the target's units (mix: a fraction; rotate: degrees; ...).
    pub depth: f64,
    /// Added to the cycle count, in periods: [0, 1).
    pub phase: f64,
    pub target: Target,
    /// Bounds the moved value is also kept within, `(low, high)` (the plugin writes its
    /// parameter's range here); `None`: only the target's own range.
    pub range: Option<(f64, f64)>,
}

impl Modulator {
    /// The offset `depth * shape(...)` at `position`.
    pub fn offset(&self, position: SongPosition, seed: u64) -> f64 {
        self.depth * self.shape.at(self.rate.cycles(position) + self.phase, seed)
    }

    /// `value` kept within [`Modulator::range`], if there is one.
    pub fn bounded(&self, value: f64) -> f64 {
        match self.range {
            Some((low, high)) => value.clamp(low, high),
            None => value,
        }
    }
}

/// How an entry moves over the song: a modulator, a re-roll, or both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motion {
    pub modulator: Option<Modulator>,
    /// Draw the random selection, shuffle and noise anew every period (beats or bars).
    pub reroll: Option<Rate>,
}

/// The re-roll period an entry is in at `position`: 0 from the song's start to the first period's
/// end, then 1, ... (negative before the start).
pub fn reroll_index(rate: Rate, position: SongPosition) -> i64 {
    rate.cycles(position).floor() as i64
}

/// The seed a re-rolling entry draws with in period `index`, from its base seed.
pub fn reroll_seed(base: u64, index: i64) -> u64 {
    splitmix64(base ^ splitmix64(index as u64))
}

/// The base seed of a re-rolling or randomly modulated entry: its own seed, or the spec's seed
/// mixed with its 1-based position (so that entries without seeds differ).
pub fn entry_base_seed(own: Option<u64>, spec_seed: u64, position: usize) -> u64 {
    own.unwrap_or_else(|| splitmix64(spec_seed ^ splitmix64(position as u64)))
}

/// One uniform value in [-1, 1] per (seed, index).
pub fn uniform(seed: u64, index: i64) -> f64 {
    let bits = splitmix64(seed ^ splitmix64(index as u64)) >> 11;
    bits as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// SplitMix64 (Steele, Lea and Flood 2014): a fixed, documented mixing function, so a seed means
/// the same everywhere.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
