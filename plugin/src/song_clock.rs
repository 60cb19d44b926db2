//! Where a block of input sits on the song, for the slots' modulators and re-rolls
//! (`engine::motion`). The audio thread takes one [`BlockClock`] per block from the host's
//! transport; the model path gives each window the song position of its last frame
//! ([`BlockClock::after`]), the position `netbend render --bpm` gives the same window.
//!
//! While the transport rolls (the host says so, or its position moved on by the last block, as
//! in a VST3 export that does not set "playing"), the clock follows it, so a loop or a relocate
//! moves the modulators with the song. A host with no transport, or one that is stopped while
//! audio still flows (monitoring), gets a free-running clock that continues from the last
//! position at the last tempo (120 BPM in 4/4 before any).

use engine::SongPosition;

/// How far (in beats) a host's beat position may be from its sample position at the current
/// tempo and still be taken as a rounded form of it: two ticks of Ardour's 1920 per beat.
pub const HOST_BEAT_ROUNDING: f64 = 2.0 / 1920.0;

/// Tempo and meter a free-running clock starts with.
pub const FREE_BPM: f64 = 120.0;
pub const FREE_BEATS_PER_BAR: f64 = 4.0;

/// The song position of a block's first input sample, and how fast the song moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockClock {
    pub seconds: f64,
    /// Quarter-note beats.
    pub beats: f64,
    pub beats_per_second: f64,
    pub beats_per_bar: f64,
}

impl Default for BlockClock {
    fn default() -> Self {
        BlockClock {
            seconds: 0.0,
            beats: 0.0,
            beats_per_second: FREE_BPM / 60.0,
            beats_per_bar: FREE_BEATS_PER_BAR,
        }
    }
}

impl BlockClock {
    /// The position `seconds` after (or before, if negative) the block's first sample, at the
    /// block's tempo.
    pub fn after(&self, seconds: f64) -> SongPosition {
        SongPosition {
            seconds: self.seconds + seconds,
            beats: self.beats + seconds * self.beats_per_second,
            beats_per_bar: self.beats_per_bar,
        }
    }
}

/// What the host's transport says about one block (nice-plug's `Transport`, reduced).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct TransportView {
    pub playing: bool,
    /// Position of the block's first output sample on the timeline.
    pub pos_samples: Option<i64>,
    pub pos_seconds: Option<f64>,
    pub pos_beats: Option<f64>,
    pub tempo: Option<f64>,
    pub time_sig: Option<(i32, i32)>,
}

impl TransportView {
    pub fn of(t: &nice_plug::prelude::Transport) -> TransportView {
        TransportView {
            playing: t.playing,
            pos_samples: t.pos_samples(),
            pos_seconds: t.pos_seconds(),
            pos_beats: t.pos_beats(),
            tempo: t.tempo,
            time_sig: t.time_sig_numerator.zip(t.time_sig_denominator),
        }
    }
}

/// Follows the transport block by block (audio thread; no allocation).
#[derive(Clone, Copy, Debug, Default)]
pub struct SongClock {
    last: BlockClock,
    last_len: usize,
    last_pos: Option<i64>,
    started: bool,
}

impl SongClock {
    /// The clock of a block of `len` samples at `sample_rate` whose input is `latency` samples
    /// ahead of the output position the transport gives (a host that compensates the plugin's
    /// latency feeds it the input that early).
    pub fn block(
        &mut self,
        transport: &TransportView,
        len: usize,
        sample_rate: f64,
        latency: u32,
    ) -> BlockClock {
        let moved_on = matches!(
            (transport.pos_samples, self.last_pos),
            (Some(pos), Some(last)) if pos == last + self.last_len as i64
        );
        let rolling = transport.playing || moved_on;
        let ahead = f64::from(latency) / sample_rate;
        let clock = match (rolling, transport.pos_seconds) {
            (true, Some(seconds)) => {
                let bpm = transport.tempo.filter(|t| *t > 0.0).unwrap_or(FREE_BPM);
                let beats_per_bar = transport
                    .time_sig
                    .filter(|(n, d)| *n > 0 && *d > 0)
                    .map_or(FREE_BEATS_PER_BAR, |(n, d)| {
                        4.0 * f64::from(n) / f64::from(d)
                    });
                let beats_per_second = bpm / 60.0;
                // Hosts count beats in ticks (Ardour: 1/1920 beat, up to 11 samples at 120 BPM);
                // where the host's beats are its sample position at this tempo, up to that
                // rounding, the sample position gives them exactly, as `netbend render --bpm`
                // does. Beats that differ more come from a tempo map that changed earlier in the
                // song: the host's beats then.
                let from_seconds = seconds * beats_per_second;
                let beats = match transport.pos_beats {
                    Some(b) if (b - from_seconds).abs() > HOST_BEAT_ROUNDING => b,
                    _ => from_seconds,
                };
                BlockClock {
                    seconds: seconds + ahead,
                    beats: beats + ahead * beats_per_second,
                    beats_per_second,
                    beats_per_bar,
                }
            }
            // Stopped or no transport: run on from the last block.
            _ if self.started => {
                let dt = self.last_len as f64 / sample_rate;
                BlockClock {
                    seconds: self.last.seconds + dt,
                    beats: self.last.beats + dt * self.last.beats_per_second,
                    ..self.last
                }
            }
            _ => BlockClock::default(),
        };
        self.last = clock;
        self.last_len = len;
        self.last_pos = transport.pos_samples;
        self.started = true;
        clock
    }

