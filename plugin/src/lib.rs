//! Netbend, the real-time network bending effect (VST3 + CLAP, nice-plug, egui editor).
//!
//! Parameters ([`params`]), the lock-free parameter bridge to the model worker ([`bridge`]), the
//! audio-thread model path ([`model_path`]: resampling, STFT framing, windows to the worker and
//! back, resynthesis), the worker thread running the engine ([`worker`]), the output stage
//! ([`safety`]) and the editor ([`editor`]) with what it shows: the models to pick and the loaded
//! one's layers ([`model_catalog`]) and the spectrogram columns ([`spectrum`]). Without a model
//! or ONNX Runtime the wet signal is
//! the dry signal delayed by the same latency, and the editor says why.

pub mod bridge;
pub mod clip_capture;
pub mod clip_clusters;
pub mod clip_panel;
pub mod config_panel;
pub mod editor;
pub mod host_timeline;
pub mod model_catalog;
pub mod model_path;
pub mod motion_params;
pub mod pace_guard;
pub mod params;
pub mod path_latency;
pub mod runtime_options;
pub mod safety;
pub mod slot_config;
pub mod song_clock;
pub mod spectrum;
pub mod voice_frame;
pub mod worker;

pub use bridge::slot_snapshot;
use bridge::{BendBridge, BendSnapshot, BridgeWriter, EngineStatus, QualityModeSnapshot};
use model_catalog::{LoadedModel, ModelSummary, find_model};
use model_path::{ModelPath, PathSetup};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, RepaintNotifier};
use params::NetbendParams;
use runtime_options::runtime_options;
use safety::{ChannelOutput, OutputControls};
use spectrum::SpectrumFeed;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use worker::{WorkerHandle, WorkerLink};

/// Channels the output stage keeps state for (stereo at most).
const MAX_CHANNELS: usize = 2;
/// Capacity of the latency-compensation delay, in seconds of host audio.
const MAX_LATENCY_SECONDS: f32 = 1.0;
/// Largest magnitude the model path is fed (+24 dBFS): beyond it the input is clipped there.
const MODEL_INPUT_LIMIT: f32 = 16.0;
/// Benchmarks: a file the plugin writes its status counters to when it is deactivated.
pub const STATS_ENV: &str = "NETBEND_STATS_FILE";
/// Tests and benchmarks: extra milliseconds the worker spends per window (a slow machine).
pub const WORKER_DELAY_ENV: &str = "NETBEND_WORKER_DELAY_MS";
/// Length of the bypass cross-fade.
const BYPASS_FADE_MS: f32 = 10.0;

pub struct Netbend {
    params: Arc<NetbendParams>,
    bridge: Arc<BendBridge>,
    status: Arc<EngineStatus>,
    /// The loaded model's layers and clusters, for the editor (set in `activate()`).
    loaded_model: Arc<LoadedModel>,
    /// The current activation's spectrogram ring, for the editor.
    spectrum: Arc<SpectrumFeed>,
    editor_state: Arc<EguiEditorState>,
    writer: BridgeWriter,
    channels: Vec<ChannelOutput>,
    bypass: Smoother<f32>,
    sample_rate: f32,
    /// Latency reported to the host, in samples (the model path's, with or without a model).
    latency: u32,
    /// The model path (audio thread), when a model is loaded.
    path: Option<ModelPath>,
    /// Per-channel host-rate scratch the model path works in (allocated in `activate`).
    wet: Vec<Vec<f32>>,
    /// The worker running the model (main thread owns the handle).
    worker: Option<WorkerHandle>,
    /// The loaded runtime while no worker runs, kept to reuse its sessions, with its model dir.
    runtime: Option<(PathBuf, engine::Runtime)>,
    /// The quality mode this activation runs, and each mode's latency at its settings: a mode
    /// change in `process()` reports the new latency, which makes the host restart the plugin.
    active_mode: params::QualityMode,
    mode_latencies: [u32; 2],
    /// "Cluster this audio": the clip's history, its clustering thread, and the collector
    /// draining the audio thread's capture ring while a model path runs.
    clip: Arc<clip_clusters::ClipClustering>,
    collector: Option<clip_capture::Collector>,
    /// The host said at activation that it renders offline (CLAP render extension, VST3
    /// `setupProcessing`).
    declared_offline: bool,
    /// Notices a host running faster than real time without saying so (an export or bounce).
    pace: pace_guard::PaceGuard,
    /// Where the host's timeline puts the window grid and each block on the song.
    timeline: host_timeline::HostTimeline,
}

