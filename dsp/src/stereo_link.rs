//! Linked stereo, one definition for the plugin and the offline renderer: the model runs once per
//! frame on the mid signal `(L + R) / 2` (mono: the channel itself), and the ratio of the bent
//! magnitude to the mid's magnitude becomes a per-bin gain on each channel's own spectrum. Each
//! channel keeps its phase and its level relative to the other, so the stereo image survives the
//! bend and one model run serves both channels.
//!
//! The gain is bounded the way the plugin always bounded it: a mid magnitude below the
//! normalisation's `amin` (-80 dB, where the model sees only its floor) counts as `amin`, so a
//! near-silent mid bin cannot turn into a huge gain on a channel that is not silent (e.g. a bin
//! where left and right cancel).

use crate::Complex32;

/// `|mid|` per bin of one frame: `|left|` for mono (`right` is `None`), `|(L + R) / 2|` for stereo.
pub fn mid_magnitude(left: &[Complex32], right: Option<&[Complex32]>, out: &mut [f32]) {
    match right {
        None => {
            for (o, x) in out.iter_mut().zip(left) {
                *o = x.norm();
            }
        }
        Some(right) => {
            for ((o, a), b) in out.iter_mut().zip(left).zip(right) {
                *o = ((a + b) * 0.5).norm();
            }
        }
    }
}

/// The gain of one bin: the bent mid magnitude over the mid's magnitude, the latter at least
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
    fn mid_of_opposite_channels_is_silent_and_of_equal_ones_is_the_channel() {
        let l = [Complex32::new(0.3, -0.4), Complex32::new(1.0, 0.0)];
        let r = [Complex32::new(-0.3, 0.4), Complex32::new(1.0, 0.0)];
        let mut mid = [9.0; 2];
        mid_magnitude(&l, Some(&r), &mut mid);
        assert_eq!(mid, [0.0, 1.0]);
        mid_magnitude(&l, None, &mut mid);
        assert_eq!(mid, [0.5, 1.0]);
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