    /// The clock of the last block (for the editor's modulator view).
    pub fn last(&self) -> BlockClock {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(seconds: f64, bpm: f64) -> TransportView {
        TransportView {
            playing: true,
            pos_samples: Some((seconds * 44_100.0).round() as i64),
            pos_seconds: Some(seconds),
            pos_beats: Some(seconds * bpm / 60.0),
            tempo: Some(bpm),
            time_sig: Some((6, 8)),
        }
    }

    #[test]
    fn follows_a_rolling_transport_through_jumps_and_runs_free_when_stopped() {
        let mut clock = SongClock::default();
        // The input is the latency ahead of the output position.
        let c = clock.block(&rolling(2.0, 90.0), 512, 44_100.0, 441);
        assert!((c.seconds - 2.01).abs() < 1e-12);
        assert!((c.beats - 2.01 * 1.5).abs() < 1e-12);
        assert_eq!(c.beats_per_bar, 3.0);
        // A loop back to the start: the clock jumps with it.
        let c = clock.block(&rolling(0.0, 90.0), 512, 44_100.0, 0);
        assert_eq!(c.seconds, 0.0);
        // Stopped: it runs on from the last block at the last tempo.
        let stopped = TransportView {
            playing: false,
            ..rolling(7.0, 90.0)
        };
        let c = clock.block(&stopped, 256, 44_100.0, 0);
        assert!((c.seconds - 512.0 / 44_100.0).abs() < 1e-12);
        assert!((c.beats - 1.5 * 512.0 / 44_100.0).abs() < 1e-12);
        // A position that moves on by the last block counts as rolling without the flag.
        let moved = TransportView {
            playing: false,
            ..rolling(7.0 + 256.0 / 44_100.0, 90.0)
        };
        let c = clock.block(&moved, 256, 44_100.0, 0);
        assert!((c.seconds - (7.0 + 256.0 / 44_100.0)).abs() < 1e-9);
        // No transport at all: free-running from the start at 120 BPM in 4/4.
        let mut free = SongClock::default();
        assert_eq!(
            free.block(&TransportView::default(), 100, 48_000.0, 0),
            BlockClock::default()
        );
        let c = free.block(&TransportView::default(), 100, 48_000.0, 0);
        assert!((c.beats - 2.0 * 100.0 / 48_000.0).abs() < 1e-12);
    }

    #[test]
    fn beats_rounded_to_host_ticks_come_from_the_sample_position_a_tempo_map_from_the_host() {
        let mut clock = SongClock::default();
        // 1.2345678 s at 120 BPM is 2.4691356 beats; the host says 2.46927 (a tick off).
        let ticked = TransportView {
            pos_beats: Some((2.469_135_6 * 1920.0f64).round() / 1920.0),
            ..rolling(1.234_567_8, 120.0)
        };
        let c = clock.block(&ticked, 512, 44_100.0, 0);
        assert!((c.beats - 2.469_135_6).abs() < 1e-12, "{}", c.beats);
        // Beats far from seconds x tempo: an earlier tempo change; the host knows the map.
        let mapped = TransportView {
            pos_beats: Some(7.25),
            ..rolling(3.0, 120.0)
        };
        assert_eq!(clock.block(&mapped, 512, 44_100.0, 0).beats, 7.25);
    }

    #[test]
    fn positions_after_the_block_start_move_at_its_tempo() {
        let c = BlockClock {
            seconds: 1.0,
            beats: 2.0,
            beats_per_second: 2.0,
            beats_per_bar: 4.0,
        };
        let p = c.after(0.25);
        assert_eq!((p.seconds, p.beats, p.beats_per_bar), (1.25, 2.5, 4.0));
    }
}
