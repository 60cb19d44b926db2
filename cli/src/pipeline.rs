//! The offline rendering pipeline shared by `render`, `variations`, `generate` and `bench`:
//! model + bend -> STFT of each channel, the mid magnitude of linked channels (`--stereo`,
//! `dsp::stereo_link`), normalise, overlapping 128-frame windows through the engine in batches,
//! cross-faded overlap-add (dsp::WindowLayout, in the offline renderer's layout or one of the
//! plugin's: `--layout`), denormalise, the bent mid over the mid as a per-bin gain on each
//! channel, input phase or Griffin-Lim, ISTFT, back to the file's rate, the plugin's output stage
//! (`dsp::output_stage`: guard, DC blocker, limiter, the silence gate keyed by the input,
//! `--gain`).

use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use dsp::{
    AudioData, LayoutMode, MODEL_SAMPLE_RATE, Normalisation, StftConfig, WindowLayout, cross_fade,
    read_audio, resample,
};
use engine::{BendConfig, BendSpec, ClusterFile, Model, Runtime, RuntimeOptions, load_config};
use indicatif::{ProgressBar, ProgressStyle};

use crate::channels::{StereoMode, channel_groups, linked_griffin_lim, to_model_rate};
use crate::frame_store::{FrameStore, LinkedInputPhase, Magnitudes};
use crate::timeline::{MovingSpec, Timeline, TimelineArgs};
use crate::voice_args::{Decoded, VoiceArgs, neutral_row};
use dsp::output_stage::{OUTPUT_GAIN_MAX_DB, OUTPUT_GAIN_MIN_DB, apply_fully_wet, db_to_gain};
use ndarray::{Array2, ArrayView3, s};

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

impl ModelArgs {
    /// Checks `--threads` and loads the model directory (`--model`, or the default one).
    pub fn load_model(&self) -> Result<Model> {
        if self.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let dir = self.model.clone().unwrap_or_else(engine::default_model_dir);
        Ok(Model::load(&dir)?)
    }

    /// The runtime options `--threads` asks for.
    pub fn runtime_options(&self) -> RuntimeOptions {
        RuntimeOptions {
            intra_threads: self.threads,
            ..RuntimeOptions::default()
        }
    }
}

/// Options of the commands that render audio files through a bent model (`render` and
/// `variations`): besides the model, where cluster selections come from and how the output
/// is put together.
#[derive(Args, Debug)]
pub struct RendererArgs {
    /// Cluster file ({layer: [{cluster_index, feature_index}, ...]}, e.g. from `netbend
    /// clusters`) that the config's `features: cluster` entries select from, instead of the
    /// model's general clusters
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub phase: PhaseArgs,
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// How the two channels of a stereo file go through the model: `linked` as the plugin does
    /// (one model run on the channels' RMS magnitude per bin, sqrt((|L|² + |R|²) / 2); the bent
    /// over the unbent magnitude is a per-bin gain on each channel, which keeps each channel's
    /// phase and the stereo image; docs/signal.md), or `independent` (each
    /// channel through the model on its own: twice the model time, and the channels can drift
    /// apart). Mono files are the same either way
    #[arg(long, value_enum, default_value_t = StereoMode::Linked)]
    pub stereo: StereoMode,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Keep the model's output where the input is digital silence (the plugin's Silence Gate
    /// off). By default the output is silent there, as the plugin's is (dsp::silence_gate)
    #[arg(long)]
    pub no_silence_gate: bool,
    #[command(flatten)]
    pub timeline: TimelineArgs,
    #[command(flatten)]
    pub voice: VoiceArgs,
}

impl RendererArgs {
    /// Loads the model and its runtime, cutting windows in the `--layout`, linking channels per
    /// `--stereo`, with the `--gain`.
    pub fn renderer(&self) -> Result<Renderer> {
        let gain = self.output.gain()?;
        let mut renderer = Renderer::load(&self.model)?;
        renderer.layout = self.layout.layout;
        renderer.stereo = self.stereo;
        renderer.gain = gain;
        renderer.silence_gate = !self.no_silence_gate;
        renderer.timeline = self.timeline.timeline()?;
        renderer.voice = self.voice.voice(self.phase.phase == PhaseSource::Input)?;
        Ok(renderer)
    }

