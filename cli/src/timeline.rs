//! Where a rendered file sits in a song, for configs whose entries move (`modulate:`, `reroll:`;
//! docs/config.md, "Modulation and re-roll"): the tempo, the meter and the song position of the
//! file's first sample. Each model window is bent as the spec stands at its song position: the
//! time of the window's last frame, the moment the plugin's stream completes it.

use anyhow::{Result, bail};
use clap::Args;
use dsp::{MODEL_SAMPLE_RATE, StftConfig, WindowLayout};
use engine::{BendSpec, SongPosition};

/// `--bpm`, `--meter`, `--start`: shared by the commands that render a config over time.
#[derive(Args, Debug, Clone)]
pub struct TimelineArgs {
    /// Tempo in quarter notes per minute, for synced modulator rates and re-rolls
    #[arg(long, default_value_t = 120.0, value_name = "BPM")]
    pub bpm: f64,
    /// Meter N/D (the bar length for rates in bars: 4/4 is 4 beats, 6/8 is 3)
    #[arg(long, default_value = "4/4", value_name = "N/D")]
    pub meter: String,
    /// Song position of the file's first sample, in seconds (a render of a bounce's second half
    /// starts where the first ended)
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub start: f64,
}

/// A checked timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeline {
    pub bpm: f64,
    pub beats_per_bar: f64,
    pub start: f64,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            bpm: 120.0,
            beats_per_bar: 4.0,
            start: 0.0,
        }
    }
}

impl TimelineArgs {
    pub fn timeline(&self) -> Result<Timeline> {
        if !(self.bpm.is_finite() && (10.0..=999.0).contains(&self.bpm)) {
            bail!("--bpm must be in [10, 999], got {}", self.bpm);
        }
        let beats_per_bar = parse_meter(&self.meter).ok_or_else(|| {
            anyhow::anyhow!(
                "--meter {:?}: expected N/D with N from 1 to 32 and D one of 1, 2, 4, 8, 16 \
                 (e.g. 4/4, 6/8)",
                self.meter
            )
        })?;
        if !self.start.is_finite() {
            bail!("--start must be a number of seconds, got {}", self.start);
        }
        Ok(Timeline {
            bpm: self.bpm,
            beats_per_bar,
            start: self.start,
        })
    }
}

/// "6/8" -> 3 quarter notes per bar.
fn parse_meter(text: &str) -> Option<f64> {
    let (n, d) = text.trim().split_once('/')?;
    let n: u32 = n.trim().parse().ok()?;
    let d: u32 = d.trim().parse().ok()?;
    ((1..=32).contains(&n) && [1, 2, 4, 8, 16].contains(&d))
        .then(|| f64::from(n) * 4.0 / f64::from(d))
}

impl Timeline {
    /// The song position of window `k` of `layout`: the time of its last frame (STFT frames
    /// every hop samples at the model rate from the file's first sample).
    pub fn window_position(&self, layout: &WindowLayout, k: usize) -> SongPosition {
        // Row `window - 1` of window k is real frame (k + 1) hop - 1 (dsp::WindowLayout).
        let last_frame = ((k + 1) * layout.hop - 1) as f64;
        let hop_seconds = StftConfig::default().hop as f64 / f64::from(MODEL_SAMPLE_RATE);
        SongPosition::at_tempo(
            self.start + last_frame * hop_seconds,
            self.bpm,
            self.beats_per_bar,
        )
    }
}

/// A spec whose entries move, and the spec it stood at for the last window.
pub struct MovingSpec {
    pub spec: BendSpec,
    pub timeline: Timeline,
    current: Option<BendSpec>,
}

impl MovingSpec {
    pub fn new(spec: BendSpec, timeline: Timeline) -> MovingSpec {
        MovingSpec {
            spec,
            timeline,
            current: None,
        }
    }

    /// The spec at window `k` if it differs from the last window's (to be compiled), else `None`.
    pub fn changed_at(&mut self, layout: &WindowLayout, k: usize) -> Option<&BendSpec> {
        let at = self.spec.at(self.timeline.window_position(layout, k));
        if self.current.as_ref() == Some(&at) {
            return None;
        }
        self.current = Some(at);
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_and_window_positions() {
        assert_eq!(parse_meter("4/4"), Some(4.0));
        assert_eq!(parse_meter("6/8"), Some(3.0));
        assert_eq!(parse_meter("7/16"), Some(1.75));
        assert_eq!(parse_meter("4/3"), None);
        assert_eq!(parse_meter("0/4"), None);
        let timeline = Timeline {
            bpm: 120.0,
            beats_per_bar: 4.0,
            start: 1.0,
        };
        // Offline layout: 128-frame windows every 64 frames; window k ends at real frame
        // (k + 1) 64 - 1 (its first half is padding for k = 0).
        let layout = WindowLayout::new(1000, 128);
        let p = timeline.window_position(&layout, 0);
        let expected = 1.0 + 63.0 * 256.0 / 44_100.0;
        assert!((p.seconds - expected).abs() < 1e-12);
        assert!((p.beats - expected * 2.0).abs() < 1e-12);
        for k in 1..6 {
            assert_eq!(layout.frame_at(k, 127), Some((k + 1) * 64 - 1));
        }
        let p = timeline.window_position(&layout, 3);
        assert!((p.seconds - (1.0 + 255.0 * 256.0 / 44_100.0)).abs() < 1e-12);
    }
}
