//! Netbend, the real-time network bending effect (VST3 + CLAP, nice-plug, egui editor).
//!
//! This is the plugin shell: parameters ([`params`]), the lock-free parameter bridge to the
//! future model worker ([`bridge`]), the output stage ([`safety`]) and the editor ([`editor`]).
//! The model path (STFT framer -> worker thread -> ONNX -> resynthesis) is not connected yet:
//! the wet signal is the dry signal delayed by the reported latency (0 samples for now).

pub mod bridge;
pub mod editor;
pub mod params;
pub mod safety;

use bridge::{BendBridge, BendSnapshot, BridgeWriter, EngineStatus, QualityModeSnapshot};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditor, EguiEditorState, EguiNiceSettings, RepaintNotifier};
use params::{NetbendParams, SlotParams, Transform};
use safety::{ChannelOutput, OutputControls};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Channels the output stage keeps state for (stereo at most).
const MAX_CHANNELS: usize = 2;
/// Capacity of the latency-compensation delay, in seconds of host audio.
const MAX_LATENCY_SECONDS: f32 = 1.0;
/// Length of the bypass cross-fade.
const BYPASS_FADE_MS: f32 = 10.0;

pub struct Netbend {
    params: Arc<NetbendParams>,
    bridge: Arc<BendBridge>,
    status: Arc<EngineStatus>,
    editor_state: Arc<EguiEditorState>,
    writer: BridgeWriter,
    channels: Vec<ChannelOutput>,
    bypass: Smoother<f32>,
    sample_rate: f32,
    /// Latency reported to the host, in samples. The model path is not connected, so it is 0.
    latency: u32,
}

impl Default for Netbend {
    fn default() -> Self {
        Self {
            params: Arc::new(NetbendParams::default()),
            bridge: Arc::new(BendBridge::new()),
            status: Arc::new(EngineStatus::default()),
            editor_state: editor::default_state(),
            writer: BridgeWriter::default(),
            channels: Vec::new(),
            bypass: Smoother::new(SmoothingStyle::Linear(BYPASS_FADE_MS)),
            sample_rate: 48_000.0,
            latency: 0,
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

/// One slot's snapshot. Advances every smoother of the slot by `block_len` samples (so that a
/// transform switched to later starts from its current value) and keeps the parameters of the
/// slot's transform.
pub fn slot_snapshot(slot: &SlotParams, block_len: u32) -> bridge::SlotSnapshot {
    let step = |p: &FloatParam| p.smoothed.next_step(block_len);
    let tx = step(&slot.translate_x);
    let ty = step(&slot.translate_y);
    let sx = step(&slot.scale_x);
    let sy = step(&slot.scale_y);
    let rot = step(&slot.rotate);
    let mul = step(&slot.multiply);
    let offset = step(&slot.offset);
    let thresh = step(&slot.threshold);
    let sigma = step(&slot.noise);
    let mix = step(&slot.mix);
    let transform = slot.transform.value();
    let params = match transform {
        Transform::Translate => [tx, ty],
        Transform::Scale => [sx, sy],
        Transform::Rotate => [rot, 0.0],
        Transform::Erode | Transform::Dilate => [slot.radius.value() as f32, 0.0],
        Transform::ScalarMultiply => [mul, 0.0],
        Transform::Offset => [offset, 0.0],
        Transform::BinaryThresh => [thresh, 0.0],
        Transform::Noise => [sigma, 0.0],
        Transform::Shuffle
        | Transform::FlipH
        | Transform::FlipV
        | Transform::Invert
        | Transform::Ablate => [0.0, 0.0],
    };
    bridge::SlotSnapshot {
        enabled: slot.enabled.value(),
        layer: slot.layer.value().clamp(1, params::NUM_LAYERS) as u8,
        transform,
        params,
        selection: slot.selection.value(),
        fraction: slot.fraction.value(),
        seed: slot.seed.value().max(0) as u32,
        cluster: slot.cluster.value().max(0) as u32,
        mix,
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
            editor::NetbendEditor::new(self.params.clone(), self.status.clone()),
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
        let max_latency = (MAX_LATENCY_SECONDS * self.sample_rate).ceil() as usize;
        self.latency = 0;
        self.channels = (0..channels)
            .map(|_| {
                let mut c = ChannelOutput::new(self.sample_rate, max_latency);
                c.dry_delay.set_delay(self.latency as usize);
                c
            })
            .collect();
        context.set_latency_samples(self.latency);
        self.status
            .latency_samples
            .store(self.latency, Ordering::Relaxed);
        self.status
            .sample_rate
            .store(self.sample_rate, Ordering::Relaxed);
        self.status.model_connected.store(false, Ordering::Relaxed);
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
        self.status.sample_rate.store(0.0, Ordering::Relaxed);
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let samples = buffer.samples();
        if samples == 0 {
            return ProcessStatus::Normal;
        }

        // Parameters -> bridge (block rate; the worker reads one snapshot per model window).
        let snapshot = self.snapshot(samples as u32);
        self.writer.publish_if_changed(&self.bridge, &snapshot);

        let bypass_target = if self.params.bypass.value() { 1.0 } else { 0.0 };
        self.bypass.set_target(self.sample_rate, bypass_target);

        let mut guarded = 0u64;
        let mut peak = 0.0f32;
        let channels = buffer.as_slice();
        let used = channels.len().min(self.channels.len());
        for i in 0..samples {
            let controls = OutputControls {
                wet_amount: self.params.dry_wet.smoothed.next(),
                gain: self.params.output_gain.smoothed.next(),
                bypass: self.bypass.next(),
            };
            for (state, channel) in self.channels[..used].iter_mut().zip(channels.iter_mut()) {
                // Model path not connected: the wet signal is the latency-compensated dry signal.
                let (out, bad) = state.process(channel[i], controls, |dry| dry);
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
