//! A small CLAP host built on clack-host (a host no one here wrote the CLAP side of): loads the
//! Netbend .clap, lists its parameters, activates it, and processes audio with parameter events.
//!
//! The plugin binary is `NETBEND_CLAP` if set (e.g. `target/bundled/Netbend.clap`), else the
//! cdylib that `cargo test` builds next to the test binary (`target/<profile>/deps/libnetbend.so`).

#![allow(dead_code)]

pub mod parity;
mod render;
#[allow(unused_imports)] // each test binary uses some of them
pub use render::{Pacer, delayed, json_state, render, render_paced, state_json};

use clack_extensions::gui::{GuiSize, HostGui, HostGuiImpl};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamInfoFlags, ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub const PLUGIN_ID: &std::ffi::CStr = c"org.netbend.netbend";

pub struct TestHost;

pub struct TestShared {
    callback_requested: Arc<AtomicBool>,
}

impl<'a> SharedHandler<'a> for TestShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// No-op host side of the gui extension: the plugin's gui create() needs it registered.
impl HostGuiImpl for TestShared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

impl HostParamsImplShared for TestShared {
    fn request_flush(&self) {}
}

pub struct TestMainThread;

impl<'a> MainThreadHandler<'a> for TestMainThread {}

impl HostParamsImplMainThread for TestMainThread {
    fn rescan(&self, _flags: ParamRescanFlags) {}
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostStateImpl for TestMainThread {
    fn mark_dirty(&self) {}
}

impl HostLatencyImpl for TestMainThread {
    fn changed(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestShared;
    type MainThread<'a> = TestMainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostGui>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostLatency>();
    }
}

/// Serialises the tests of one test binary: a real host creates and drives its plugins from one
/// main thread, while the test harness would otherwise run several hosts on several threads at
/// once, which CLAP does not allow.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The model the plugin finds as its default (read by the plugin at activation): the tiny test
/// model, another directory, or `None` for a directory without a model (the dry fallback).
/// Callers hold [`serial`], so no other test thread reads the environment meanwhile.
pub fn use_model(dir: Option<&std::path::Path>) {
    let value = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join("netbend-no-model-here"),
    };
    // SAFETY: tests of one binary are serialised by `serial()`, and the plugin reads the variable
    // only on the thread that activates it (this one).
    unsafe { std::env::set_var("NETBEND_MODEL_DIR", value) };
}

/// Makes the plugin's model worker take `ms` extra milliseconds per window (read when the plugin
/// activates): a machine too slow for the model. `None` restores normal speed.
pub fn set_worker_delay(ms: Option<u64>) {
    // SAFETY: as in `use_model`.
    unsafe {
        match ms {
            Some(ms) => std::env::set_var("NETBEND_WORKER_DELAY_MS", ms.to_string()),
            None => std::env::remove_var("NETBEND_WORKER_DELAY_MS"),
        }
    }
}

pub use netbend_test_support::{test_data, workspace_root};

pub fn tiny_model() -> PathBuf {
    test_data("tiny-vae")
}

/// The shipped default model (the random-weight test model's output hardly depends on its
/// layers).
pub fn shipped_model() -> PathBuf {
    workspace_root().join("models/vae")
}

/// The plugin with `model` as its default, processing offline (every window waits for the model,
/// so the output does not depend on the machine's speed). Callers hold [`serial`].
pub fn load_offline(model: &std::path::Path) -> LoadedPlugin {
    use_model(Some(model));
    let mut plugin = LoadedPlugin::load();
    plugin.set_offline(true);
    plugin
}

/// Path of the plugin binary under test.
pub fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("NETBEND_CLAP") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    let candidates = [
        deps.join("libnetbend.so"),
        deps.parent().unwrap().join("libnetbend.so"),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| panic!("no libnetbend.so in {candidates:?}; set NETBEND_CLAP"))
}

