//! Voice, one definition for the plugin and the offline renderer: how much of the output is the
//! model's own rendering and how much is the input's detail shaped by the bend.
//!
//! Both ends are a per-bin gain on the input's linked spectrum ([`crate::stereo_link`]), so each
//! channel keeps its phase either way:
//! - voice 0, the model: `bent / max(mid, floor)`, the bent decode over the linked magnitude
//!   (the output's magnitude is the model's reconstruction, [`crate::stereo_link::link_gain`]);
//! - voice 1, the input: `clamp(bent / neutral, 10^(-60/20), 10^(40/20))`, the bent decode over
//!   the neutral (unbent) decode of the same windows: what the bend changed, as a mask on the
//!   real track. With no bend there is no neutral decode (`neutral` is `None`) and the gain is
//!   exactly 1, so the output is the input's STFT round trip.
//!
//! In between the gains are mixed linearly, `(1 - v) g0 + v g1`; as both gains act on the same
//! complex spectrum, the output is the same mix of the two outputs (before the output stage).
//!
//! `bent` and `neutral` are denormalised magnitudes (at least the normalisation's `amin`, 1e-4),
//! each cross-faded between model windows with the same weights. The bounds keep a bin the model
//! nearly silences in one decode and not in the other from becoming an extreme gain on a bin the
//! input has energy in: -60 dB is silence in practice, +40 dB is more than any bend of the shipped
//! model asks of a bin the track has.

use crate::stereo_link::link_gain;

/// Lowest gain of the input voice: -60 dB.
pub const VOICE_MIN_DB: f32 = -60.0;
/// Highest gain of the input voice: +40 dB.
pub const VOICE_MAX_DB: f32 = 40.0;

/// `10^(VOICE_MIN_DB / 20)`.
pub fn voice_min_gain() -> f32 {
    10f32.powf(VOICE_MIN_DB / 20.0)
}

/// `10^(VOICE_MAX_DB / 20)`.
pub fn voice_max_gain() -> f32 {
    10f32.powf(VOICE_MAX_DB / 20.0)
}

/// The input voice's gain of one bin: `clamp(bent / neutral, -60 dB, +40 dB)`.
#[inline]
pub fn input_voice_gain(bent: f32, neutral: f32, min: f32, max: f32) -> f32 {
    (bent / neutral).clamp(min, max)
}

/// The gains of one frame at voice `voice` (0: the model, 1: the input):
/// `gains[k] = (1 - v) bent[k] / max(mid[k], floor) + v clamp(bent[k] / neutral[k], -60, +40 dB)`,
/// with the ratio exactly 1 when `neutral` is `None` (the bend is neutral). At voice 0 these are
/// [`crate::stereo_link::link_gains`] bit for bit, at voice 1 the clamped ratios bit for bit.
pub fn voice_gains(
    bent: &[f32],
    neutral: Option<&[f32]>,
    mid: &[f32],
    floor: f32,
    voice: f32,
    gains: &mut [f32],
) {
    let voice = voice.clamp(0.0, 1.0);
    let (min, max) = (voice_min_gain(), voice_max_gain());
    let model = 1.0 - voice;
    for (k, g) in gains.iter_mut().enumerate() {
        let of_model = link_gain(bent[k], mid[k], floor);
        let of_input = neutral.map_or(1.0, |n| input_voice_gain(bent[k], n[k], min, max));
        *g = if voice == 0.0 {
            of_model
        } else if voice == 1.0 {
            of_input
        } else {
            model * of_model + voice * of_input
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_minus_60_and_plus_40_db() {
        assert!((voice_min_gain() - 1e-3).abs() < 1e-9);
        assert!((voice_max_gain() - 100.0).abs() < 1e-4);
    }

    #[test]
    fn gains_match_hand_computed_values_including_the_bounds() {
        // bins: bent, neutral, mid
        // 0: 0.5, 0.25, 0.2   model 2.5,   input 2
        // 1: 1e-4, 1.0, 0.01  model 0.01,  input 1e-4 -> clamped to 1e-3
        // 2: 2.0, 1e-3, 1.0   model 2,     input 2000 -> clamped to 100
        // 3: 0.3, 0.6, 0.0    model 0.3 / 1e-4 = 3000 (mid below the floor), input 0.5
        let bent = [0.5, 1e-4, 2.0, 0.3];
        let neutral = [0.25, 1.0, 1e-3, 0.6];
        let mid = [0.2, 0.01, 1.0, 0.0];
        let floor = 1e-4;
        let mut g = [0.0f32; 4];
        voice_gains(&bent, Some(&neutral), &mid, floor, 0.0, &mut g);
        let model = [2.5, 0.01, 2.0, 3000.0];
        for (got, want) in g.iter().zip(model) {
            assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
        }
        voice_gains(&bent, Some(&neutral), &mid, floor, 1.0, &mut g);
        let input = [2.0, 1e-3, 100.0, 0.5];
        for (got, want) in g.iter().zip(input) {
            assert!((got - want).abs() <= 1e-6 * want, "{got} vs {want}");
        }
        voice_gains(&bent, Some(&neutral), &mid, floor, 0.25, &mut g);
        for k in 0..4 {
            let want = 0.75 * model[k] + 0.25 * input[k];
            assert!(
                (g[k] - want).abs() <= 1e-5 * want,
                "bin {k}: {} vs {want}",
                g[k]
            );
        }
        // Out-of-range voices are held to 0..1.
        voice_gains(&bent, Some(&neutral), &mid, floor, 3.0, &mut g);
        assert!((g[2] - 100.0).abs() < 1e-4);
    }

    #[test]
    fn without_a_bend_the_input_voice_is_exactly_one_and_voice_0_is_the_link_gain() {
        let bent = [0.5, 1e-4, 7.0];
        let mid = [0.2, 0.0, 3.5];
        let mut g = [9.0f32; 3];
        voice_gains(&bent, None, &mid, 1e-4, 1.0, &mut g);
        assert_eq!(g, [1.0; 3]);
        let mut link = [0.0f32; 3];
        crate::stereo_link::link_gains(&bent, &mid, 1e-4, &mut link);
        voice_gains(&bent, None, &mid, 1e-4, 0.0, &mut g);
        assert_eq!(g, link);
        // A neutral decode equal to the bent one is the same as none: x / x is exactly 1.
        voice_gains(&bent, Some(&bent), &mid, 1e-4, 1.0, &mut g);
        assert_eq!(g, [1.0; 3]);
    }
}
