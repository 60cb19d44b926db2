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
//! `hop = fade = window / 2` this is exactly the offline layout (tested in `windowing.rs`, which
//! builds on this module).
//!
//! Timing, in frames (one frame per STFT hop): window `w` is handed to the model when frame
//! `end(w)` arrives and must be back `budget` frames later ([`StreamSchedule::due_frame`]). The
//! last frame that needs window `a + 1` is the first frame of region `a`'s fade, so frame `t` can
//! be output `delay_frames() = hop + fade - 1 + budget` frames after it arrived (`hop - 1 +
//! budget` without a fade).

use crate::cross_fade::sin2_fade_in;

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