impl Default for Netbend {
    fn default() -> Self {
        Self {
            params: Arc::new(NetbendParams::default()),
            bridge: Arc::new(BendBridge::new()),
            status: Arc::new(EngineStatus::default()),
            loaded_model: Arc::new(LoadedModel::default()),
            spectrum: SpectrumFeed::new(),
            editor_state: editor::default_state(),
            writer: BridgeWriter::default(),
            channels: Vec::new(),
            bypass: Smoother::new(SmoothingStyle::Linear(BYPASS_FADE_MS)),
            sample_rate: 48_000.0,
            latency: 0,
            path: None,
            wet: Vec::new(),
            worker: None,
            runtime: None,
            active_mode: params::QualityMode::Default,
            mode_latencies: [0; 2],
            clip: Arc::new(clip_clusters::ClipClustering::new(
                clip_capture::ClipHistory::new(dsp::MODEL_SAMPLE_RATE, clip_capture::CLIP_SECONDS),
            )),
            collector: None,
            declared_offline: false,
            pace: pace_guard::PaceGuard::new(48_000.0),
            timeline: host_timeline::HostTimeline::default(),
        }
    }
}

impl Netbend {
    /// The bridge the model worker will read.
    pub fn bridge(&self) -> Arc<BendBridge> {
        self.bridge.clone()
    }

    /// Status counters shown by the editor.
    pub fn status(&self) -> Arc<EngineStatus> {
        self.status.clone()
    }

    /// Fills the bridge snapshot from the (block-rate smoothed) parameters.
    fn snapshot(&self, block_len: u32) -> BendSnapshot {
        let mut snapshot = BendSnapshot {
            generation: 0,
            mode: QualityModeSnapshot(self.params.mode.value()),
            slots: Default::default(),
        };
        for (out, slot) in snapshot.slots.iter_mut().zip(self.params.slots.iter()) {
            *out = slot_snapshot(slot, block_len);
        }
        snapshot
    }
}

