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

/// The named window layouts, one place for both sides: the offline renderer's own
/// (`netbend render --layout offline`) and the plugin's quality modes, which the plugin streams
/// and `netbend render --layout plugin-default|plugin-low-latency` renders offline
/// ([`crate::WindowLayout::for_schedule`]) with the same cross-fade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutMode {
    /// A window every `window / 2` frames, every frame cross-faded between two windows.
    Offline,
    /// The plugin's Default quality: a window every 32 frames (186 ms), a 12-frame (70 ms)
    /// cross-fade, 8 frames (46 ms) for the model.
    PluginDefault,
    /// The plugin's Low latency quality: a window every 12 frames (70 ms, 2.7x the model runs), a
    /// 3-frame (17 ms) cross-fade, 5 frames (29 ms) for the model.
    PluginLowLatency,
}

impl LayoutMode {
    pub const ALL: [LayoutMode; 3] = [
        LayoutMode::Offline,
        LayoutMode::PluginDefault,
        LayoutMode::PluginLowLatency,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LayoutMode::Offline => "offline",
            LayoutMode::PluginDefault => "plugin-default",
            LayoutMode::PluginLowLatency => "plugin-low-latency",
        }
    }

    /// The mode called `name` ([`LayoutMode::name`]).
    pub fn from_name(name: &str) -> Option<LayoutMode> {
        LayoutMode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The schedule of `window`-frame windows (frames of 256 samples at 44.1 kHz, 5.8 ms). The
    /// budget is the plugin's (the offline renderer has none).
    pub fn schedule(self, window: usize) -> StreamSchedule {
        let half = window / 2;
        let (hop, fade, budget) = match self {
            LayoutMode::Offline => return StreamSchedule::new(window, half, half, 0),
            LayoutMode::PluginDefault => (32, 12, 8),
            LayoutMode::PluginLowLatency => (12, 3, 5),
        };
        // Small test models may have shorter windows.
        let hop = hop.min(half).max(1);
        StreamSchedule::new(window, hop, fade.min(hop), budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WindowLayout;

    /// The value an imagined model returns for frame `frame` in window `w`: different in every
    /// window, so a frame taken from the wrong window or row shows.
    fn value_at(w: u64, frame: i64, bin: usize) -> f32 {
        ((w as i64 * 131 + frame * 17 + bin as i64 * 7).rem_euclid(1000)) as f32 / 999.0
    }

    /// Frame `t` by the definition (module docs): region `a = t / hop`, and in the last `fade`
    /// frames of the region `a + sin²(π (o + ½) / (2 fade)) (b - a)` with `b` = window `a + 1`.
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

    #[test]
    fn the_modes_have_the_documented_schedules() {
        let s = |m: LayoutMode| {
            let s = m.schedule(128);
            (s.hop, s.fade, s.budget)
        };
        assert_eq!(s(LayoutMode::Offline), (64, 64, 0));
        assert_eq!(s(LayoutMode::PluginDefault), (32, 12, 8));
        assert_eq!(s(LayoutMode::PluginLowLatency), (12, 3, 5));
        for m in LayoutMode::ALL {
            assert_eq!(LayoutMode::from_name(m.name()), Some(m));
        }
        assert_eq!(LayoutMode::from_name("plugin"), None);
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
