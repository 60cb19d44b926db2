//! Model windows on a live stream: the causal counterpart of [`crate::WindowLayout`].
//!
//! Offline, every frame lies in two windows and is cross-faded between them; a window starts
//! every `window / 2` frames. On a stream the model can only see frames that have arrived, so a
//! window is cut when its last frame arrives, every `hop` frames (`hop` may be smaller than
//! `window / 2` to cut latency): window `w` covers frames `end(w) - window + 1 ..= end(w)` with
//! `end(w) = (w + 1) hop - 1`.
//!
//! Frame `t` belongs to the *region* of window `a = t / hop` (its newest `hop` frames). The last
//! `fade` frames of a region are cross-faded into window `a + 1`, which also contains them
//! (`hop + fade <= window`), with the sin² weights of [`crate::sin2_fade_in`]. With
//! `hop = fade = window / 2` this is exactly the offline layout (tested below).
//!
//! Timing, in frames (one frame per STFT hop): window `w` is handed to the model when frame
//! `end(w)` arrives and must be back `budget` frames later ([`StreamSchedule::due_frame`]). The
//! last frame that needs window `a + 1` is the first frame of region `a`'s fade, so frame `t` can
//! be output `delay_frames() = hop + fade - 1 + budget` frames after it arrived (`hop - 1 +
//! budget` without a fade).

use crate::windowing::sin2_fade_in;

/// The schedule of model windows over a stream of frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSchedule {
    /// Frames per model window (128).
    pub window: usize,
    /// Frames between successive windows.
    pub hop: usize,
    /// Frames at the end of each region cross-faded into the next window (`<= hop`).
    pub fade: usize,
    /// Frames the model has to return a window in.
    pub budget: usize,
}

/// Where an output frame's value comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameSources {
    /// The window whose region holds the frame, and the frame's row in it.
    pub a: (u64, usize),
    /// In a fade: the next window, the frame's row in it, and its weight `f`
    /// (the value is `a + f (b - a)`).
    pub b: Option<(u64, usize, f32)>,
}

impl StreamSchedule {
    /// A schedule; panics unless `1 <= hop`, `fade <= hop` and `hop + fade <= window`.
    pub fn new(window: usize, hop: usize, fade: usize, budget: usize) -> StreamSchedule {
        assert!(hop >= 1, "the window hop must be at least one frame");
        assert!(
            fade <= hop,
            "the fade ({fade}) cannot be longer than the hop ({hop})"
        );
        assert!(
            hop + fade <= window,
            "hop {hop} + fade {fade} frames do not fit in a {window}-frame window"
        );
        StreamSchedule {
            window,
            hop,
            fade,
            budget,
        }
    }

    /// Frames between a frame arriving and its bent version being ready.
    pub fn delay_frames(&self) -> usize {
        self.hop + self.fade - 1 + self.budget
    }

    /// Last frame of window `w`.
    pub fn window_end(&self, w: u64) -> u64 {
        (w + 1) * self.hop as u64 - 1
    }

    /// The window that is complete once frame `frame` has arrived, if one is.
    pub fn window_ending_at(&self, frame: u64) -> Option<u64> {
        let next = frame + 1;
        next.is_multiple_of(self.hop as u64)
            .then(|| next / self.hop as u64 - 1)
    }

    /// The frame by whose arrival window `w` must be back from the model.
    pub fn due_frame(&self, w: u64) -> u64 {
        self.window_end(w) + self.budget as u64
    }

    /// Row of frame `t` inside window `w` (`t` must lie in it).
    pub fn row(&self, w: u64, t: u64) -> usize {
        // Early windows start before frame 0 (the stream is padded with silence there), so
        // compute without forming the possibly negative first frame.
        let end = self.window_end(w);
        debug_assert!(t <= end && t + self.window as u64 > end);
        (t + self.window as u64 - 1 - end) as usize
    }

    /// The windows (and weights) that frame `t`'s output is made of.
    pub fn sources(&self, t: u64) -> FrameSources {
        let hop = self.hop as u64;
        let a = t / hop;
        let offset = (t % hop) as usize;
        let fade_start = self.hop - self.fade;
        let b = (offset >= fade_start).then(|| {
            let f = sin2_fade_in(offset - fade_start, self.fade);
            (a + 1, self.row(a + 1, t), f)
        });
        FrameSources {
            a: (a, self.row(a, t)),
            b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WindowLayout;

    /// A fake model output: a different value for every (window, row, bin).
    fn value(w: u64, row: usize, bin: usize) -> f32 {
        ((w as usize * 131 + row * 17 + bin * 7) % 1000) as f32 / 999.0
    }

    #[test]
    fn half_window_hop_and_fade_equal_the_offline_layout_bit_for_bit() {
        let (window, bins, frames) = (128, 3, 700);
        let layout = WindowLayout::new(frames, window);
        let mut windows = vec![0.0; layout.count * window * bins];
        for k in 0..layout.count {
            for j in 0..window {
                for f in 0..bins {
                    windows[(k * window + j) * bins + f] = value(k as u64, j, f);
                }
            }
        }
        let offline = layout.overlap_add(&windows, bins);
        let schedule = StreamSchedule::new(window, 64, 64, 0);
        for t in 0..frames {
            let s = schedule.sources(t as u64);
            let (b, row_b, f) = s.b.expect("every frame is faded at hop = fade");
            for bin in 0..bins {
                let va = value(s.a.0, s.a.1, bin);
                let vb = value(b, row_b, bin);
                let streamed = va + f * (vb - va);
                assert_eq!(streamed, offline[t * bins + bin], "frame {t} bin {bin}");
            }
        }
    }

    #[test]
    fn every_source_is_back_by_the_output_time_and_the_delay_is_tight() {
        for (hop, fade, budget) in [(32, 16, 12), (12, 6, 6), (16, 0, 3), (64, 64, 0)] {
            let s = StreamSchedule::new(128, hop, fade, budget);
            let d = s.delay_frames() as u64;
            let mut tight = false;
            for t in 0..2000u64 {
                let src = s.sources(t);
                let mut needed = vec![src.a.0];
                needed.extend(src.b.map(|b| b.0));
                for w in needed {
                    // The window contains t and is due no later than t's output time.
                    let end = s.window_end(w);
                    assert!(end >= t && end < t + 128, "hop {hop}: frame {t} window {w}");
                    assert!(s.due_frame(w) <= t + d, "hop {hop}: frame {t} window {w}");
                    tight |= s.due_frame(w) == t + d;
                }
            }
            assert!(tight, "hop {hop} fade {fade}: the delay could be shorter");
        }
    }

    #[test]
    fn windows_end_every_hop_frames() {
        let s = StreamSchedule::new(128, 12, 6, 6);
        let ends: Vec<u64> = (0..40).filter_map(|f| s.window_ending_at(f)).collect();
        assert_eq!(ends, [0, 1, 2]);
        assert_eq!(s.window_end(0), 11);
        assert_eq!(s.row(2, 35), 127);
        assert_eq!(s.sources(5).b, None);
    }
}
