//! The model path's schedule per quality mode and its latency at a host rate: the framer's
//! `n_fft` plus the schedule's delay in hops, plus the resamplers' delay at rates other than
//! 44.1 kHz, padded to a whole number of host samples; and where the window grid is anchored on
//! the host's timeline. Used by [`crate::model_path`] and by the plugin when it reports latency.

use crate::params::QualityMode;
use dsp::{MODEL_SAMPLE_RATE, ResampleError, StftConfig, StreamSchedule, StreamingResampler};
/// Tests only: with `NETBEND_SCHEDULE=hop,fade,budget` (frames) both modes use that schedule
/// instead, e.g. `64,64,8`: at hop = fade = window / 2 the stream's cross-fade is the offline
/// renderer's `dsp::WindowLayout` bit for bit, so the plugin can be compared with `netbend render`.
pub const SCHEDULE_ENV: &str = "NETBEND_SCHEDULE";

/// The schedule `NETBEND_SCHEDULE` asks for, if it is set and one that fits `window`.
fn schedule_override(window: usize) -> Option<StreamSchedule> {
    let text = std::env::var(SCHEDULE_ENV).ok()?;
    let v: Vec<usize> = text
        .split(',')
        .map(|x| x.trim().parse().ok())
        .collect::<Option<_>>()?;
    match v[..] {
        [hop, fade, budget] if hop >= 1 && fade <= hop && hop + fade <= window => {
            Some(StreamSchedule::new(window, hop, fade, budget))
        }
        _ => None,
    }
}

/// The schedule of each quality mode: `dsp::LayoutMode`'s plugin layouts (`netbend render
/// --layout plugin-default|plugin-low-latency` renders a file with the same cross-fade).
/// Default: 319 ms at 44.1 kHz, at most 380 ms at any host rate (32 kHz resamples slowest);
/// Low latency: 134 ms at 44.1 kHz, at most 200 ms at any host rate. `NETBEND_SCHEDULE`
/// overrides both.
pub fn schedule_for(mode: QualityMode, window: usize) -> StreamSchedule {
    if let Some(schedule) = schedule_override(window) {
        return schedule;
    }
    mode.layout().schedule(window)
}

/// Latency of the model path at a host rate, in host samples, and the model-rate delay added so
/// that it is a whole number of host samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathLatency {
    pub host_samples: u32,
    pub align_samples: usize,
}

/// Resamplers of a host rate other than 44.1 kHz (down, up).
pub(crate) type Resamplers = (StreamingResampler, StreamingResampler);

pub(crate) fn resamplers(
    host_rate: u32,
    channels: usize,
    max_block: usize,
) -> Result<Option<Resamplers>, ResampleError> {
    if host_rate == MODEL_SAMPLE_RATE {
        return Ok(None);
    }
    let down = StreamingResampler::new(host_rate, MODEL_SAMPLE_RATE, channels, max_block)?;
    let mut up = StreamingResampler::new(
        MODEL_SAMPLE_RATE,
        host_rate,
        channels,
        down.max_output_per_push(),
    )?;
    // Priming lets every pop of exactly one host block succeed (dsp::StreamingResampler::prime).
    up.prime(down.chunk_frames() + up.output_chunk_frames())?;
    Ok(Some((down, up)))
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(crate) fn latency_of(
    resamplers: Option<&Resamplers>,
    host_rate: u32,
    model_delay: usize,
) -> PathLatency {
    let Some((down, up)) = resamplers else {
        return PathLatency {
            host_samples: model_delay as u32,
            align_samples: 0,
        };
    };
    // Host latency = priming + up.delay + (down.delay + model delay) * host / 44100. Pad the
    // model-rate part to a multiple of 44100 / gcd so that it is a whole number of host samples
    // (at most 146 samples, 3.3 ms, for the 48 kHz family; rates with a larger period round).
    let (r, m) = (host_rate as u64, MODEL_SAMPLE_RATE as u64);
    let period = m / gcd(r, m);
    let model_part = (down.delay() + model_delay) as u64;
    let align = if period <= 2048 {
        (period - model_part % period) % period
    } else {
        0
    };
    let priming = (down.chunk_frames() + up.output_chunk_frames()) as u64;
    let host =
        priming as f64 + up.delay() as f64 + (model_part + align) as f64 * r as f64 / m as f64;
    PathLatency {
        host_samples: host.round() as u32,
        align_samples: align as usize,
    }
}

/// Samples of silence to skip so that a window grid that starts at host timeline position
/// `origin` starts at a multiple of `period` instead (the previous one): then every activation
/// that began in silence cuts the same windows from the same song, wherever the host started it.
pub fn grid_anchor_skip(origin: i64, period: f64) -> usize {
    let skip = (origin as f64).rem_euclid(period).round();
    if skip >= period.round() {
        0
    } else {
        skip as usize
    }
}

/// The model-rate delay of a schedule: the framer's `n_fft` plus `D` hops.
pub fn model_delay(schedule: &StreamSchedule) -> usize {
    StftConfig::default().n_fft + schedule.delay_frames() * StftConfig::default().hop
}

/// The latency the plugin reports for a mode at a host rate (with or without a model).
pub fn latency_for(
    host_rate: u32,
    channels: usize,
    max_block: usize,
    schedule: &StreamSchedule,
) -> Result<PathLatency, ResampleError> {
    let r = resamplers(host_rate, channels, max_block)?;
    Ok(latency_of(r.as_ref(), host_rate, model_delay(schedule)))
}
