//! Linked stereo, one definition for the plugin and the offline renderer: the model runs once per
//! frame on one magnitude spectrum for both channels, the bins' RMS over the channels
//! `sqrt((|L|^2 + |R|^2) / 2)` (mono: the channel itself), and the ratio of the bent magnitude to
//! that magnitude becomes a per-bin gain on each channel's own spectrum. Each channel keeps its
//! phase and its level relative to the other, so the stereo image survives the bend and one model
//! run serves both channels.
//!
//! Why the RMS and not the mid `|(L + R) / 2|`: where the channels are out of phase in a bin (wide
//! stereo, reverb, a bass panned against a pad) the mid cancels while each channel is loud; the
//! model then reconstructs a quiet bin and the gain bent/mid turns the error into a large swing on
//! both channels. Measured on the committed music excerpt (channel correlation 0.22), neutral
//! render: the mid gave LSD 7.06 dB and onset r 0.47, the RMS 5.3 dB and 0.83, as good as running
//! each channel on its own. For identical channels both are the channel itself.
//!
//! The gain is bounded: a magnitude below the normalisation's `amin` (-80 dB, where the model sees
//! only its floor) counts as `amin`, so a near-silent bin cannot turn into a huge gain.

use crate::Complex32;

/// The magnitude the model sees per bin of one frame: `|left|` for mono (`right` is `None`),
/// `sqrt((|L|^2 + |R|^2) / 2)` for stereo.
pub fn linked_magnitude(left: &[Complex32], right: Option<&[Complex32]>, out: &mut [f32]) {
    match right {
        None => {
            for (o, x) in out.iter_mut().zip(left) {
                *o = x.norm();
            }
        }
        Some(right) => {
            for ((o, a), b) in out.iter_mut().zip(left).zip(right) {
                *o = ((a.norm_sqr() + b.norm_sqr()) * 0.5).sqrt();
            }
        }
    }
}

/// The gain of one bin: the bent magnitude over the linked magnitude, the latter at least
/// `floor` (the normalisation's `amin`).
#[inline]
pub fn link_gain(bent: f32, mid: f32, floor: f32) -> f32 {
    bent / mid.max(floor)
}

/// [`link_gain`] per bin: `gains[k] = bent[k] / max(mid[k], floor)`.
pub fn link_gains(bent: &[f32], mid: &[f32], floor: f32, gains: &mut [f32]) {
    for ((g, &b), &m) in gains.iter_mut().zip(bent).zip(mid) {
        *g = link_gain(b, m, floor);
    }
}

/// One channel's bent spectrum: `out[k] = spectrum[k] * gains[k]`.
pub fn apply_gains(spectrum: &[Complex32], gains: &[f32], out: &mut [Complex32]) {
    for ((o, x), &g) in out.iter_mut().zip(spectrum).zip(gains) {
        *o = x * g;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposite_channels_keep_their_level_and_equal_ones_are_the_channel() {
        let l = [Complex32::new(0.3, -0.4), Complex32::new(1.0, 0.0)];
        let r = [Complex32::new(-0.3, 0.4), Complex32::new(1.0, 0.0)];
        let mut linked = [9.0; 2];
        linked_magnitude(&l, Some(&r), &mut linked);
        assert_eq!(linked, [0.5, 1.0]);
        // |3| and |4|: sqrt((9 + 16) / 2)
        let (a, b) = ([Complex32::new(0.0, 3.0)], [Complex32::new(-4.0, 0.0)]);
        let mut one = [0.0];
        linked_magnitude(&a, Some(&b), &mut one);
        assert!((one[0] - 12.5f32.sqrt()).abs() < 1e-6);
        linked_magnitude(&l, None, &mut linked);
        assert_eq!(linked, [0.5, 1.0]);
    }

    #[test]
    fn the_gain_is_bounded_where_the_mid_is_below_the_floor() {
        assert_eq!(link_gain(0.5, 0.25, 1e-4), 2.0);
        assert_eq!(link_gain(0.5, 0.0, 0.125), 4.0);
        assert_eq!(link_gain(0.5, 0.0625, 0.125), 4.0);
        let mut out = [Complex32::new(0.0, 0.0); 2];
        apply_gains(
            &[Complex32::new(1.0, -2.0), Complex32::new(0.5, 0.5)],
            &[2.0, 0.0],
            &mut out,
        );
        assert_eq!(out, [Complex32::new(2.0, -4.0), Complex32::new(0.0, 0.0)]);
    }
}
