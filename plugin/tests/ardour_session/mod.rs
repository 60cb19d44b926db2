//! Driving headless Ardour 7 (`ardour7-lua`, Dummy backend) for `ardour.rs`: a session with the
//! drum break on a mono track and the Netbend VST3 on it, exports, and a real-time take.
//!
//! What Ardour 7.3 allows from Lua (platform notes): it reads only its plugin cache (so its own
//! VST3 scanner runs first, with `XDG_CONFIG_HOME`/`XDG_CACHE_HOME` in the session's temporary
//! directory to keep a user's setup out); it has no file import, so a silent region of the right
//! length is made with `Track:bounce_range` and the drum break is written into its float WAV
//! source; one export per process.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A plugin parameter to set, by the name Ardour lists, in the plain units Ardour shows it in
/// (see `ardour.rs`: not the VST3 normalised 0..1).
pub struct SlotSetting {
    pub name: String,
    pub plain: f64,
}

/// An export's left channel (the track is mono, on the master's first input) and the plugin's
/// counters for the whole Ardour run.
pub struct Export {
    pub left: Vec<f32>,
    pub stats: String,
}

/// A parameter as Ardour describes it: its control index and range.
struct Param {
    index: usize,
    name: String,
    lower: f64,
    upper: f64,
}

pub struct Session {
    /// One Ardour session at a time: the tests of a binary run in parallel, and two DAWs
    /// rendering at once would share the 2 cores (and the real-time take would miss windows).
    _serial: std::sync::MutexGuard<'static, ()>,
    dir: PathBuf,
    bundle_dir: PathBuf,
    params: Vec<Param>,
    latency: usize,
    len: usize,
}

const EXPORT_PRESET_ID: &str = "6e2f4d7a-1b3c-4e5f-9a8b-7c6d5e4f3a2b";

/// 32-bit float WAV at the session rate (Ardour's own "BWAV 32float Export" format), named by
/// its label.
fn export_preset() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ExportPreset id="{EXPORT_PRESET_ID}" name="Netbend test float WAV">
  <ExportFormat id="20b4ab09-6452-4cb3-bd66-b921cdbd2942"/>
  <ExportFilename>
    <Folder relative="1" path="export"/>
    <Field name="label" enabled="1"/>
    <Field name="session" enabled="0"/>
    <Field name="snapshot" enabled="0"/>
    <Field name="timespan" enabled="0"/>
    <Field name="revision" enabled="0"/>
    <Field name="time" enabled="0" value="T_None"/>
    <Field name="date" enabled="0" value="D_None"/>
  </ExportFilename>
</ExportPreset>
"#
    )
}