    /// The bend of `config` (neutral without one) with `--clusters`; `seed` overrides the
    /// config's seed.
    pub fn spec(
        &self,
        renderer: &Renderer,
        config: Option<&Path>,
        seed: Option<u64>,
    ) -> Result<BendSpec> {
        renderer.spec_with_clusters(config, seed, self.clusters.as_deref())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PhaseSource {
    /// Put the bent magnitude under the input's own phase (per channel)
    Input,
    /// Recover the phase from the bent magnitude alone (fast Griffin-Lim, per channel)
    GriffinLim,
}

/// `--gain`, shared by `render`, `variations` and `generate`: the output stage's gain, as the
/// plugin's Output Gain.
#[derive(Args, Debug, Clone, Copy)]
pub struct OutputArgs {
    /// Output gain in dB (-30 to +12, as the plugin's Output Gain), after the limiter like the
    /// plugin's, so a positive gain can take peaks above full scale
    #[arg(
        long,
        value_name = "DB",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    pub gain: f32,
}

impl OutputArgs {
    /// The linear gain, once `--gain` is checked against the plugin's range.
    pub fn gain(&self) -> Result<f32> {
        if !(OUTPUT_GAIN_MIN_DB..=OUTPUT_GAIN_MAX_DB).contains(&self.gain) {
            bail!(
                "--gain {} dB is outside the plugin's Output Gain range, {OUTPUT_GAIN_MIN_DB} to \
                 +{OUTPUT_GAIN_MAX_DB} dB",
                self.gain
            );
        }
        Ok(db_to_gain(self.gain))
    }
}

/// `--layout`, shared by `render` and `variations`.
#[derive(Args, Debug, Clone, Copy)]
pub struct LayoutArgs {
    /// How model windows are cut and cross-faded: `offline` (a window every 64 frames, each frame
    /// faded across two windows), or as the plugin's quality mode streams them, to render what
    /// the plugin renders in that mode: `plugin-default` (a window every 32 frames, 12-frame
    /// fade), `plugin-low-latency` (every 12 frames, 3-frame fade)
    #[arg(long, default_value = "offline", value_parser = layout_mode)]
    pub layout: LayoutMode,
}

fn layout_mode(name: &str) -> Result<LayoutMode, String> {
    LayoutMode::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = LayoutMode::ALL.iter().map(|m| m.name()).collect();
        format!("unknown layout '{name}'; allowed: {}", names.join(", "))
    })
}

/// A loaded model with its runtime and signal settings.
pub struct Renderer {
    pub runtime: Runtime,
    pub norm: Normalisation,
    pub window: usize,
    pub bins: usize,
    /// How windows are cut and cross-faded (`--layout`; offline unless set).
    pub layout: LayoutMode,
    /// How a stereo file's channels go through the model (`--stereo`; linked unless set).
    pub stereo: StereoMode,
    /// Linear gain of the output stage (`--gain`; 1 unless set).
    pub gain: f32,
    /// Whether the output stage's silence gate, keyed by the input, acts (the plugin's Silence
    /// Gate; on unless `--no-silence-gate`).
    pub silence_gate: bool,
    /// Where the file sits in a song (`--bpm`, `--meter`, `--start`), for moving configs.
    pub timeline: Timeline,
    /// 0: the model's output, 1: the input's detail under the bend (`--voice`, `dsp::voice`;
    /// 0 unless set). Above 0 a bent window is decoded a second time, neutral.
    pub voice: f32,
    /// The spec when its entries move: each window is bent as it stands at that window.
    moving: Option<MovingSpec>,
}