impl Plugin for Netbend {
    const NAME: &'static str = "Netbend";
    const VENDOR: &'static str = "Netbend";
    const URL: &'static str = "https://netbend.invalid";
    const EMAIL: &'static str = "info@netbend.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = EguiEditor<editor::NetbendEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        nice_plug_egui::create_egui_editor(
            self.editor_state.clone(),
            RepaintNotifier::new(),
            EguiNiceSettings::new().with_tile("Netbend"),
            editor::NetbendEditor::new(editor::EditorLinks {
                params: self.params.clone(),
                status: self.status.clone(),
                loaded_model: self.loaded_model.clone(),
                spectrum: self.spectrum.clone(),
                clip: self.clip.clone(),
            }),
        )
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.sample_rate = buffer_config.sample_rate;
        let channels = audio_io_layout
            .main_output_channels
            .map(|c| c.get() as usize)
            .unwrap_or(MAX_CHANNELS)
            .min(MAX_CHANNELS);
        let max_block = buffer_config.max_buffer_size.max(1) as usize;
        self.stop_worker();
        let host_rate = self.sample_rate.round() as u32;
        let offline = buffer_config.process_mode == ProcessMode::Offline;
        self.declared_offline = offline;
        self.pace = pace_guard::PaceGuard::new(self.sample_rate);
        self.timeline = host_timeline::HostTimeline::default();
        // The latency does not depend on whether a model loads, so a session keeps its timing.
        for mode in [
            params::QualityMode::Default,
            params::QualityMode::LowLatency,
        ] {
            let schedule = model_path::schedule_for(mode, dsp::WINDOW_FRAMES);
            match model_path::latency_for(host_rate, channels, max_block, &schedule) {
                Ok(l) => self.mode_latencies[mode.index() as usize] = l.host_samples,
                Err(e) => {
                    nice_log!("Netbend: cannot resample {host_rate} Hz: {e}");
                    return false;
                }
            }
        }
        self.active_mode = self.params.mode.value();
        let latency = self.mode_latencies[self.active_mode.index() as usize];
        match self.start_model_path(host_rate, channels, max_block, offline) {
            Ok(()) => {
                self.status.set_message(String::new());
                self.status.model_connected.store(true, Ordering::Relaxed);
            }
            Err(why) => {
                self.path = None;
                self.loaded_model.set(None);
                self.spectrum.install(None);
                self.status.set_message(why);
                self.status.model_connected.store(false, Ordering::Relaxed);
            }
        }
        if let Some(path) = &self.path {
            debug_assert_eq!(path.latency().host_samples, latency);
        }
        self.latency = latency;
        self.wet = vec![vec![0.0; max_block]; channels];
        let max_latency =
            ((MAX_LATENCY_SECONDS * self.sample_rate).ceil() as usize).max(self.latency as usize);
        self.channels = (0..channels)
            .map(|_| {
                let mut c = ChannelOutput::new(self.sample_rate, max_latency);
                c.set_latency(self.latency as usize);
                c
            })
            .collect();
        context.set_latency_samples(self.latency);
        self.status
            .latency_samples
            .store(self.latency, Ordering::Relaxed);
        let hop = model_path::schedule_for(self.active_mode, dsp::WINDOW_FRAMES).hop;
        self.status.hop_ms.store(
            (hop * dsp::HOP) as f32 * 1000.0 / dsp::MODEL_SAMPLE_RATE as f32,
            Ordering::Relaxed,
        );
        self.status
            .sample_rate
            .store(self.sample_rate, Ordering::Relaxed);
        true
    }

    fn reset(&mut self) {
        for c in &mut self.channels {
            c.reset();
        }
        let bypassed = if self.params.bypass.value() { 1.0 } else { 0.0 };
        self.bypass.reset(bypassed);
    }

    fn deactivate(&mut self) {
        self.stop_worker();
        if let Some(file) = std::env::var_os(STATS_ENV) {
            // Main thread: the benchmark reads the counters it cannot see through a host.
            let s = &self.status;
            let engaged_at = s
                .ahead_engaged_at()
                .map_or("never".to_string(), |n| n.to_string());
            let grid_origin = if s.grid_origin_known.load(Ordering::Relaxed) {
                s.grid_origin.load(Ordering::Relaxed).to_string()
            } else {
                "unknown".to_string()
            };
            let line = format!(
                "connected={} latency={} windows={} misses={} window_ms_max={:.2} \
                 ahead_blocks={} ahead_engaged_at={engaged_at} grid_origin={grid_origin}\n",
                s.model_connected.load(Ordering::Relaxed),
                self.latency,
                s.windows.load(Ordering::Relaxed),
                s.deadline_misses.load(Ordering::Relaxed),
                s.window_ms_max.load(Ordering::Relaxed),
                s.ahead_blocks.load(Ordering::Relaxed),
            );
            if let Err(e) = std::fs::write(&file, line) {
                nice_log!(
                    "Netbend: cannot write {}: {e}",
                    std::path::Path::new(&file).display()
                );
            }
        }
        self.path = None;
        self.status.sample_rate.store(0.0, Ordering::Relaxed);
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let samples = buffer.samples();
        if samples == 0 {
            return ProcessStatus::Normal;
        }
        let transport = song_clock::TransportView::of(context.transport());
        let clock = self.timeline.on_block(
            &transport,
            buffer.as_slice_immutable(),
            samples,
            self.path.as_mut().map(|p| (p, &mut self.wet[..])),
            self.latency,
            self.sample_rate,
            &self.status,
        );
        // A new quality mode needs a new latency: reporting it makes the host restart the plugin,
        // and `activate()` then builds the path for the new mode.
        let mode = self.params.mode.value();
        if mode != self.active_mode {
            context.set_latency_samples(self.mode_latencies[mode.index() as usize]);
        }

        // Parameters -> bridge (block rate; the worker reads one snapshot per model window).
        let snapshot = self.snapshot(samples as u32);
        self.writer.publish_if_changed(&self.bridge, &snapshot);

        // Offline rendering waits for the worker: when the host said so, or when it hands over
        // audio faster than real time (an export whose host does not say so; see pace_guard).
        let waited = self
            .path
            .as_mut()
            .map(|p| p.take_waited())
            .unwrap_or_default();
        let ahead = self
            .pace
            .on_block(std::time::Instant::now(), samples, waited);
        if ahead {
            self.status.ahead_blocks.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = self.pace.last_engaged_at() {
                self.status
                    .ahead_engaged_at_plus_one
                    .store(n + 1, Ordering::Relaxed);
            }
        }
        // The voice per block: it sets each output frame's gains and whether windows cut in this
        // block are decoded neutral as well.
        let voice = self.params.voice.smoothed.next_step(samples as u32);
        if let Some(path) = &mut self.path {
            path.set_waiting(self.declared_offline || ahead);
            path.set_voice(voice);
        }

        let bypass_target = if self.params.bypass.value() { 1.0 } else { 0.0 };
        self.bypass.set_target(self.sample_rate, bypass_target);

        let mut guarded = 0u64;
        let mut peak = 0.0f32;
        let channels = buffer.as_slice();
        let used = channels.len().min(self.channels.len());
        // The model path works on a copy: the output stage still needs the input (dry) samples.
        let mut wet_ready = false;
        if let Some(path) = &mut self.path
            && used == self.wet.len()
            && samples <= self.wet[0].len()
        {
            for (w, c) in self.wet.iter_mut().zip(channels.iter()) {
                // Non-finite input would stay in the framer's and resamplers' history; the model
                // path gets silence there instead (the output stage guards the rest).
                for (w, &x) in w[..samples].iter_mut().zip(&c[..samples]) {
                    *w = if x.is_finite() {
                        x.clamp(-MODEL_INPUT_LIMIT, MODEL_INPUT_LIMIT)
                    } else {
                        0.0
                    };
                }
            }
            path.set_clock(clock);
            wet_ready = path.process(&mut self.wet, samples);
        }
        let silence_gate = self.params.silence_gate.value();
        for i in 0..samples {
            let controls = OutputControls {
                wet_amount: self.params.dry_wet.smoothed.next(),
                gain: self.params.output_gain.smoothed.next(),
                bypass: self.bypass.next(),
                silence_gate,
            };
            for ((state, channel), wet) in self.channels[..used]
                .iter_mut()
                .zip(channels.iter_mut())
                .zip(self.wet.iter())
            {
                // Without the model path the wet signal is the latency-compensated dry signal.
                let (out, bad) =
                    state.process(
                        channel[i],
                        controls,
                        |dry| {
                            if wet_ready { wet[i] } else { dry }
                        },
                    );
                channel[i] = out;
                guarded += bad as u64;
                peak = peak.max(out.abs());
            }
        }
        // Channels beyond the stage's state (none with the declared layouts) are silenced.
        for channel in channels.iter_mut().skip(used) {
            channel.fill(0.0);
        }

        if guarded > 0 {
            self.status
                .guard_events
                .fetch_add(guarded, Ordering::Relaxed);
        }
        self.status.output_peak.store(peak, Ordering::Relaxed);
        self.status.blocks.fetch_add(1, Ordering::Relaxed);
        ProcessStatus::Normal
    }
}

