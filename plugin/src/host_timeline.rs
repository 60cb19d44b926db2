//! The host's timeline as the audio thread sees it, block by block: where the model path's
//! window grid starts on it (once, when the transport first rolls) and where each block sits on
//! the song ([`crate::song_clock`]).

use crate::bridge::EngineStatus;
use crate::model_path::{self, ModelPath};
use crate::song_clock::{BlockClock, SongClock, TransportView};
use std::sync::atomic::Ordering;

/// Per-activation timeline state (audio thread; no allocation).
#[derive(Debug)]
pub struct HostTimeline {
    /// Host samples processed since activation.
    processed: u64,
    /// Whether the grid origin ([`EngineStatus::grid_origin`]) is still to be taken from a
    /// rolling transport.
    origin_pending: bool,
    /// Whether every input sample since activation was silence (until the origin is known):
    /// then the grid can still be moved to the timeline's window boundaries unheard.
    silent_so_far: bool,
    /// The transport position and length of the last block, to see the transport move.
    last_pos: i64,
    last_len: usize,
    song: SongClock,
}

impl Default for HostTimeline {
    fn default() -> Self {
        Self {
            processed: 0,
            origin_pending: true,
            silent_so_far: true,
            last_pos: 0,
            last_len: 0,
            song: SongClock::default(),
        }
    }
}

impl HostTimeline {
    /// Takes one block's transport: anchors the window grid when the transport first rolls and
    /// returns the block's song clock (also published for the editor's modulator view).
    #[allow(clippy::too_many_arguments)]
    pub fn on_block(
        &mut self,
        transport: &TransportView,
        input: &[&mut [f32]],
        samples: usize,
        path: Option<(&mut ModelPath, &mut [Vec<f32>])>,
        latency: u32,
        sample_rate: f32,
        status: &EngineStatus,
    ) -> BlockClock {
        // Where the model path's window grid sits on the host's timeline decides which samples
        // share a window. Hosts start the plugin at different points before a bounce (Ardour's
        // export pre-roll) or a take, so when everything before the transport rolled was silence,
        // the grid moves to the timeline's window boundaries (multiples of the grid period):
        // every bounce and take of a song then cuts the same windows, those `netbend render` cuts
        // from a file that starts on a boundary (timeline 0). A host that compensates the
        // latency gives the position the output is heard at and the input from `latency` samples
        // later, so the boundaries are placed on the input's timeline. Rolling: the host says
        // so, or its position moved on by the last block (a VST3 host need not set kPlaying
        // while it renders). The origin (of the output's timeline) goes to the stats file.
        if self.origin_pending {
            if let Some(pos) = transport.pos_samples {
                let moved_on = self.processed > 0 && pos == self.last_pos + self.last_len as i64;
                if transport.playing || moved_on {
                    let mut origin = pos - self.processed as i64;
                    if let Some((path, scratch)) = path
                        && self.silent_so_far
                    {
                        let input_origin = origin + latency as i64;
                        let skip = model_path::grid_anchor_skip(input_origin, path.grid_period());
                        path.skip_silence(skip, scratch);
                        origin -= skip as i64;
                    }
                    status.grid_origin.store(origin, Ordering::Relaxed);
                    status.grid_origin_known.store(true, Ordering::Relaxed);
                    self.origin_pending = false;
                }
                self.last_pos = pos;
                self.last_len = samples;
            }
            self.silent_so_far =
                self.silent_so_far && input.iter().all(|c| c[..samples].iter().all(|&x| x == 0.0));
        }
        self.processed += samples as u64;
        let clock = self
            .song
            .block(transport, samples, f64::from(sample_rate), latency);
        status.publish_song_clock(&clock);
        clock
    }
}
