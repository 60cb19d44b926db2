//! Cutting a spectrogram into overlapping model windows and overlap-adding the model's windows
//! back with a cross-fade (offline rendering, `netbend render` / `generate`).
//!
//! Windows of `window` frames start every `hop = window / 2` frames. The spectrogram is padded
//! with `hop` frames in front and enough frames at the end that every real frame lies in exactly
//! two windows: the second half of window `k - 1` and the first half of window `k`. The output
//! of frame `t` at offset `o` in its hop is
//!
//! `out = a + f(o) (b - a)`, with `a` = window `k - 1`'s value and `b` = window `k`'s value,
//!
//! and `f(o) = sin²(π (o + ½) / (2 hop))`, a raised-cosine fade-in: the two weights `1 - f` and
//! `f` sum to one by construction, and when both windows agree the result is that value exactly
//! (no rounding), which the identity test checks bit for bit.

/// The raised-cosine fade-in weight at offset `o` of a fade `len` long:
/// `sin²(π (o + ½) / (2 len))`. `f(o) + f(len - 1 - o) = 1`, so a fade-out with `1 - f` keeps the
/// sum of the two weights at one. Shared by the offline [`WindowLayout`] and the streaming
/// [`crate::StreamSchedule`] so both cross-fade model windows identically.
pub fn sin2_fade_in(o: usize, len: usize) -> f32 {
    let x = std::f64::consts::PI * (o as f64 + 0.5) / (2.0 * len as f64);
    (x.sin() * x.sin()) as f32
}

/// The layout of the overlapping windows over a `[frames, bins]` spectrogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLayout {
    /// Real frames of the spectrogram.
    pub frames: usize,
    /// Frames per window (128 for the model).
    pub window: usize,
    /// Hop between window starts (`window / 2`).
    pub hop: usize,
    /// Number of windows.
    pub count: usize,
}

impl WindowLayout {
    /// Windows of `window` frames (even, >= 2) with hop `window / 2` covering `frames` frames.
    pub fn new(frames: usize, window: usize) -> WindowLayout {
        assert!(
            window >= 2 && window.is_multiple_of(2),
            "window must be even and >= 2"
        );
        let hop = window / 2;
        // Padded frame p = t + hop lies in windows p / hop and p / hop - 1; the last real frame
        // needs window (frames + hop - 1) / hop.
        let count = if frames == 0 {
            0
        } else {
            frames.div_ceil(hop) + 1
        };
        WindowLayout {
            frames,
            window,
            hop,
            count,
        }
    }

    /// Padded length `(count - 1) hop + window` (front padding `hop`, the rest at the end).
    pub fn padded_frames(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            (self.count - 1) * self.hop + self.window
        }
    }

    /// The fade-in weight of the later window at offset `o` in the hop.
    pub fn fade_in(&self, o: usize) -> f32 {
        sin2_fade_in(o, self.hop)
    }

    /// Cuts a row-major `[frames, bins]` spectrogram into `[count, window, bins]` (row-major),
    /// padding with `pad` (e.g. the normalised value of silence).
    pub fn split(&self, spectrogram: &[f32], bins: usize, pad: f32) -> Vec<f32> {
        assert_eq!(spectrogram.len(), self.frames * bins, "spectrogram size");
        let mut out = vec![pad; self.count * self.window * bins];
        for k in 0..self.count {
            for j in 0..self.window {
                // Frame in real coordinates: k hop + j - hop.
                let p = k * self.hop + j;
                if p < self.hop || p - self.hop >= self.frames {
                    continue;
                }
                let t = p - self.hop;
                let dst = (k * self.window + j) * bins;
                out[dst..dst + bins].copy_from_slice(&spectrogram[t * bins..(t + 1) * bins]);
            }
        }
        out
    }

    /// Overlap-adds `[count, window, bins]` windows back to a `[frames, bins]` spectrogram with
    /// the cross-fade of the module docs.
    pub fn overlap_add(&self, windows: &[f32], bins: usize) -> Vec<f32> {
        assert_eq!(
            windows.len(),
            self.count * self.window * bins,
            "windows size"
        );
        let mut out = vec![0.0f32; self.frames * bins];
        for t in 0..self.frames {
            let p = t + self.hop;
            let k = p / self.hop;
            let o = p % self.hop;
            let f = self.fade_in(o);
            let a = &windows[((k - 1) * self.window + self.hop + o) * bins..][..bins];
            let b = &windows[(k * self.window + o) * bins..][..bins];
            for ((y, &a), &b) in out[t * bins..(t + 1) * bins].iter_mut().zip(a).zip(b) {
                *y = a + f * (b - a);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(frames: usize, bins: usize) -> Vec<f32> {
        (0..frames * bins)
            .map(|i| ((i * 7919) % 1000) as f32 / 999.0)
            .collect()
    }

    #[test]
    fn identity_model_gives_back_the_input_exactly() {
        for frames in [1, 2, 63, 64, 65, 127, 128, 129, 300, 1000] {
            let bins = 5;
            let layout = WindowLayout::new(frames, 128);
            let x = ramp(frames, bins);
            let windows = layout.split(&x, bins, 0.0);
            assert_eq!(layout.overlap_add(&windows, bins), x, "frames {frames}");
        }
    }

    #[test]
    fn fade_weights_sum_to_one_and_rise() {
        let layout = WindowLayout::new(500, 128);
        for o in 0..64 {
            let f = layout.fade_in(o);
            // The partner frame of the fading-out window has weight 1 - f; the weights mirror.
            assert!((f + layout.fade_in(63 - o) - 1.0).abs() < 1e-6);
            if o > 0 {
                assert!(f > layout.fade_in(o - 1));
            }
        }
    }

    #[test]
    fn every_frame_is_covered_by_two_windows() {
        for frames in [1, 64, 65, 200] {
            let layout = WindowLayout::new(frames, 128);
            // The last real frame lies inside the last window.
            assert!(frames + layout.hop <= layout.padded_frames());
            assert!(frames + layout.hop > layout.padded_frames() - layout.window);
        }
    }

    #[test]
    fn constant_windows_cross_fade_between_values() {
        // Window k filled with k: the output moves monotonically from one to the next.
        let frames = 256;
        let layout = WindowLayout::new(frames, 128);
        let mut windows = vec![0.0; layout.count * 128];
        for k in 0..layout.count {
            windows[k * 128..(k + 1) * 128].fill(k as f32);
        }
        let out = layout.overlap_add(&windows, 1);
        for w in out.windows(2) {
            assert!(w[1] >= w[0]);
        }
        assert!(out[0] > 0.0 && out[0] < 1.0);
    }
}