impl Renderer {
    pub fn load(args: &ModelArgs) -> Result<Renderer> {
        let model = args.load_model()?;
        let engine::AudioSignal { norm, window, bins } = model.audio_signal()?;
        let runtime = Runtime::new(model, &args.runtime_options())?;
        for note in runtime.notes() {
            eprintln!("netbend: note: {note}");
        }
        Ok(Renderer {
            runtime,
            norm,
            window,
            bins,
            layout: LayoutMode::Offline,
            stereo: StereoMode::Linked,
            gain: 1.0,
            silence_gate: true,
            timeline: Timeline::default(),
            voice: 0.0,
            moving: None,
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

    /// As [`Renderer::spec`], with `features: cluster` selecting from the cluster file
    /// `clusters` (e.g. written by `netbend clusters`) instead of the config's clusters.
    pub fn spec_with_clusters(
        &self,
        config: Option<&Path>,
        seed: Option<u64>,
        clusters: Option<&Path>,
    ) -> Result<BendSpec> {
        let Some(clusters) = clusters else {
            return self.spec(config, seed);
        };
        let Some(config) = config else {
            bail!(
                "--clusters {} needs --config: without a config nothing selects clusters",
                clusters.display()
            );
        };
        let file = ClusterFile::read(clusters)?;
        let manifest = self.runtime.model().manifest();
        let mut spec = BendConfig::read(config)?
            .with_cluster_file(file)
            .to_spec(manifest)?;
        if let Some(seed) = seed {
            spec.seed = seed;
        }
        Ok(spec)
    }

    /// The bend of the next render. A spec whose entries move (`modulate:`, `reroll:`) is
    /// evaluated per window on the renderer's timeline.
    pub fn set_spec(&mut self, spec: &BendSpec) -> Result<()> {
        self.moving = None;
        if spec.moves() {
            self.moving = Some(MovingSpec::new(spec.clone(), self.timeline));
        } else {
            self.runtime.set_spec(spec)?;
        }
        Ok(())
    }

    pub fn latent_dim(&self) -> usize {
        self.runtime.model().manifest().latent_dim
    }

    /// The windows over a `frames`-frame spectrogram in the renderer's layout.
    pub fn window_layout(&self, frames: usize) -> WindowLayout {
        WindowLayout::for_schedule(frames, &self.layout.schedule(self.window))
    }

    /// Runs the windows of a `store.frames()`-frame spectrogram through `windows` in batches of
    /// [`BATCH`] and cross-fades them (the `dsp::WindowLayout` formula) into `store`, denormalised.
    /// Memory stays at one batch plus the windows a frame still needs: frame `t` is written once
    /// the last window that reads it is built, and only windows that do not read `t` are built
    /// afterwards, so a store may overwrite the very frames the windows are read from (see
    /// [`FrameStore`]).
    fn stream_windows(
        &mut self,
        store: &mut dyn FrameStore,
        bar: &ProgressBar,
        mut windows: impl FnMut(&mut Runtime, Range<usize>, &mut dyn FrameStore) -> Result<Decoded>,
    ) -> Result<()> {
        let (window, bins) = (self.window, self.bins);
        let layout = self.window_layout(store.frames());
        let size = window * bins;
        // The built windows that frames still to be written take values from: `kept[i]` is
        // window `kept_first + i`, with its neutral decode if it has one.
        let mut kept: VecDeque<(Vec<f32>, Option<Vec<f32>>)> = VecDeque::new();
        let mut kept_first = 0;
        let mut spare: Vec<Vec<f32>> = Vec::new();
        let (mut mixed, mut row) = (vec![0.0f32; bins], vec![0.0f32; bins]);
        let mut neutral = vec![0.0f32; bins];
        let (mut start, mut next_frame) = (0, 0);
        while start < layout.count {
            let end = (start + BATCH).min(layout.count);
            let y = match self.moving.as_mut() {
                None => windows(&mut self.runtime, start..end, &mut *store)?,
                // Each window under the spec at its song position: the batch is split where the
                // spec changes, and a changed spec is compiled before the windows that use it.
                Some(moving) => {
                    let mut parts: Vec<Decoded> = Vec::new();
                    let mut run_start = start;
                    for k in start..end {
                        if let Some(spec) = moving.changed_at(&layout, k) {
                            if k > run_start {
                                parts.push(windows(&mut self.runtime, run_start..k, &mut *store)?);
                            }
                            self.runtime.set_spec(spec)?;
                            run_start = k;
                        }
                    }
                    parts.push(windows(&mut self.runtime, run_start..end, &mut *store)?);
                    Decoded::concatenate(parts)?
                }
            };
            y.check(end - start, window, bins)?;
            for (w, n) in y.windows(size) {
                let mut copy = |w: &[f32]| {
                    let mut buffer = spare.pop().unwrap_or_else(|| vec![0.0; size]);
                    buffer.copy_from_slice(w);
                    buffer
                };
                let kept_window = copy(w);
                kept.push_back((kept_window, n.map(copy)));
            }
            while next_frame < layout.frames && layout.last_reader(next_frame) < end {
                let t = next_frame;
                let sources = layout.sources(t);
                let rows =
                    |(w, j): (u64, usize)| &kept[w as usize - kept_first].0[j * bins..][..bins];
                cross_fade(
                    rows(sources.a),
                    sources.b.map(|(w, j, f)| (rows((w, j)), f)),
                    &mut mixed,
                );
                self.norm.denormalise_slice(&mixed, &mut row);
                // The neutral decodes cross-faded with the same weights (a window without one
                // has a neutral bend: its neutral decode is its bent one).
                let has_neutral = neutral_row(&kept, kept_first, &sources, bins, &mut mixed);
                if has_neutral {
                    self.norm.denormalise_slice(&mixed, &mut neutral);
                }
                store.write(t, &row, has_neutral.then_some(&neutral[..]));
                next_frame += 1;
            }
            // Later frames take values from window next_frame / hop on.
            while kept_first < next_frame / layout.hop
                && let Some((w, n)) = kept.pop_front()
            {
                spare.push(w);
                spare.extend(n);
                kept_first += 1;
            }
            bar.inc((end - start) as u64);
            start = end;
        }
        Ok(())
    }

    /// Autoencodes the magnitudes in `store` with the current bend, in place.
    pub fn bend_frames(&mut self, store: &mut dyn FrameStore, bar: &ProgressBar) -> Result<()> {
        let (window, bins) = (self.window, self.bins);
        let layout = self.window_layout(store.frames());
        let norm = self.norm;
        // Padding: the normalised value of silence (amin).
        let pad = norm.normalise(0.0);
        let mut batch: Vec<f32> = Vec::with_capacity(BATCH * window * bins);
        let mut row = vec![0.0f32; bins];
        let voice = self.voice;
        self.stream_windows(store, bar, |rt, range, store| {
            batch.clear();
            for k in range.clone() {
                for j in 0..window {
                    let filled = batch.len();
                    batch.resize(filled + bins, pad);
                    if let Some(t) = layout.frame_at(k, j) {
                        store.read(t, &mut row);
                        norm.normalise_slice(&row, &mut batch[filled..]);
                    }
                }
            }
            let view = ArrayView3::from_shape((range.len(), window, bins), &batch)
                .expect("the batch holds range.len() windows");
            Ok(if voice > 0.0 {
                let (bent, neutral) = rt.autoencode_with_neutral(view)?;
                Decoded { bent, neutral }
            } else {
                Decoded::bent(rt.autoencode(view)?)
            })
        })
    }

    /// Decodes `latents` (one per window) with the current bend and cross-fades the windows into
    /// a `frames`-frame magnitude spectrogram.
    pub fn decode_magnitude(
        &mut self,
        latents: &Array2<f32>,
        frames: usize,
        bar: &ProgressBar,
    ) -> Result<Vec<f32>> {
        let layout = self.window_layout(frames);
        assert_eq!(latents.nrows(), layout.count, "one latent per window");
        let mut store = Magnitudes {
            data: vec![0.0; frames * self.bins],
            bins: self.bins,
        };
        self.stream_windows(&mut store, bar, |rt, range, _| {
            Ok(Decoded::bent(rt.decode(latents.slice(s![range, ..]))?))
        })?;
        Ok(store.data)
    }
}

/// Windows the renderer needs for a signal of `samples` samples at the model rate.
pub fn window_count(renderer: &Renderer, samples: usize) -> usize {
    renderer
        .window_layout(StftConfig::default().frames_for(samples))
        .count
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
    /// Channel 0 at the model rate, before and after (for the spectrogram picture); empty unless
    /// [`Keep::model_rate`].
    pub input_model_rate: Vec<f32>,
    pub output_model_rate: Vec<f32>,
    /// Channel 0's bent magnitude `[frames, bins]` before the phase is attached; empty unless
    /// [`Keep::magnitude`].
    pub bent_magnitude: Vec<f32>,
}

/// What [`render_audio`] keeps besides the output audio (each is a full-length copy, so only on
/// request).
#[derive(Clone, Copy, Debug, Default)]
pub struct Keep {
    pub model_rate: bool,
    pub magnitude: bool,
}

pub struct PhaseOptions {
    pub phase: PhaseSource,
    pub iterations: usize,
}

/// `--phase` and `--iterations`, shared by `render` and `variations`.
#[derive(Args, Debug, Clone, Copy)]
pub struct PhaseArgs {
    /// Where the output's phase comes from
    #[arg(long, value_enum, default_value_t = PhaseSource::Input)]
    pub phase: PhaseSource,
    /// Griffin-Lim iterations (only with --phase griffin-lim) [default: 100]
    #[arg(long, value_name = "N")]
    pub iterations: Option<usize>,
}

impl PhaseArgs {
    /// Checks the combination and fills in the default iteration count.
    pub fn options(&self) -> Result<PhaseOptions> {
        Ok(PhaseOptions {
            phase: self.phase,
            iterations: check_iterations(self.phase, self.iterations)?,
        })
    }
}

/// Reads the input audio file and says on stderr what it holds.
pub fn read_input(path: &Path) -> Result<AudioData> {
    let audio = read_audio(path)?;
    eprintln!(
        "read {} ({} ch, {} Hz, {:.2} s)",
        path.display(),
        audio.channel_count(),
        audio.sample_rate,
        audio.frames() as f64 / audio.sample_rate as f64
    );
    Ok(audio)
}

/// Renders `audio` through the renderer's current bend: the channels linked (one model run on
/// their mid magnitude) or each on its own (`renderer.stereo`), then each through the output
/// stage at the file's rate. With the input's phase, frames are analysed, bent and resynthesised
/// as the windows advance, so besides the input and output audio (and a model-rate copy of the
/// channels when resampling) memory holds a batch of windows; Griffin-Lim needs the channels'
/// whole spectrograms.
pub fn render_audio(
    renderer: &mut Renderer,
    audio: &AudioData,
    phase: &PhaseOptions,
    keep: Keep,
    bar: &ProgressBar,
) -> Result<Rendered> {
    let rate = audio.sample_rate;
    let mut rendered = Rendered {
        audio: AudioData {
            channels: Vec::with_capacity(audio.channel_count()),
            sample_rate: rate,
        },
        input_model_rate: Vec::new(),
        output_model_rate: Vec::new(),
        bent_magnitude: Vec::new(),
    };
    let signals = audio
        .channels
        .iter()
        .map(|channel| to_model_rate(channel, rate))
        .collect::<Result<Vec<_>>>()?;
    let mut outputs = vec![Vec::new(); signals.len()];
    for group in channel_groups(renderer.stereo, signals.len()) {
        let first = group.start == 0;
        let group_signals: Vec<&[f32]> = signals[group.clone()].iter().map(|s| &**s).collect();
        let record = first && keep.magnitude;
        let (bent, record) = match phase.phase {
            PhaseSource::Input => {
                let mut store = LinkedInputPhase::new(group_signals, renderer.norm.amin, record)
                    .with_voice(renderer.voice);
                renderer.bend_frames(&mut store, bar)?;
                let record = store.record.take();
                (store.finish(), record)
            }
            PhaseSource::GriffinLim => {
                let (bins, floor) = (renderer.bins, renderer.norm.amin);
                linked_griffin_lim(
                    &group_signals,
                    bins,
                    floor,
                    |store| renderer.bend_frames(store, bar),
                    phase.iterations,
                    record,
                    bar,
                )?
            }
        };
        if let Some(record) = record {
            rendered.bent_magnitude = record;
        }
        for (output, channel) in outputs[group].iter_mut().zip(bent) {
            *output = channel;
        }
    }
    for (c, output) in outputs.into_iter().enumerate() {
        if c == 0 && keep.model_rate {
            rendered.input_model_rate = signals[0].to_vec();
            rendered.output_model_rate = output.clone();
        }
        let mut back = if rate == MODEL_SAMPLE_RATE {
            output
        } else {
            resample(&output, MODEL_SAMPLE_RATE, rate)
                .with_context(|| format!("cannot resample back to {rate} Hz"))?
        };
        back.resize(audio.frames(), 0.0);
        let key = renderer.silence_gate.then_some(&audio.channels[c][..]);
        apply_fully_wet(&mut back, rate as f32, renderer.gain, key);
        rendered.audio.channels.push(back);
    }
    Ok(rendered)
}

/// Total progress steps (windows, plus Griffin-Lim iterations) for rendering `audio`.
pub fn render_steps(audio: &AudioData, renderer: &Renderer, phase: &PhaseOptions) -> u64 {
    let samples = (audio.frames() as u64 * MODEL_SAMPLE_RATE as u64)
        .div_ceil(audio.sample_rate.max(1) as u64) as usize;
    // Resampling may add a sample or two; the bar length is only indicative.
    let gl = match phase.phase {
        PhaseSource::Input => 0,
        PhaseSource::GriffinLim => phase.iterations,
    };
    let groups = channel_groups(renderer.stereo, audio.channel_count()).len();
    (groups * window_count(renderer, samples) + audio.channel_count() * gl) as u64
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