impl Session {
    /// Scans the bundle, makes the session and writes `input` into the track's region.
    pub fn create(bundle: &Path, input: &[f32]) -> Session {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        // A test that failed holding the lock leaves it poisoned; the next one still runs.
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("netbend-ardour-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("config/ardour7/export")).unwrap();
        std::fs::write(
            dir.join("config/ardour7/export/netbend-test.preset"),
            export_preset(),
        )
        .unwrap();
        let bundle_dir = bundle.parent().unwrap().to_path_buf();
        let mut session = Session {
            _serial: serial,
            dir,
            bundle_dir,
            params: Vec::new(),
            latency: 0,
            len: input.len(),
        };
        let scan = session
            .command("/usr/lib/ardour7/ardour-vst3-scanner")
            // The scanner links Ardour's private libraries, which `ardour7-lua`'s wrapper finds.
            .env("LD_LIBRARY_PATH", "/usr/lib/ardour7")
            .arg("-f")
            .arg(bundle)
            .output()
            .expect("ardour-vst3-scanner");
        assert!(
            scan.status.success(),
            "ardour-vst3-scanner: {}",
            String::from_utf8_lossy(&scan.stderr)
        );
        let out = session.lua(&format!(
            "{}\n{}",
            session.prelude(),
            SETUP.replace("@LEN@", &input.len().to_string())
        ));
        for line in out.lines() {
            let words: Vec<&str> = line.split('\t').collect();
            match words[..] {
                ["PARAM", index, lower, upper, name] => session.params.push(Param {
                    index: index.parse().unwrap(),
                    name: name.to_string(),
                    lower: lower.parse().unwrap(),
                    upper: upper.parse().unwrap(),
                }),
                ["LATENCY", l] => session.latency = l.parse().unwrap(),
                _ => {}
            }
        }
        assert!(
            session.params.len() > 100,
            "Ardour listed {} parameters:\n{out}",
            session.params.len()
        );
        let source = find_source(&session.dir.join("session"), "src")
            .unwrap_or_else(|| panic!("no region source in the session:\n{out}"));
        write_float_wav_data(&source, input);
        session
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn latency(&self) -> usize {
        self.latency
    }

    pub fn param_names(&self) -> Vec<String> {
        self.params.iter().map(|p| p.name.clone()).collect()
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env_remove("NETBEND_MODEL_DIR");
        c
    }

    fn prelude(&self) -> String {
        format!(
            "ARDOUR.config():set_plugin_path_vst3(\"{}\")\n\
             AudioEngine:set_backend(\"None (Dummy)\", \"\", \"\")\n\
             SESSION_DIR = \"{}\"\n",
            self.bundle_dir.display(),
            self.dir.join("session").display()
        )
    }

    /// Runs a Lua script; returns its stdout (panics with the output if Ardour fails).
    fn lua(&self, script: &str) -> String {
        let (ok, out) = self.try_lua(script, None);
        assert!(ok, "ardour7-lua failed:\n{out}");
        out
    }

    fn try_lua(&self, script: &str, stats: Option<&Path>) -> (bool, String) {
        let file = self.dir.join("script.lua");
        std::fs::write(&file, script).unwrap();
        let mut command = self.command("timeout");
        command.arg("180").arg("ardour7-lua").arg(&file);
        if let Some(stats) = stats {
            command.env(netbend::STATS_ENV, stats);
        }
        let out = command.output().expect("ardour7-lua");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Lua lines setting each parameter (and, optionally, automating one from its setting to
    /// `to` at sample `at`), each read back and printed as `SET name value`: Ardour stores what
    /// the plugin's `plainParamToNormalized` made of it, so a value the plugin does not take
    /// shows up there.
    fn settings_lua(
        &self,
        settings: &[SlotSetting],
        automate: Option<(&str, usize, f64)>,
    ) -> String {
        let mut lua = String::new();
        for s in settings {
            let p = self.param(&s.name);
            lua += &format!(
                "assert(ARDOUR.LuaAPI.set_processor_param(P, {i}, {v:?}), \"{n}\")\n\
                 print(string.format(\"SET\\t%s\\t%.9g\", \"{n}\", ARDOUR.LuaAPI.get_processor_param(P, {i})))\n",
                i = p.index,
                v = s.plain,
                n = s.name
            );
        }
        if let Some((name, at, to)) = automate {
            let p = self.param(name);
            let from = settings
                .iter()
                .find(|s| s.name == name)
                .map_or(p.upper, |s| s.plain);
            assert!(
                (p.lower..=p.upper).contains(&to),
                "{name}: {to} out of range"
            );
            // A step, not a ramp: 7.3 keeps plugin automation in beat time and merges a point one
            // sample before the step into it (the list then ramped from 0 to the step), so the
            // list is made discrete; the Lua asserts the values on both sides of the step.
            lua += &format!(
                "local al, cl, pd = ARDOUR.LuaAPI.plugin_automation(P, {i})\n\
                 cl:set_interpolation(Evoral.InterpolationStyle.Discrete)\n\
                 cl:add(Temporal.timepos_t(0), {from:?}, false, false)\n\
                 cl:add(Temporal.timepos_t({at}), {to:?}, false, false)\n\
                 assert(cl:eval(Temporal.timepos_t({before})) == {from:?}, \"automation before the step\")\n\
                 assert(cl:eval(Temporal.timepos_t({at})) == {to:?}, \"automation at the step\")\n\
                 local ac = P:to_automatable():automation_control(Evoral.Parameter(ARDOUR.AutomationType.PluginAutomation, 0, {i}), false)\n\
                 ac:set_automation_state(ARDOUR.AutoState.Play)\n\
                 assert(ac:automation_state() == ARDOUR.AutoState.Play, \"automation state\")\n",
                i = p.index,
                before = at - 1,
            );
        }
        lua
    }

    /// Asserts that every setting reads back from Ardour as set (to f32 precision: a VST3
    /// parameter travels as a float through nice-plug's conversions).
    fn check_read_back(&self, settings: &[SlotSetting], out: &str) {
        for s in settings {
            let got = out
                .lines()
                .filter_map(|l| l.strip_prefix("SET\t"))
                .filter_map(|l| l.split_once('\t'))
                .find(|(n, _)| *n == s.name)
                .map(|(_, v)| v.trim().parse::<f64>().unwrap());
            let got = got.unwrap_or_else(|| panic!("{} not read back:\n{}", s.name, tail(out, 20)));
            assert!(
                (got - s.plain).abs() <= 1e-5 * s.plain.abs().max(1.0),
                "Ardour holds {got} for {} set to {}",
                s.name,
                s.plain
            );
        }
    }

    fn param(&self, name: &str) -> &Param {
        self.params
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("Ardour lists no parameter {name:?}"))
    }

    /// Exports the session (master, float WAV) with `settings`, retrying a run whose export file
    /// is missing (Ardour 7.3 sometimes crashes at teardown).
    pub fn export(
        &self,
        label: &str,
        settings: &[SlotSetting],
        automate: Option<(&str, usize, f64)>,
    ) -> Export {
        // Ardour names the file itself: one folder per export, holding one file.
        let folder = self.dir.join("exports").join(label);
        let exported = || -> Option<PathBuf> {
            let list = std::fs::read_dir(&folder).ok()?;
            list.flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "wav"))
        };
        let stats = self.dir.join(format!("{label}.stats"));
        let script = format!(
            "{}{}\n{}\n{}",
            self.prelude(),
            LOAD,
            self.settings_lua(settings, automate),
            EXPORT
                .replace("@LABEL@", label)
                .replace("@FOLDER@", &folder.display().to_string())
                .replace("@LEN@", &self.len.to_string())
                .replace("@PRESET@", EXPORT_PRESET_ID)
        );
        for attempt in 1..=3 {
            let _ = std::fs::remove_dir_all(&folder);
            std::fs::create_dir_all(&folder).unwrap();
            let _ = std::fs::remove_file(&stats);
            let (ok, out) = self.try_lua(&script, Some(&stats));
            if out.contains("SET\t") {
                self.check_read_back(settings, &out);
            }
            if let Some(file) = exported() {
                match dsp::read_audio(&file) {
                    Ok(audio) => {
                        if !ok {
                            eprintln!(
                                "note: Ardour exited with an error after writing the {label} export"
                            );
                        }
                        let stats = std::fs::read_to_string(&stats).unwrap_or_default();
                        return Export {
                            left: audio.channels[0].clone(),
                            stats: stats.trim().to_string(),
                        };
                    }
                    // A crash before Ardour finished the file (its header still says 0 frames):
                    // the same teardown crash as a missing file. A clean exit with a file that
                    // cannot be read is a failure.
                    Err(e) if !ok => eprintln!(
                        "note: Ardour run {attempt} for export {label} crashed before finishing \
                         its file ({e}); retrying. Its output ends:\n{}",
                        tail(&out, 12)
                    ),
                    Err(e) => panic!(
                        "Ardour exited cleanly but its {label} export {} cannot be read: {e}",
                        file.display()
                    ),
                }
                continue;
            }
            eprintln!(
                "note: Ardour run {attempt} for export {label} wrote no file (7.3's headless \
                 export sometimes crashes at teardown); retrying. Its output ends:\n{}",
                tail(&out, 12)
            );
        }
        panic!("three Ardour runs wrote no export {label}");
    }

    /// Records the track's output in real time on a second track while the transport rolls over
    /// the region, and returns the take (aligned by Ardour's latency compensation).
    pub fn record_take(&self, settings: &[SlotSetting], len: usize) -> (Vec<f32>, String) {
        let stats = self.dir.join("take.stats");
        let seconds = len as f64 / 44_100.0 + 1.0;
        let script = format!(
            "{}{}\n{}\n{}",
            self.prelude(),
            LOAD,
            self.settings_lua(settings, None),
            RECORD.replace("@MICROS@", &((seconds * 1e6) as u64).to_string())
        );
        let (_, out) = self.try_lua(&script, Some(&stats));
        self.check_read_back(settings, &out);
        let take = find_source(&self.dir.join("session"), "take")
            .unwrap_or_else(|| panic!("no recorded take:\n{}", tail(&out, 30)));
        let audio = dsp::read_audio(&take).unwrap();
        let stats = std::fs::read_to_string(&stats).unwrap_or_default();
        (audio.channels[0].clone(), stats.trim().to_string())
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The first `.wav` under the session's audio files whose name contains `prefix` (Ardour 7.3
/// names a take `Take1_<track>-1.wav`).
fn find_source(session: &Path, prefix: &str) -> Option<PathBuf> {
    let interchange = session.join("interchange");
    for entry in std::fs::read_dir(interchange).ok()?.flatten() {
        let files = entry.path().join("audiofiles");
        let Ok(list) = std::fs::read_dir(&files) else {
            continue;
        };
        let mut found: Vec<PathBuf> = list
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(prefix))
            })
            .collect();
        found.sort();
        if let Some(first) = found.into_iter().next() {
            return Some(first);
        }
    }
    None
}