impl Netbend {
    /// Stops the worker (main thread) and keeps its runtime for the next activation.
    fn stop_worker(&mut self) {
        self.collector = None;
        if let Some(worker) = self.worker.take()
            && let Some(runtime) = worker.stop()
        {
            let dir = runtime.model().dir().to_path_buf();
            self.runtime = Some((dir, runtime));
        }
    }

    /// Loads the model (or reuses the loaded one), builds the model path and starts the worker.
    /// The error is the reason shown in the editor.
    fn start_model_path(
        &mut self,
        host_rate: u32,
        channels: usize,
        max_block: usize,
        offline: bool,
    ) -> Result<(), String> {
        let name = self.params.model_name();
        let dir = find_model(&name)?;
        let mut runtime = match self.runtime.take() {
            Some((loaded, runtime)) if loaded == dir => runtime,
            _ => load_runtime(&dir)?,
        };
        self.loaded_model
            .set(Some(Arc::new(ModelSummary::of(runtime.model(), &name))));
        let signal = model_catalog::plugin_signal(runtime.model())?;
        // ONNX Runtime allocates and tunes on a session's first run: do that here, not in the
        // worker's first window (which would miss its deadline).
        let silence = ndarray::Array3::<f32>::zeros((1, signal.window, signal.bins));
        runtime
            .autoencode(silence.view())
            .map_err(|e| format!("the model cannot run: {e}; passing dry audio"))?;
        let setup = PathSetup {
            host_rate,
            channels,
            max_block,
            schedule: model_path::schedule_for(self.params.mode.value(), signal.window),
            norm: signal.norm,
            bins: signal.bins,
            offline,
        };
        let (mut path, ends) =
            ModelPath::new(&setup, self.status.clone()).map_err(|e| e.to_string())?;
        self.spectrum.install(Some(path.publish_spectrum()));
        // A new activation starts a new clip (the stream before it may be unrelated audio).
        let history = self.clip.history();
        history.clear();
        let (capture, collector) = clip_capture::Collector::start(history)
            .map_err(|e| format!("cannot start the clip collector thread: {e}"))?;
        path.set_capture(capture);
        self.collector = Some(collector);
        let extra_delay = std::env::var(WORKER_DELAY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(std::time::Duration::from_millis)
            .unwrap_or_default();
        let link = WorkerLink {
            jobs: ends.jobs,
            results: ends.results,
            window: signal.window,
            bins: signal.bins,
            extra_delay,
            clip_clusters: Some(self.params.clip_clusters.clone()),
        };
        let worker = WorkerHandle::spawn(runtime, self.bridge.clone(), self.status.clone(), link)
            .map_err(|e| format!("cannot start the model thread: {e}"))?;
        self.worker = Some(worker);
        self.path = Some(path);
        Ok(())
    }
}

/// Loads a model and its ONNX Runtime sessions (main thread, before the worker starts).
fn load_runtime(dir: &std::path::Path) -> Result<engine::Runtime, String> {
    let model = engine::Model::load(dir).map_err(|e| e.to_string())?;
    engine::Runtime::new(model, &runtime_options()).map_err(|e| format!("{e}; passing dry audio"))
}

impl ClapPlugin for Netbend {
    const CLAP_ID: &'static str = "org.netbend.netbend";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Network bending for sound: bends a spectrogram VAE's activations in real time");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Glitch,
    ];
}

impl Vst3Plugin for Netbend {
    const VST3_CLASS_ID: [u8; 16] = *b"NetbendBendFx001";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Distortion];
}

nice_export_clap!(Netbend);
nice_export_vst3!(Netbend);
