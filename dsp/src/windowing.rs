//! Cutting a spectrogram into overlapping model windows and overlap-adding the model's windows
//! back with a cross-fade (offline rendering, `netbend render` / `generate`).
//!
//! The offline renderer's own layout is described here; [`WindowLayout::for_schedule`] lays the
//! windows out as the plugin's stream cuts them instead ([`crate::LayoutMode`]), so that a file
//! can be rendered the way the plugin renders it.
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

use crate::cross_fade::cross_fade;
use crate::stream_windows::{FrameSources, StreamSchedule};

/// The layout of the overlapping windows over a `[frames, bins]` spectrogram, cross-faded by a
/// [`StreamSchedule`]: window `k` holds frames `(k + 1) hop - window ..= (k + 1) hop - 1` (padding
/// before frame 0 and after the last), and frame `t` is made of the windows
/// [`StreamSchedule::sources`] names, exactly as the plugin's stream makes it. [`WindowLayout::new`]
/// is the offline renderer's own layout (`hop = fade = window / 2`, the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLayout {
    /// Real frames of the spectrogram.
    pub frames: usize,
    /// Frames per window (128 for the model).
    pub window: usize,
    /// Hop between window starts (`window / 2` offline).
    pub hop: usize,
    /// Frames at the end of each hop cross-faded into the next window (`hop` offline).
    pub fade: usize,
    /// Number of windows.
    pub count: usize,
}

impl WindowLayout {
    /// Windows of `window` frames (even, >= 2) with hop = fade = `window / 2` covering `frames`
    /// frames: every frame lies in two windows and is cross-faded between them.
    pub fn new(frames: usize, window: usize) -> WindowLayout {
        assert!(
            window >= 2 && window.is_multiple_of(2),
            "window must be even and >= 2"
        );
        WindowLayout::for_schedule(
            frames,
            &StreamSchedule::new(window, window / 2, window / 2, 0),
        )
    }

    /// The windows a stream cut by `schedule` would see over `frames` frames (the schedule's
    /// budget only delays the stream, it does not change a frame's value).
    pub fn for_schedule(frames: usize, schedule: &StreamSchedule) -> WindowLayout {
        let hop = schedule.hop;
        // The last real frame's fade partner is window (frames - 1) / hop + 1.
        let count = if frames == 0 {
            0
        } else {
            frames.div_ceil(hop) + 1
        };
        WindowLayout {
            frames,
            window: schedule.window,
            hop,
            fade: schedule.fade,
            count,
        }
    }

    /// The stream schedule whose cross-fade this layout applies (budget 0).
    pub fn schedule(&self) -> StreamSchedule {
        StreamSchedule::new(self.window, self.hop, self.fade, 0)
    }

    /// Padded length `(count - 1) hop + window` (front padding `window - hop`, the rest at the
    /// end).
    pub fn padded_frames(&self) -> usize {
        if self.count == 0 {
            0
        } else {
            (self.count - 1) * self.hop + self.window
        }
    }

    /// The real frame at row `j` of window `k`, or `None` for padding.
    pub fn frame_at(&self, k: usize, j: usize) -> Option<usize> {
        // Row j of window k is padded frame p = k hop + j, real frame p - (window - hop).
        let p = k * self.hop + j;
        let front = self.window - self.hop;
        (p >= front && p - front < self.frames).then(|| p - front)
    }

    /// The last window that holds frame `t`: once it is built, no window reads `t` any more.
    pub fn last_reader(&self, t: usize) -> usize {
        ((t + self.window) / self.hop - 1).min(self.count.saturating_sub(1))
    }

    /// The windows (and weights) frame `t` is made of, as on the plugin's stream.
    pub fn sources(&self, t: usize) -> FrameSources {
        self.schedule().sources(t as u64)
    }

    /// Cuts a row-major `[frames, bins]` spectrogram into `[count, window, bins]` (row-major),
    /// padding with `pad` (e.g. the normalised value of silence).
    pub fn split(&self, spectrogram: &[f32], bins: usize, pad: f32) -> Vec<f32> {
        assert_eq!(spectrogram.len(), self.frames * bins, "spectrogram size");
        let mut out = vec![pad; self.count * self.window * bins];
        for k in 0..self.count {
            for j in 0..self.window {
                if let Some(t) = self.frame_at(k, j) {
                    let dst = (k * self.window + j) * bins;
                    out[dst..dst + bins].copy_from_slice(&spectrogram[t * bins..(t + 1) * bins]);
                }
            }
        }
        out
    }