/// Overwrites the samples of a mono 32-bit float WAV that holds exactly `samples.len()` frames.
fn write_float_wav_data(path: &Path, samples: &[f32]) {
    let mut bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"RIFF", "{}", path.display());
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            assert_eq!(
                size,
                samples.len() * 4,
                "the region's source is not mono float"
            );
            for (chunk, v) in bytes[at + 8..at + 8 + size].chunks_mut(4).zip(samples) {
                chunk.copy_from_slice(&v.to_le_bytes());
            }
            std::fs::write(path, bytes).unwrap();
            return;
        }
        at += 8 + size + (size & 1);
    }
    panic!("no data chunk in {}", path.display());
}

/// `netbend render --layout plugin-default --config CONFIG` (the bundle's model, one ONNX
/// Runtime thread) of what the plugin heard: `lead` samples of silence, then `input`. The plugin
/// cuts its model windows from the first sample it processes after activation, so the same
/// windows need the same silence in front; returns the `input.len()` samples after the lead.
pub fn render_cli(model: &Path, config: &Path, dir: &Path, input: &[f32], lead: usize) -> Vec<f32> {
    render_cli_with(model, config, dir, input, lead, &[])
}

/// [`render_cli`] with more `netbend render` arguments (e.g. `--bpm`).
pub fn render_cli_with(
    model: &Path,
    config: &Path,
    dir: &Path,
    input: &[f32],
    lead: usize,
    extra: &[&str],
) -> Vec<f32> {
    let padded: Vec<f32> = std::iter::repeat_n(0.0, lead)
        .chain(input.iter().copied())
        .collect();
    let path = dir.join(format!("cli-in-{lead}.wav"));
    let audio = dsp::AudioData {
        channels: vec![padded],
        sample_rate: 44_100,
    };
    dsp::write_wav(&path, &audio).unwrap();
    let out = dir.join(format!("cli-out-{lead}.wav"));
    let config = config.to_str().unwrap();
    let mut args = vec!["--layout", "plugin-default", "--config", config];
    args.extend_from_slice(extra);
    let rendered = crate::common::parity::render_cli(model, &path, &out, &args).remove(0);
    rendered[lead..lead + input.len()].to_vec()
}

