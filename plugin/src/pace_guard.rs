//! Notices a host that renders faster than real time without saying so.
//!
//! A bounce, export or freewheel renders as fast as the machine allows. If the host does not tell
//! the plugin (CLAP's render extension, VST3's process mode), the model path believes it plays
//! live and replaces every window the worker has not finished in time by dry audio: Ardour 7.3
//! exports at ~20x real time with only a per-block VST3 `kOffline` that nice-plug 0.4.2 does not
//! read, and its exports came out nearly dry. This guard compares the host audio handed to
//! `process()` with the wall clock: live, the host delivers one block per block of wall time
//! (give or take a device's pre-fill and scheduling jitter); a bounce delivers much more. While
//! the host is ahead, the plugin waits for the worker as it does in declared offline rendering.
//!
//! The measure: over the last few hundred milliseconds (segments of [`SEGMENT_SECONDS`] of host
//! audio or wall time, the last [`SEGMENTS`] of them), host audio minus the host's own wall time.
//! The host's own wall time is the time between the starts of successive `process()` calls minus
//! the time the plugin itself spent waiting for the worker, so that a bounce which waiting has
//! slowed below real time (a model slower than real time) still counts as a bounce. The host is
//! ahead when that excess passes [`SLACK_SECONDS`] or two blocks, whichever is more: live, the
//! excess stays at the device's pre-fill (one or two blocks) plus jitter.
//!
//! Cost on the audio thread: one `Instant::now()` (a vDSO clock read, no system call on Linux)
//! and a few additions per block; no allocation, no lock, no loop over more than [`SEGMENTS`].

use std::time::{Duration, Instant};

/// Length of one measuring segment, in seconds of host audio or of wall time (the first reached).
pub const SEGMENT_SECONDS: f64 = 0.1;
/// Segments measured: 0.3 to 0.4 s of host audio or wall time.
pub const SEGMENTS: usize = 4;
/// Excess of host audio over wall time that counts as faster than real time (at least two blocks).
pub const SLACK_SECONDS: f64 = 0.06;

#[derive(Clone, Copy, Debug, Default)]
struct Segment {
    audio: f64,
    wall: f64,
}

/// The guard's state (audio thread only).
#[derive(Debug)]
pub struct PaceGuard {
    sample_rate: f64,
    segments: [Segment; SEGMENTS],
    current: usize,
    last_call: Option<Instant>,
    ahead: bool,
    /// Host samples handed over since the guard was made (the plugin's activation).
    samples: u64,
    /// `samples` before the block at which the guard last engaged.
    last_engaged_at: Option<u64>,
}

impl PaceGuard {
    pub fn new(sample_rate: f32) -> Self {
        Self {
            sample_rate: f64::from(sample_rate.max(1.0)),
            segments: [Segment::default(); SEGMENTS],
            current: 0,
            last_call: None,
            ahead: false,
            samples: 0,
            last_engaged_at: None,
        }
    }

    /// Records a `process()` call that starts at `now` with `samples` host samples, where the
    /// previous call spent `waited` waiting for the worker. Returns whether the host is running
    /// ahead of real time.
    pub fn on_block(&mut self, now: Instant, samples: usize, waited: Duration) -> bool {
        let audio = samples as f64 / self.sample_rate;
        // The first call has no previous one to measure from: count it as on time.
        let wall = match self.last_call {
            Some(last) => now
                .saturating_duration_since(last)
                .saturating_sub(waited)
                .as_secs_f64(),
            None => audio,
        };
        self.last_call = Some(now);
        let segment = &mut self.segments[self.current];
        if segment.audio >= SEGMENT_SECONDS || segment.wall >= SEGMENT_SECONDS {
            self.current = (self.current + 1) % SEGMENTS;
            self.segments[self.current] = Segment::default();
        }
        let segment = &mut self.segments[self.current];
        segment.audio += audio;
        segment.wall += wall;
        let excess: f64 = self.segments.iter().map(|s| s.audio - s.wall).sum();
        let slack = SLACK_SECONDS.max(2.0 * audio);
        let was_ahead = self.ahead;
        self.ahead = excess > slack;
        if self.ahead && !was_ahead {
            self.last_engaged_at = Some(self.samples);
        }
        self.samples += samples as u64;
        self.ahead
    }