    /// Overlap-adds `[count, window, bins]` windows back to a `[frames, bins]` spectrogram with
    /// the schedule's cross-fade.
    pub fn overlap_add(&self, windows: &[f32], bins: usize) -> Vec<f32> {
        assert_eq!(
            windows.len(),
            self.count * self.window * bins,
            "windows size"
        );
        let mut out = vec![0.0f32; self.frames * bins];
        let row = |(w, j): (u64, usize)| &windows[(w as usize * self.window + j) * bins..][..bins];
        for t in 0..self.frames {
            let sources = self.sources(t);
            cross_fade(
                row(sources.a),
                sources.b.map(|(w, j, f)| (row((w, j)), f)),
                &mut out[t * bins..(t + 1) * bins],
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LayoutMode;

    fn ramp(frames: usize, bins: usize) -> Vec<f32> {
        (0..frames * bins)
            .map(|i| ((i * 7919) % 1000) as f32 / 999.0)
            .collect()
    }

    #[test]
    fn identity_model_gives_back_the_input_exactly() {
        for frames in [1, 2, 11, 12, 13, 63, 64, 65, 127, 128, 129, 300, 1000] {
            let bins = 5;
            let x = ramp(frames, bins);
            for mode in LayoutMode::ALL {
                let layout = WindowLayout::for_schedule(frames, &mode.schedule(128));
                let windows = layout.split(&x, bins, 0.0);
                let out = layout.overlap_add(&windows, bins);
                assert_eq!(out, x, "{} frames {frames}", mode.name());
            }
        }
    }

    #[test]
    fn the_offline_mode_is_the_half_window_layout() {
        let offline = LayoutMode::Offline.schedule(128);
        assert_eq!(
            WindowLayout::for_schedule(300, &offline),
            WindowLayout::new(300, 128)
        );
    }

    #[test]
    fn no_window_after_a_frames_last_reader_holds_it() {
        for mode in LayoutMode::ALL {
            let layout = WindowLayout::for_schedule(500, &mode.schedule(128));
            for t in 0..layout.frames {
                let last = layout.last_reader(t);
                let holds = |k: usize| (0..128).any(|j| layout.frame_at(k, j) == Some(t));
                assert!(holds(last), "{} frame {t}", mode.name());
                assert!((last + 1..layout.count).all(|k| !holds(k)), "frame {t}");
                // Its sources are built by then.
                let s = layout.sources(t);
                assert!(s.a.0 as usize <= last && s.b.is_none_or(|b| b.0 as usize <= last));
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

    /// The value an imagined model returns for frame `frame` in window `w`: different in every
    /// window, so a frame taken from the wrong window or row shows.
    fn value_at(w: u64, frame: i64, bin: usize) -> f32 {
        ((w as i64 * 131 + frame * 17 + bin as i64 * 7).rem_euclid(1000)) as f32 / 999.0
    }

    /// Frame `t` by the definition (the `stream_windows` module docs): region `a = t / hop`, and
    /// in the last `fade` frames of the region `a + sin²(π (o + ½) / (2 fade)) (b - a)` with
    /// `b` = window `a + 1`.
    fn by_definition(hop: usize, fade: usize, t: usize, bin: usize) -> f32 {
        let (a, o) = ((t / hop) as u64, t % hop);
        let va = value_at(a, t as i64, bin);
        if o + fade < hop {
            return va;
        }
        let x = std::f64::consts::PI * ((o + fade - hop) as f64 + 0.5) / (2.0 * fade as f64);
        let f = (x.sin() * x.sin()) as f32;
        va + f * (value_at(a + 1, t as i64, bin) - va)
    }

    #[test]
    fn the_stream_and_the_offline_layout_agree_bit_for_bit_in_every_mode() {
        let (window, bins, frames) = (128, 3, 700);
        for mode in LayoutMode::ALL {
            let schedule = mode.schedule(window);
            let layout = WindowLayout::for_schedule(frames, &schedule);
            // Offline: window k holds frames (k + 1) hop - window .. (k + 1) hop - 1.
            let mut windows = vec![0.0; layout.count * window * bins];
            for k in 0..layout.count {
                let first = ((k + 1) * schedule.hop) as i64 - window as i64;
                for j in 0..window {
                    for bin in 0..bins {
                        windows[(k * window + j) * bins + bin] =
                            value_at(k as u64, first + j as i64, bin);
                    }
                }
            }
            let offline = layout.overlap_add(&windows, bins);
            for t in 0..frames {
                // The stream: window w is cut when frame window_end(w) arrives, its row j being
                // frame window_end(w) + 1 - window + j (as the plugin dispatches it).
                let s = schedule.sources(t as u64);
                let frame_of = |w: u64, row: usize| {
                    schedule.window_end(w) as i64 + 1 - window as i64 + row as i64
                };
                for bin in 0..bins {
                    let va = value_at(s.a.0, frame_of(s.a.0, s.a.1), bin);
                    let streamed = match s.b {
                        Some((b, row_b, f)) => va + f * (value_at(b, frame_of(b, row_b), bin) - va),
                        None => va,
                    };
                    let expected = by_definition(schedule.hop, schedule.fade, t, bin);
                    let name = mode.name();
                    assert_eq!(streamed, expected, "{name}: stream, frame {t} bin {bin}");
                    assert_eq!(
                        offline[t * bins + bin],
                        expected,
                        "{name}: offline, frame {t}"
                    );
                }
            }
        }
    }
}