/// The timeline position where the plugin's window grid started in a run (`grid_origin=` in
/// its stats line): the plugin's first sample after its last activation.
pub fn grid_origin(stats: &str) -> i64 {
    stats
        .split_whitespace()
        .find_map(|w| w.strip_prefix("grid_origin="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no grid origin in the plugin's stats: {stats:?}"))
}

/// Creates the session: a mono track (one output, on the master's first input) with a silent
/// region of `@LEN@` samples and Netbend first in its chain; lists the plugin's parameters.
const SETUP: &str = r#"
local s = create_session(SESSION_DIR, "session", 44100)
assert(s, "create_session")
local t = s:new_audio_track(1, 1, nil, 1, "drums", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front()
local reg = t:bounce_range(0, @LEN@, ARDOUR.InterThreadInfo(), t:main_outs(), false, "src")
assert(not reg:isnil(), "bounce_range")
reg:to_audioregion():set_fade_in_active(false)
reg:to_audioregion():set_fade_out_active(false)
t:playlist():add_region(reg, Temporal.timepos_t(0), 1, false, 0, 0, false)
local p = ARDOUR.LuaAPI.new_plugin(s, "Netbend", ARDOUR.PluginType.VST3, "")
assert(not p:isnil(), "Ardour did not find the Netbend VST3")
assert(t:add_processor_by_index(p, 0, nil, true) == 0, "add_processor")
local plug = p:to_insert():plugin(0)
local i = 0
while true do
  local ok, al, cl, pd = pcall(ARDOUR.LuaAPI.plugin_automation, p, i)
  if not ok then break end
  print(string.format("PARAM\t%d\t%.17g\t%.17g\t%s", i, pd.lower, pd.upper, pd.label))
  i = i + 1
end
ARDOUR.LuaAPI.usleep(300000)
print(string.format("LATENCY\t%d", p:signal_latency()))
s:save_state("", false, false, false, false, false)
close_session()
"#;

const LOAD: &str = r#"
local s = load_session(SESSION_DIR, "session")
assert(s, "load_session")
local t = s:route_by_name("drums")
P = t:nth_plugin(0)
assert(not P:isnil(), "no plugin on the track")
"#;

const EXPORT: &str = r#"
ARDOUR.LuaAPI.usleep(500000)
local e = s:simple_export()
e:set_name("@LABEL@")
e:set_folder("@FOLDER@")
e:set_range(0, @LEN@)
assert(e:set_preset("@PRESET@"), "export preset")
assert(e:run_export(), "export")
print("EXPORTED")
close_session()
"#;

/// A second track records the first one's output while the transport rolls in real time.
const RECORD: &str = r#"
local take = s:new_audio_track(1, 1, nil, 1, "take", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front()
take:input():disconnect_all(nil)
take:input():audio(0):connect(t:output():audio(0):name())
take:output():disconnect_all(nil)
take:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup)
ARDOUR.LuaAPI.usleep(500000)
s:maybe_enable_record(false)
s:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(500000)
s:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(@MICROS@)
s:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep(1000000)
s:save_state("", false, false, false, false, false)
print("RECORDED")
close_session()
"#;