    /// Whether the last block found the host ahead of real time.
    pub fn ahead(&self) -> bool {
        self.ahead
    }

    /// The host samples handed over before the block at which the guard last engaged, counted
    /// from the guard's start (the plugin's activation); `None` if it never engaged. For a bounce
    /// from a fresh activation, how much of it went by before the plugin started waiting.
    pub fn last_engaged_at(&self) -> Option<u64> {
        self.last_engaged_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f32 = 44_100.0;

    /// Feeds `blocks` blocks of `block` samples, each `period` after the previous one, with
    /// `waited` spent waiting in each; returns how many blocks found the host ahead.
    fn run(
        guard: &mut PaceGuard,
        t: &mut Instant,
        blocks: usize,
        block: usize,
        period: Duration,
        waited: Duration,
    ) -> usize {
        let mut ahead = 0;
        for _ in 0..blocks {
            ahead += guard.on_block(*t, block, waited) as usize;
            *t += period + waited;
        }
        ahead
    }

    fn block_time(block: usize) -> Duration {
        Duration::from_secs_f64(block as f64 / f64::from(RATE))
    }

    #[test]
    fn live_playback_with_prefill_and_jitter_is_never_ahead() {
        let mut guard = PaceGuard::new(RATE);
        let mut t = Instant::now();
        // A device pre-fill: two blocks at once, then one block per period with +-3 ms jitter.
        assert_eq!(
            run(&mut guard, &mut t, 2, 512, Duration::ZERO, Duration::ZERO),
            0
        );
        let period = block_time(512);
        t += period;
        for i in 0..2000 {
            let jitter = Duration::from_millis(3);
            let at = if i % 2 == 0 { t + jitter } else { t };
            assert!(!guard.on_block(at, 512, Duration::ZERO), "block {i}");
            t += period;
        }
    }

    #[test]
    fn a_bounce_at_twenty_times_real_time_engages_within_four_blocks_and_ends_with_it() {
        let mut guard = PaceGuard::new(RATE);
        let mut t = Instant::now();
        let live = block_time(1024);
        assert_eq!(run(&mut guard, &mut t, 100, 1024, live, Duration::ZERO), 0);
        let fast = live / 20;
        let ahead = run(&mut guard, &mut t, 4, 1024, fast, Duration::ZERO);
        assert!(ahead >= 1, "not engaged after 4 blocks");
        // A block's wall time is the interval since the previous call, so the first fast block
        // still measures a live interval: 0.022 s ahead per fast block after it passes the 0.06 s
        // slack at the fourth (100 live blocks, then three fast ones before it).
        assert_eq!(guard.last_engaged_at(), Some(103 * 1024));
        // A model slower than real time: waiting slows the bounce below real time, but the host's
        // own pace is still 20x, so it stays engaged.
        let slow_wait = live * 3;
        assert_eq!(run(&mut guard, &mut t, 200, 1024, fast, slow_wait), 200);
        // Back to live playback: level again once the bounce's segments have left the measured
        // span (4 segments of about 5 blocks).
        let settled = run(&mut guard, &mut t, 25, 1024, live, Duration::ZERO);
        assert!(settled < 25);
        assert_eq!(run(&mut guard, &mut t, 500, 1024, live, Duration::ZERO), 0);
    }

    #[test]
    fn a_bounce_at_one_and_a_half_times_real_time_engages() {
        let mut guard = PaceGuard::new(RATE);
        let mut t = Instant::now();
        let period = block_time(512).mul_f64(1.0 / 1.5);
        let ahead = run(&mut guard, &mut t, 100, 512, period, Duration::ZERO);
        assert!(ahead > 50, "{ahead} of 100");
    }

    #[test]
    fn large_blocks_need_more_than_two_blocks_ahead() {
        let mut guard = PaceGuard::new(RATE);
        let mut t = Instant::now();
        // Two 8192-sample blocks at once (372 ms ahead of the wall clock), then on time.
        assert_eq!(
            run(&mut guard, &mut t, 2, 8192, Duration::ZERO, Duration::ZERO),
            0
        );
        let period = block_time(8192);
        t += period;
        assert_eq!(run(&mut guard, &mut t, 50, 8192, period, Duration::ZERO), 0);
    }
}
