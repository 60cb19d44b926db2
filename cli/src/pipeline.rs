//! The offline rendering pipeline shared by `render`, `variations`, `generate` and `bench`:
//! model + bend -> per channel STFT, normalise, overlapping 128-frame windows through the
//! engine in batches, cross-faded overlap-add (dsp::WindowLayout), denormalise, input phase or
//! Griffin-Lim, ISTFT, back to the file's rate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use dsp::{
    AudioData, GriffinLim, GriffinLimVariant, InitialPhase, MODEL_SAMPLE_RATE, Normalisation, Stft,
    StftConfig, WindowLayout, resample, resample_channels, with_input_phase,
};
use engine::{BendSpec, Model, Runtime, RuntimeOptions, load_config};
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{Array2, Array3, ArrayView3, s};

/// Windows per engine call.
pub const BATCH: usize = 8;

/// Options shared by the commands that run a model.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model directory (manifest.json + ONNX graphs) [default: the shipped model, models/vae/,
    /// or NETBEND_MODEL_DIR]
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// ONNX Runtime intra-op threads [default: one per core]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhaseSource {
    /// Put the bent magnitude under the input's own phase (per channel)
    Input,
    /// Recover the phase from the bent magnitude alone (fast Griffin-Lim, per channel)
    GriffinLim,
}

/// A loaded model with its runtime and signal settings.
pub struct Renderer {
    pub runtime: Runtime,
    pub norm: Normalisation,
    pub window: usize,
    pub bins: usize,
}

impl Renderer {
    pub fn load(args: &ModelArgs) -> Result<Renderer> {
        if args.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let dir = args.model.clone().unwrap_or_else(engine::default_model_dir);
        let model = Model::load(&dir)?;
        let engine::AudioSignal { norm, window, bins } = model.audio_signal()?;
        let options = RuntimeOptions {
            intra_threads: args.threads,
            ..RuntimeOptions::default()
        };
        let runtime = Runtime::new(model, &options)?;
        for note in runtime.notes() {
            eprintln!("netbend: note: {note}");
        }
        Ok(Renderer {
            runtime,
            norm,
            window,
            bins,
        })
    }

    /// Reads `config` (or the neutral bend without one) for this model; `seed` overrides the
    /// config's seed.
    pub fn spec(&self, config: Option<&Path>, seed: Option<u64>) -> Result<BendSpec> {
        let mut spec = match config {
            Some(path) => load_config(path, self.runtime.model().manifest())?,
            None => BendSpec::neutral(),
        };
        if let Some(seed) = seed {
            spec.seed = seed;
        }
        Ok(spec)
    }

    pub fn set_spec(&mut self, spec: &BendSpec) -> Result<()> {
        self.runtime.set_spec(spec)?;
        Ok(())
    }

    pub fn latent_dim(&self) -> usize {
        self.runtime.model().manifest().latent_dim
    }

    /// Runs `windows` (`[count, window, bins]`) through `f` in batches of [`BATCH`].
    fn batched(
        &mut self,
        count: usize,
        bar: &ProgressBar,
        mut f: impl FnMut(&mut Runtime, std::ops::Range<usize>) -> Result<Array3<f32>>,
    ) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(count * self.window * self.bins);
        let mut start = 0;
        while start < count {
            let end = (start + BATCH).min(count);
            let y = f(&mut self.runtime, start..end)?;
            if y.dim() != (end - start, self.window, self.bins) {
                bail!(
                    "the model returned windows of shape {:?}, expected [{}, {}, {}]",
                    y.dim(),
                    end - start,
                    self.window,
                    self.bins
                );
            }
            out.extend(y.iter());
            bar.inc((end - start) as u64);
            start = end;
        }
        Ok(out)
    }

    /// Autoencodes a magnitude spectrogram (`[frames, bins]` row-major) with the current bend.
    pub fn bend_magnitude(&mut self, magnitude: &[f32], bar: &ProgressBar) -> Result<Vec<f32>> {
        let bins = self.bins;
        let frames = magnitude.len() / bins;
        let layout = WindowLayout::new(frames, self.window);
        let mut normalised = vec![0.0; magnitude.len()];
        self.norm.normalise_slice(magnitude, &mut normalised);
        // Padding: the normalised value of silence (amin).
        let pad = self.norm.normalise(0.0);
        let windows = layout.split(&normalised, bins, pad);
        let windows = ArrayView3::from_shape((layout.count, self.window, bins), &windows)
            .expect("split returns [count, window, bins]");
        let out = self.batched(layout.count, bar, |rt, range| {
            Ok(rt.autoencode(windows.slice(s![range, .., ..]))?)
        })?;
        let bent = layout.overlap_add(&out, bins);
        let mut result = vec![0.0; bent.len()];
        self.norm.denormalise_slice(&bent, &mut result);
        Ok(result)
    }

    /// Decodes `latents` (one per window) with the current bend and cross-fades the windows into
    /// a `frames`-frame magnitude spectrogram.
    pub fn decode_magnitude(
        &mut self,
        latents: &Array2<f32>,
        frames: usize,
        bar: &ProgressBar,
    ) -> Result<Vec<f32>> {
        let layout = WindowLayout::new(frames, self.window);
        assert_eq!(latents.nrows(), layout.count, "one latent per window");
        let out = self.batched(layout.count, bar, |rt, range| {
            Ok(rt.decode(latents.slice(s![range, ..]))?)
        })?;
        let decoded = layout.overlap_add(&out, self.bins);
        let mut result = vec![0.0; decoded.len()];
        self.norm.denormalise_slice(&decoded, &mut result);
        Ok(result)
    }
}

