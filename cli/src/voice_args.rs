//! `--voice` (`render`, `variations`) and what the pipeline carries for it: each batch of windows
//! with its neutral decode when the bend is not neutral, and the neutral rows cross-faded with the
//! bent rows' weights. The gain itself is `dsp::voice`, shared with the plugin.

use std::collections::VecDeque;

use anyhow::{Result, bail};
use clap::Args;
use dsp::FrameSources;
use ndarray::{Array3, Axis};

/// `--voice`, shared by `render` and `variations`.
#[derive(Args, Debug, Clone, Copy)]
pub struct VoiceArgs {
    /// From the model's output (0, the default: the bent reconstruction under the input's phase)
    /// to the input's own detail (1: the input's spectrum times the bent over the neutral decode
    /// of the same window, bounded to -60..+40 dB; with no bend the input itself), as the
    /// plugin's Voice. Above 0 each bent window is decoded twice (bent and neutral)
    #[arg(long, value_name = "0..1", default_value_t = 0.0)]
    pub voice: f32,
}

impl VoiceArgs {
    /// The voice, once checked against its range and whether the output takes the input's phase
    /// (`--phase input`): the input voice is a gain on the input's own spectrum, which
    /// Griffin-Lim does not keep.
    pub fn voice(&self, input_phase: bool) -> Result<f32> {
        if !(0.0..=1.0).contains(&self.voice) {
            bail!(
                "--voice {} is outside its range 0 to 1 (0: the model's output, 1: the input's \
                 detail)",
                self.voice
            );
        }
        if self.voice > 0.0 && !input_phase {
            bail!(
                "--voice {} needs --phase input: the input's detail is a gain on its own spectrum",
                self.voice
            );
        }
        Ok(self.voice)
    }
}

/// A batch of decoded windows `[B, frames, bins]` (normalised): the bent decode and, when the
/// bend was not neutral and the voice asked for it, the neutral decode of the same latents.
pub struct Decoded {
    pub bent: Array3<f32>,
    pub neutral: Option<Array3<f32>>,
}

impl Decoded {
    pub fn bent(bent: Array3<f32>) -> Decoded {
        Decoded {
            bent,
            neutral: None,
        }
    }

    /// One batch of consecutive parts (a moving config's runs between spec changes). A part
    /// without a neutral decode (its bend was neutral) takes its bent windows as their own
    /// neutral, which is what the neutral decode would have given.
    pub fn concatenate(parts: Vec<Decoded>) -> Result<Decoded> {
        let bent: Vec<_> = parts.iter().map(|p| p.bent.view()).collect();
        let joined = ndarray::concatenate(Axis(0), &bent)?;
        if parts.iter().all(|p| p.neutral.is_none()) {
            return Ok(Decoded::bent(joined));
        }
        let neutral: Vec<_> = parts
            .iter()
            .map(|p| p.neutral.as_ref().unwrap_or(&p.bent).view())
            .collect();
        Ok(Decoded {
            bent: joined,
            neutral: Some(ndarray::concatenate(Axis(0), &neutral)?),
        })
    }

    /// Fails unless the model returned `count` windows of `[window, bins]` (and the neutral
    /// decode the same shape).
    pub fn check(&self, count: usize, window: usize, bins: usize) -> Result<()> {
        for y in std::iter::once(&self.bent).chain(&self.neutral) {
            if y.dim() != (count, window, bins) {
                bail!(
                    "the model returned windows of shape {:?}, expected [{count}, {window}, {bins}]",
                    y.dim(),
                );
            }
        }
        Ok(())
    }

    /// Each window's bent values and its neutral ones if it has them, `size` values each.
    pub fn windows(&self, size: usize) -> Vec<(&[f32], Option<&[f32]>)> {
        let bent = self
            .bent
            .as_slice()
            .expect("the model's output is standard layout");
        let neutral = self
            .neutral
            .as_ref()
            .map(|n| n.as_slice().expect("the model's output is standard layout"));
        bent.chunks_exact(size)
            .enumerate()
            .map(|(i, w)| (w, neutral.map(|n| &n[i * size..][..size])))
            .collect()
    }
}

/// The neutral decodes of a frame's source windows cross-faded into `out` with the bent rows'
/// weights (`dsp::cross_fade`), when at least one source has one; a source window without a
/// neutral decode (a neutral bend) gives its bent row. Returns false, leaving `out` as it was,
/// when no source has one (the ratio is then exactly 1).
pub fn neutral_row(
    kept: &VecDeque<(Vec<f32>, Option<Vec<f32>>)>,
    kept_first: usize,
    sources: &FrameSources,
    bins: usize,
    out: &mut [f32],
) -> bool {
    let window = |w: u64| &kept[w as usize - kept_first];
    let any =
        window(sources.a.0).1.is_some() || sources.b.is_some_and(|(w, _, _)| window(w).1.is_some());
    if !any {
        return false;
    }
    let rows = |(w, j): (u64, usize)| {
        let (bent, neutral) = window(w);
        &neutral.as_ref().unwrap_or(bent)[j * bins..][..bins]
    };
    dsp::cross_fade(
        rows(sources.a),
        sources.b.map(|(w, j, f)| (rows((w, j)), f)),
        out,
    );
    true
}
