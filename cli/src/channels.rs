//! How a file's channels go through the model: linked (one model run on the mid, as the plugin
//! does; `dsp::stereo_link`) or each on its own (`--stereo independent`), at the model rate.

use std::borrow::Cow;
use std::ops::Range;

use anyhow::{Context, Result};
use clap::ValueEnum;
use dsp::stereo_link::{link_gain, linked_magnitude};
use dsp::{MODEL_SAMPLE_RATE, Stft, StftConfig, resample};
use indicatif::ProgressBar;

use crate::frame_store::Magnitudes;
use crate::griffin_lim::griffin_lim;

/// How the channels of a stereo file go through the model (`--stereo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StereoMode {
    /// One model run on the mid signal, its gain on each channel (the plugin's way)
    Linked,
    /// Each channel through the model on its own
    Independent,
}

/// `channel` at the model rate (borrowed when the file is at it already).
pub fn to_model_rate(channel: &[f32], rate: u32) -> Result<Cow<'_, [f32]>> {
    if rate == MODEL_SAMPLE_RATE {
        return Ok(Cow::Borrowed(channel));
    }
    let resampled = resample(channel, rate, MODEL_SAMPLE_RATE).with_context(|| {
        format!("cannot resample {rate} Hz to the model rate {MODEL_SAMPLE_RATE} Hz")
    })?;
    Ok(Cow::Owned(resampled))
}

/// The channels that go through the model together: all of them when linked, else one by one.
pub fn channel_groups(stereo: StereoMode, channels: usize) -> Vec<Range<usize>> {
    match stereo {
        StereoMode::Linked => std::iter::once(0..channels).collect(),
        StereoMode::Independent => (0..channels).map(|c| c..c + 1).collect(),
    }
}

/// The resynthesised channels, and the bent mid magnitude when it was asked for.
pub type BentChannels = (Vec<Vec<f32>>, Option<Vec<f32>>);

/// Griffin-Lim with linked channels: the whole mid magnitude (`bins` per frame) is bent by
/// `bend`, each channel's magnitude takes the per-bin gain bent mid over mid (`dsp::stereo_link`,
/// with the normalisation's `floor`), and each channel's phase is recovered from its own
/// magnitude. Returns the channels and, if `record`, the bent mid. The bend is the renderer's
/// `bend_frames`, passed in so that this module stays below the pipeline that calls it.
pub fn linked_griffin_lim(
    signals: &[&[f32]],
    bins: usize,
    floor: f32,
    bend: impl FnOnce(&mut Magnitudes) -> Result<()>,
    iterations: usize,
    record: bool,
    bar: &ProgressBar,
) -> Result<BentChannels> {
    let mut stft = Stft::new(StftConfig::default());
    let spectra: Vec<_> = signals.iter().map(|s| stft.analyse(s)).collect();
    let frames = spectra[0].frames();
    let mut store = Magnitudes {
        data: vec![0.0; frames * bins],
        bins,
    };
    for (t, mid) in store.data.chunks_exact_mut(bins).enumerate() {
        linked_magnitude(spectra[0].frame(t), spectra.get(1).map(|s| s.frame(t)), mid);
    }
    let mid = store.data.clone();
    bend(&mut store)?;
    let channels = spectra
        .iter()
        .zip(signals)
        .map(|(spectrum, signal)| {
            let magnitude: Vec<f32> = spectrum
                .data()
                .iter()
                .zip(store.data.iter().zip(&mid))
                .map(|(x, (&bent, &m))| x.norm() * link_gain(bent, m, floor))
                .collect();
            griffin_lim(&mut stft, &magnitude, signal.len(), iterations, 0, bar)
        })
        .collect();
    Ok((channels, record.then_some(store.data)))
}