/// One parameter as the host sees it.
#[derive(Debug, Clone)]
pub struct ParamDesc {
    pub id: ClapId,
    pub name: String,
    pub module: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    pub flags: ParamInfoFlags,
}

pub struct LoadedPlugin {
    pub entry: PluginEntry,
    pub instance: PluginInstance<TestHost>,
    callback_requested: Arc<AtomicBool>,
}

impl LoadedPlugin {
    /// Loads the plugin library and instantiates the plugin. Dropping the `LoadedPlugin`
    /// unloads the library again (dlclose), as a host does when it closes a project; the
    /// library is linked NODELETE so that threads which ran its code can end afterwards
    /// (plugin/build.rs, tests/unload.rs).
    pub fn load() -> Self {
        let path = plugin_path();
        // SAFETY: loading a CLAP plugin runs its code; this is the plugin under test.
        let entry = unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("loading {}: {e:?}", path.display()));
        Self::from_entry(entry)
    }

    pub fn from_entry(entry: PluginEntry) -> Self {
        let host_info = HostInfo::new(
            "netbend-test-host",
            "Netbend",
            "https://netbend.invalid",
            "0.1",
        )
        .unwrap();
        let callback_requested = Arc::new(AtomicBool::new(false));
        let flag = callback_requested.clone();
        let instance = PluginInstance::<TestHost>::new(
            move |_| TestShared {
                callback_requested: flag,
            },
            |_| TestMainThread,
            &entry,
            PLUGIN_ID,
            &host_info,
        )
        .expect("instantiating Netbend");
        Self {
            entry,
            instance,
            callback_requested,
        }
    }

    /// Runs the plugin's main-thread callback if it asked for one (a real host does this from
    /// its event loop).
    pub fn pump_main_thread(&mut self) {
        if self.callback_requested.swap(false, Ordering::SeqCst) {
            self.instance.call_on_main_thread_callback();
        }
    }

    pub fn descriptor_name(&self) -> String {
        let factory = self.entry.get_plugin_factory().expect("plugin factory");
        let d = factory
            .plugin_descriptors()
            .find(|d| d.id().map(|id| id == PLUGIN_ID).unwrap_or(false))
            .expect("Netbend descriptor");
        d.name().unwrap().to_string_lossy().into_owned()
    }

    pub fn params(&mut self) -> Vec<ParamDesc> {
        let handle = self.instance.plugin_handle();
        let ext: PluginParams = handle.get_extension().expect("params extension");
        let count = ext.count(&handle);
        let mut out = Vec::new();
        let mut buffer = ParamInfoBuffer::new();
        for i in 0..count {
            let info = ext.get_info(&handle, i, &mut buffer).expect("param info");
            out.push(ParamDesc {
                id: info.id,
                name: String::from_utf8_lossy(info.name).into_owned(),
                module: String::from_utf8_lossy(info.module).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
                flags: info.flags,
            });
        }
        out
    }

    pub fn param(&mut self, name: &str) -> ParamDesc {
        self.params()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no parameter named {name:?}"))
    }

    pub fn get_value(&mut self, id: ClapId) -> f64 {
        let handle = self.instance.plugin_handle();
        let ext: PluginParams = handle.get_extension().expect("params extension");
        ext.get_value(&handle, id).expect("param value")
    }

    /// The plugin's own parser: the CLAP value for a display text like "-6" (dB) or "25" (%).
    pub fn text_to_value(&mut self, id: ClapId, text: &str) -> f64 {
        let handle = self.instance.plugin_handle();
        let ext: PluginParams = handle.get_extension().expect("params extension");
        let text = CString::new(text).unwrap();
        ext.text_to_value(&handle, id, &text)
            .unwrap_or_else(|| panic!("plugin could not parse {text:?}"))
    }

    pub fn value_to_text(&mut self, id: ClapId, value: f64) -> String {
        let handle = self.instance.plugin_handle();
        let ext: PluginParams = handle.get_extension().expect("params extension");
        let mut buf = [0u8; 256];
        let text = ext
            .value_to_text(&handle, id, value, &mut buf)
            .expect("value_to_text");
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        String::from_utf8_lossy(&text[..end]).into_owned()
    }

    /// Audio port configurations as (id, main input channels, main output channels).
    pub fn port_configs(&mut self) -> Vec<(ClapId, u32, u32)> {
        use clack_extensions::audio_ports_config::{
            AudioPortsConfigBuffer, PluginAudioPortsConfig,
        };
        let handle = self.instance.plugin_handle();
        let ext: PluginAudioPortsConfig = handle.get_extension().expect("audio-ports-config");
        let mut buffer = AudioPortsConfigBuffer::new();
        (0..ext.count(&handle))
            .map(|i| {
                let c = ext.get(&handle, i, &mut buffer).expect("config");
                let channels = |p: Option<clack_extensions::audio_ports_config::MainPortInfo>| {
                    p.map(|p| p.channel_count).unwrap_or(0)
                };
                (c.id, channels(c.main_input), channels(c.main_output))
            })
            .collect()
    }

    /// Selects an audio port configuration (the plugin must be inactive).
    pub fn select_port_config(&mut self, id: ClapId) {
        use clack_extensions::audio_ports_config::PluginAudioPortsConfig;
        let handle = self.instance.plugin_handle();
        let ext: PluginAudioPortsConfig = handle.get_extension().expect("audio-ports-config");
        ext.select(&handle, id).expect("select config");
    }

    /// Tells the plugin the host renders offline (CLAP render extension): the plugin may then
    /// wait for its model instead of missing deadlines. Call before `activate`.
    pub fn set_offline(&mut self, offline: bool) {
        use clack_extensions::render::{PluginRender, RenderMode};
        let handle = self.instance.plugin_handle();
        let ext: PluginRender = handle.get_extension().expect("render extension");
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        ext.set(&handle, mode).expect("render mode");
    }

    pub fn latency(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        let ext: PluginLatency = handle.get_extension().expect("latency extension");
        ext.get(&handle)
    }

    pub fn save_state(&mut self) -> Vec<u8> {
        let handle = self.instance.plugin_handle();
        let ext: PluginState = handle.get_extension().expect("state extension");
        let mut bytes = Vec::new();
        ext.save(&handle, &mut bytes).expect("state save");
        bytes
    }

    pub fn load_state(&mut self, bytes: &[u8]) {
        let handle = self.instance.plugin_handle();
        let ext: PluginState = handle.get_extension().expect("state extension");
        let mut reader = bytes;
        ext.load(&handle, &mut reader).expect("state load");
    }

    pub fn activate(&mut self, sample_rate: f64, max_frames: u32) -> Processor {
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: max_frames,
        };
        let stopped = self.instance.activate(|_, _| (), config).expect("activate");
        let processor = stopped.start_processing().expect("start processing");
        Processor {
            processor: Some(processor),
            input_ports: AudioPorts::with_capacity(2, 1),
            output_ports: AudioPorts::with_capacity(2, 1),
            output_events: EventBuffer::with_capacity(64),
            steady_time: 0,
            transport: None,
        }
    }
}