/// Windows the pipeline needs for a signal of `samples` samples at the model rate.
pub fn window_count(samples: usize, window: usize) -> usize {
    WindowLayout::new(StftConfig::default().frames_for(samples), window).count
}

pub fn bar(len: u64, what: &str) -> ProgressBar {
    // indicatif hides itself when stderr is not a terminal (CI, tests, pipes).
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{pos}}/{{len}} {{msg}} eta {{eta}}"
        ))
        .expect("valid template"),
    )
}

/// The result of rendering one file.
pub struct Rendered {
    pub audio: AudioData,
    /// Channel 0 at the model rate, before and after (for the spectrogram picture).
    pub input_model_rate: Vec<f32>,
    pub output_model_rate: Vec<f32>,
    /// Channel 0's bent magnitude `[frames, bins]` before the phase is attached.
    pub bent_magnitude: Vec<f32>,
}

pub struct PhaseOptions {
    pub phase: PhaseSource,
    pub iterations: usize,
}

/// Renders `audio` through the renderer's current bend.
pub fn render_audio(
    renderer: &mut Renderer,
    audio: &AudioData,
    phase: &PhaseOptions,
    bar: &ProgressBar,
) -> Result<Rendered> {
    let rate = audio.sample_rate;
    let channels =
        resample_channels(&audio.channels, rate, MODEL_SAMPLE_RATE).with_context(|| {
            format!("cannot resample {rate} Hz to the model rate {MODEL_SAMPLE_RATE} Hz")
        })?;
    let mut stft = Stft::new(StftConfig::default());
    let mut out_channels = Vec::new();
    let mut model_rate_out = Vec::new();
    let mut bent_magnitude = Vec::new();
    for channel in &channels {
        let spectrogram = stft.analyse(channel);
        let bent = renderer.bend_magnitude(&spectrogram.magnitudes(), bar)?;
        if bent_magnitude.is_empty() {
            bent_magnitude = bent.clone();
        }
        let signal = match phase.phase {
            PhaseSource::Input => stft.synthesise(&with_input_phase(&bent, &spectrogram)),
            PhaseSource::GriffinLim => {
                griffin_lim(&mut stft, &bent, channel.len(), phase.iterations, 0, bar)
            }
        };
        let mut back = resample(&signal, MODEL_SAMPLE_RATE, rate)
            .with_context(|| format!("cannot resample back to {rate} Hz"))?;
        back.resize(audio.frames(), 0.0);
        out_channels.push(back);
        if model_rate_out.is_empty() {
            model_rate_out = signal;
        }
    }
    Ok(Rendered {
        audio: AudioData {
            channels: out_channels,
            sample_rate: rate,
        },
        input_model_rate: channels.into_iter().next().unwrap_or_default(),
        output_model_rate: model_rate_out,
        bent_magnitude,
    })
}

/// Fast Griffin-Lim (momentum 0.99) from a seeded random phase; advances `bar` by one step per
/// iteration.
pub fn griffin_lim(
    stft: &mut Stft,
    magnitude: &[f32],
    samples: usize,
    iterations: usize,
    seed: u64,
    bar: &ProgressBar,
) -> Vec<f32> {
    let gl = GriffinLim {
        iterations,
        variant: GriffinLimVariant::FAST,
        initial_phase: InitialPhase::Random { seed },
    };
    gl.run(stft, magnitude, samples, |report| {
        if report.iteration > 0 {
            bar.inc(1);
        }
    })
}

/// Total progress steps (windows, plus Griffin-Lim iterations) for rendering `audio`.
pub fn render_steps(audio: &AudioData, window: usize, phase: &PhaseOptions) -> u64 {
    let samples = (audio.frames() as u64 * MODEL_SAMPLE_RATE as u64)
        .div_ceil(audio.sample_rate.max(1) as u64) as usize;
    // Resampling may add a sample or two; the bar length is only indicative.
    let gl = match phase.phase {
        PhaseSource::Input => 0,
        PhaseSource::GriffinLim => phase.iterations,
    };
    (audio.channel_count() * (window_count(samples, window) + gl)) as u64
}

pub fn check_iterations(phase: PhaseSource, iterations: Option<usize>) -> Result<usize> {
    if phase == PhaseSource::Input && iterations.is_some() {
        bail!("--iterations only applies to --phase griffin-lim");
    }
    if iterations == Some(0) {
        bail!("--iterations must be at least 1");
    }
    Ok(iterations.unwrap_or(100))
}