/// A started audio processor plus the host's buffers.
pub struct Processor {
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    output_events: EventBuffer,
    steady_time: u64,
    /// The host transport given with every block (none: the host has no transport).
    transport: Option<clack_host::events::event_types::TransportEvent>,
}

/// A parameter change at a sample offset within a block.
#[derive(Debug, Clone, Copy)]
pub struct ParamChange {
    pub time: u32,
    pub id: ClapId,
    pub value: f64,
}

impl ParamChange {
    /// A change at the start of its block.
    pub fn new(id: ClapId, value: f64) -> ParamChange {
        ParamChange { time: 0, id, value }
    }
}

impl Processor {
    /// Processes one block: `input[ch]` and `output[ch]` have the block's length (1 or 2 channels).
    pub fn process(
        &mut self,
        input: &mut [Vec<f32>],
        output: &mut [Vec<f32>],
        changes: &[ParamChange],
    ) {
        let mut events = EventBuffer::with_capacity(changes.len());
        for c in changes {
            events.push(&ParamValueEvent::new(
                c.time,
                c.id,
                Pckn::match_all(),
                c.value,
            ));
        }
        self.process_events(input, output, &events);
    }

    /// Like [`Processor::process`] with a prepared event buffer (no allocation by the host).
    pub fn process_events(
        &mut self,
        input: &mut [Vec<f32>],
        output: &mut [Vec<f32>],
        events: &EventBuffer,
    ) {
        let frames = input[0].len() as u64;
        let processor = self.processor.as_mut().expect("processor");
        let input_audio = self.input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                input
                    .iter_mut()
                    .map(|b| InputChannel::variable(b.as_mut_slice())),
            ),
        }]);
        let mut output_audio = self.output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                output.iter_mut().map(|b| b.as_mut_slice()),
            ),
        }]);
        self.output_events.clear();
        let input_events = InputEvents::from_buffer(events);
        let mut output_events = OutputEvents::from_buffer(&mut self.output_events);
        processor
            .process(
                &input_audio,
                &mut output_audio,
                &input_events,
                &mut output_events,
                Some(self.steady_time),
                self.transport.as_ref(),
            )
            .expect("process");
        self.steady_time += frames;
    }

    /// From the next block on, the host's transport is at `seconds` on its timeline (a seconds
    /// timeline only), rolling or stopped; `None`: no transport at all.
    pub fn set_transport(&mut self, at: Option<(f64, bool)>) {
        use clack_host::events::event_types::TransportFlags;
        self.transport = at.map(|(seconds, playing)| {
            let mut flags = TransportFlags::HAS_SECONDS_TIMELINE;
            flags.set(TransportFlags::IS_PLAYING, playing);
            transport_event(flags, seconds, 120.0)
        });
    }

    /// From the next block on, the host's transport rolls at `(seconds, bpm)` in 4/4 with both
    /// timelines (beats = seconds * bpm / 60) and its tempo; `None`: no transport at all.
    pub fn set_song_transport(&mut self, at: Option<(f64, f64)>) {
        use clack_host::events::event_types::TransportFlags;
        self.transport = at.map(|(seconds, bpm)| {
            let flags = TransportFlags::HAS_SECONDS_TIMELINE
                | TransportFlags::HAS_BEATS_TIMELINE
                | TransportFlags::HAS_TEMPO
                | TransportFlags::HAS_TIME_SIGNATURE
                | TransportFlags::IS_PLAYING;
            transport_event(flags, seconds, bpm)
        });
    }

    /// Stops processing and deactivates the plugin.
    pub fn finish(mut self, plugin: &mut LoadedPlugin) {
        let stopped = self.processor.take().unwrap().stop_processing();
        plugin.instance.deactivate(stopped);
    }
}

/// A CLAP transport in 4/4 at `seconds` (and `seconds * bpm / 60` beats) at tempo `bpm`, with no
/// loop; `flags` say which of it the host claims to know and whether it rolls.
fn transport_event(
    flags: clack_host::events::event_types::TransportFlags,
    seconds: f64,
    bpm: f64,
) -> clack_host::events::event_types::TransportEvent {
    use clack_host::utils::{BeatTime, SecondsTime};
    clack_host::events::event_types::TransportEvent {
        header: Default::default(),
        flags,
        song_pos_beats: BeatTime::from_float(seconds * bpm / 60.0),
        song_pos_seconds: SecondsTime::from_float(seconds),
        tempo: bpm,
        tempo_inc: 0.0,
        loop_start_beats: Default::default(),
        loop_end_beats: Default::default(),
        loop_start_seconds: Default::default(),
        loop_end_seconds: Default::default(),
        bar_start: Default::default(),
        bar_number: 0,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}
