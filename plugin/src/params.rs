//! Host parameters: eight bend slots plus the global controls.
//!
//! Every slot is the plugin's form of one bend config entry (docs/bend-graph.md, "From a bend
//! config to the inputs"): enabled, layer, transform, the transform's parameters, a channel
//! selection and a mix. Host parameter names are fixed when the plugin is created (CLAP and VST3
//! hosts read them once), so a slot cannot rename a generic "Param A" when its transform changes.
//! Instead each slot owns one named parameter per transform parameter ("Slot 3 Rotate",
//! "Slot 3 Translate X", ...): automation lanes keep their meaning, the host shows real units, and
//! the editor shows only the controls of the slot's current transform. The bridge
//! ([`crate::bridge`]) reduces them to the config entry's `params` (at most two floats).

pub use crate::motion_params::{ModRate, ModShape, ModTarget, Reroll};
use crate::motion_params::{mod_depth_param, mod_hz_param, mod_phase_param};
use dsp::output_stage::{OUTPUT_GAIN_MAX_DB, OUTPUT_GAIN_MIN_DB};
use nice_plug::prelude::*;
use parking_lot::RwLock;
use std::sync::Arc;

/// Number of bend slots.
pub const NUM_SLOTS: usize = 8;
/// Bendable layers of the spectrogram VAE decoder (docs/bend-graph.md: layers 1..4).
pub const NUM_LAYERS: i32 = 4;
/// Highest cluster index a slot can address. A model's manifest says how many clusters a layer
/// really has; the engine rejects indices past that.
pub const MAX_CLUSTER: i32 = 31;
/// Highest seed value (seeds select random channels, shuffle sources and noise fields).
pub const MAX_SEED: i32 = 9999;
/// The model a fresh instance uses: the one shipped with the plugin.
pub const DEFAULT_MODEL: &str = "default";

/// The bend block's stages, in the block's fixed application order (docs/bend-graph.md). The
/// enum ids are the stage names of the bend-graph interface and the config files, so saved
/// states and automation refer to stages by their stable names.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    #[id = "shuffle"]
    #[name = "Shuffle"]
    Shuffle,
    #[id = "translate"]
    #[name = "Translate"]
    Translate,
    #[id = "scale"]
    #[name = "Scale"]
    Scale,
    #[id = "rotate"]
    #[name = "Rotate"]
    Rotate,
    #[id = "flip-h"]
    #[name = "Flip horizontal"]
    FlipH,
    #[id = "flip-v"]
    #[name = "Flip vertical"]
    FlipV,
    #[id = "erode"]
    #[name = "Erode"]
    Erode,
    #[id = "dilate"]
    #[name = "Dilate"]
    Dilate,
    #[id = "scalar-multiply"]
    #[name = "Multiply"]
    ScalarMultiply,
    #[id = "offset"]
    #[name = "Offset"]
    Offset,
    #[id = "invert"]
    #[name = "Invert"]
    Invert,
    #[id = "binary-thresh"]
    #[name = "Threshold"]
    BinaryThresh,
    #[id = "noise"]
    #[name = "Noise"]
    Noise,
    #[id = "ablate"]
    #[name = "Ablate"]
    Ablate,
}

impl Transform {
    /// All transforms in the bend block's order.
    pub const ALL: [Transform; 14] = [
        Transform::Shuffle,
        Transform::Translate,
        Transform::Scale,
        Transform::Rotate,
        Transform::FlipH,
        Transform::FlipV,
        Transform::Erode,
        Transform::Dilate,
        Transform::ScalarMultiply,
        Transform::Offset,
        Transform::Invert,
        Transform::BinaryThresh,
        Transform::Noise,
        Transform::Ablate,
    ];

    /// The stage name of docs/bend-graph.md (also the config files' transform name).
    pub fn stage_name(self) -> &'static str {
        Self::ids().expect("Transform has ids")[self.to_index()]
    }

    /// The readable name shown to users.
    pub fn display_name(self) -> &'static str {
        Self::variants()[self.to_index()]
    }

    /// `P`, the number of float parameters the stage takes per channel (docs/bend-graph.md).
    /// Shuffle and noise take no float parameter of their own beyond this (their `source` and
    /// `field` inputs are derived from the slot's seed).
    pub fn param_count(self) -> usize {
        match self {
            Transform::Translate | Transform::Scale => 2,
            Transform::Rotate
            | Transform::Erode
            | Transform::Dilate
            | Transform::ScalarMultiply
            | Transform::Offset
            | Transform::BinaryThresh
            | Transform::Noise => 1,
            Transform::Shuffle
            | Transform::FlipH
            | Transform::FlipV
            | Transform::Invert
            | Transform::Ablate => 0,
        }
    }

    /// Whether the slot's seed matters for this transform (beyond a random selection).
    pub fn uses_seed(self) -> bool {
        matches!(self, Transform::Shuffle | Transform::Noise)
    }

    /// Whether a slot with this transform and `selection` draws at random (its seed matters, and
    /// a re-roll draws anew).
    pub fn draws_at_random(self, selection: Selection) -> bool {
        selection == Selection::Random || self.uses_seed()
    }

    /// Index in [`Transform::ALL`] (the stage's position in the bend block).
    pub fn index(self) -> u8 {
        self.to_index() as u8
    }

    /// Inverse of [`Transform::index`]; out-of-range values give the first stage.
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// Which channels of the layer a slot bends (the config's `features`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    #[id = "all"]
    #[name = "All"]
    All,
    #[id = "random"]
    #[name = "Random"]
    Random,
    #[id = "cluster"]
    #[name = "Cluster"]
    Cluster,
}

impl Selection {
    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
}

/// Quality/latency trade-off: how far successive 128-frame model windows overlap. More overlap
/// means more model runs per second (CPU) and shorter latency; the audio path that uses it lands
/// with the worker thread. Changing it changes the reported latency (the host restarts the plugin).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityMode {
    #[id = "default"]
    #[name = "Default (<= 400 ms)"]
    Default,
    #[id = "low-latency"]
    #[name = "Low latency (<= 200 ms)"]
    LowLatency,
}

impl QualityMode {
    pub fn index(self) -> u8 {
        self.to_index() as u8
    }
    pub fn from_u8(index: u8) -> Self {
        Self::from_index(index as usize)
    }
    /// The window layout of this mode, which `netbend render --layout` also offers.
    pub fn layout(self) -> dsp::LayoutMode {
        match self {
            QualityMode::Default => dsp::LayoutMode::PluginDefault,
            QualityMode::LowLatency => dsp::LayoutMode::PluginLowLatency,
        }
    }
}

/// Smoothing of continuous slot parameters. The worker samples the slots once per model window,
/// so this mainly removes zipper steps from coarse host automation.
const SLOT_SMOOTHING_MS: f32 = 20.0;
/// Smoothing of dry/wet and output gain (applied per sample).
const GLOBAL_SMOOTHING_MS: f32 = 20.0;

/// One bend slot. Parameter IDs get the slot number as a suffix (`mix_3`) through the
/// `#[nested(array)]` attribute of [`NetbendParams::slots`].
///
/// A slot maps onto one entry of a bend config (docs/config.md): `layer`, `transform`, `params`
/// (from the transform's own parameters), `features` + `feature-param` (selection with fraction
/// or cluster index), `mix`, and the entry's own `seed`.
#[derive(Params)]
pub struct SlotParams {
    #[id = "on"]
    pub enabled: BoolParam,
    #[id = "layer"]
    pub layer: IntParam,
    #[id = "transform"]
    pub transform: EnumParam<Transform>,

    // Transform parameters: one host parameter each, used when `transform` is the one named.
    #[id = "tx"]
    pub translate_x: FloatParam,
    #[id = "ty"]
    pub translate_y: FloatParam,
    #[id = "sx"]
    pub scale_x: FloatParam,
    #[id = "sy"]
    pub scale_y: FloatParam,
    #[id = "rot"]
    pub rotate: FloatParam,
    /// Erode and dilate radius (1..3 pixels, disk footprint).
    #[id = "radius"]
    pub radius: IntParam,
    #[id = "mul"]
    pub multiply: FloatParam,
    #[id = "offset"]
    pub offset: FloatParam,
    #[id = "thresh"]
    pub threshold: FloatParam,
    #[id = "sigma"]
    pub noise: FloatParam,

    #[id = "sel"]
    pub selection: EnumParam<Selection>,
    /// Share of the layer's channels for a random selection.
    #[id = "frac"]
    pub fraction: FloatParam,
    /// Seed of the random selection, the shuffle permutation and the noise field.
    #[id = "seed"]
    pub seed: IntParam,
    /// Cluster index (in the model's `general` cluster map of this layer).
    #[id = "cluster"]
    pub cluster: IntParam,
    #[id = "mix"]
    pub mix: FloatParam,

    // The slot's modulator (docs/plugin.md, "Moving bends"): it moves the mix or the transform's
    // main parameter around the value the host sets, within that parameter's range.
    /// The modulator's curve (Off: the slot stays where the host puts it).
    #[id = "mshape"]
    pub mod_shape: EnumParam<ModShape>,
    /// Free in Hz (`mod_hz`), or one period per note length or bars of the host's tempo.
    #[id = "mrate"]
    pub mod_rate: EnumParam<ModRate>,
    #[id = "mhz"]
    pub mod_hz: FloatParam,
    /// The swing as a share of the target's range.
    #[id = "mdepth"]
    pub mod_depth: FloatParam,
    /// Where in its cycle the modulator starts, in degrees.
    #[id = "mphase"]
    pub mod_phase: FloatParam,
    #[id = "mtarget"]
    pub mod_target: EnumParam<ModTarget>,
    /// A new random selection, shuffle or noise every few beats or bars, seeded from the slot's
    /// seed and the song position.
    #[id = "reroll"]
    pub reroll: EnumParam<Reroll>,
}

fn slot_smoother() -> SmoothingStyle {
    SmoothingStyle::Linear(SLOT_SMOOTHING_MS)
}

impl SlotParams {
    /// Slot number `n` is 1-based, as shown to users.
    pub fn new(n: usize) -> Self {
        let name = |what: &str| format!("Slot {n} {what}");
        Self {
            enabled: BoolParam::new(name("On"), false),
            layer: IntParam::new(
                name("Layer"),
                1,
                IntRange::Linear {
                    min: 1,
                    max: NUM_LAYERS,
                },
            ),
            transform: EnumParam::new(name("Transform"), Transform::Ablate),
            translate_x: FloatParam::new(
                name("Translate X"),
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_unit(" % of width")
            .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
            .with_string_to_value(percent_from_string()),
            translate_y: FloatParam::new(
                name("Translate Y"),
                0.0,
                FloatRange::Linear {
                    min: -1.0,
                    max: 1.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_unit(" % of height")
            .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
            .with_string_to_value(percent_from_string()),
            scale_x: scale_param(name("Scale X")),
            scale_y: scale_param(name("Scale Y")),
            rotate: FloatParam::new(
                name("Rotate"),
                0.0,
                FloatRange::Linear {
                    min: -180.0,
                    max: 180.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_unit(" deg")
            .with_value_to_string(formatters::v2s_f32_rounded(1)),
            radius: IntParam::new(name("Radius"), 1, IntRange::Linear { min: 1, max: 3 })
                .with_unit(" px"),
            multiply: FloatParam::new(
                name("Multiply"),
                1.0,
                FloatRange::Linear {
                    min: -4.0,
                    max: 4.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            offset: FloatParam::new(
                name("Offset"),
                0.0,
                FloatRange::Linear {
                    min: -2.0,
                    max: 2.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_value_to_string(formatters::v2s_f32_rounded(3)),
            threshold: FloatParam::new(
                name("Threshold"),
                0.5,
                FloatRange::Linear {
                    min: -1.0,
                    max: 2.0,
                },
            )
            .with_smoother(slot_smoother())
            .with_value_to_string(formatters::v2s_f32_rounded(3)),
            noise: FloatParam::new(
                name("Noise Sigma"),
                0.5,
                FloatRange::Skewed {
                    min: 0.0,
                    max: 4.0,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_smoother(slot_smoother())
            .with_value_to_string(formatters::v2s_f32_rounded(3)),
            selection: EnumParam::new(name("Selection"), Selection::All),
            // docs/config.md: a random fraction is in (0, 1].
            fraction: FloatParam::new(
                name("Fraction"),
                0.5,
                FloatRange::Linear {
                    min: 0.01,
                    max: 1.0,
                },
            )
            .with_unit(" %")
            .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
            .with_string_to_value(percent_from_string()),
            seed: IntParam::new(
                name("Seed"),
                n as i32,
                IntRange::Linear {
                    min: 0,
                    max: MAX_SEED,
                },
            ),
            cluster: IntParam::new(
                name("Cluster"),
                0,
                IntRange::Linear {
                    min: 0,
                    max: MAX_CLUSTER,
                },
            ),
            mix: FloatParam::new(name("Mix"), 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_smoother(slot_smoother())
                .with_unit(" %")
                .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
                .with_string_to_value(percent_from_string()),
            mod_shape: EnumParam::new(name("Mod Shape"), ModShape::Off),
            mod_rate: EnumParam::new(name("Mod Rate"), ModRate::Bar1),
            mod_hz: mod_hz_param(name("Mod Hz")),
            mod_depth: mod_depth_param(name("Mod Depth")),
            mod_phase: mod_phase_param(name("Mod Phase")),
            mod_target: EnumParam::new(name("Mod Target"), ModTarget::Mix),
            reroll: EnumParam::new(name("Reroll"), Reroll::Off),
        }
    }
}

fn scale_param(name: String) -> FloatParam {
    FloatParam::new(
        name,
        1.0,
        FloatRange::SymmetricalSkewed {
            min: 0.25,
            max: 4.0,
            factor: FloatRange::skew_factor(-1.0),
            center: 1.0,
        },
    )
    .with_smoother(SmoothingStyle::Logarithmic(SLOT_SMOOTHING_MS))
    .with_value_to_string(formatters::v2s_f32_rounded(3))
}

/// A parameter's text-to-value parser, as nice-plug takes it.
type StringToValue = Arc<dyn Fn(&str) -> Option<f32> + Send + Sync>;

/// Parses "25", "25 %" or "25%" as 0.25.
fn percent_from_string() -> StringToValue {
    Arc::new(|s| {
        let t = s.trim();
        let t = t.split_whitespace().next().unwrap_or(t);
        t.trim_end_matches('%')
            .trim()
            .parse::<f32>()
            .ok()
            .map(|v| v / 100.0)
    })
}

/// All of the plugin's parameters and persisted state.
#[derive(Params)]
pub struct NetbendParams {
    /// The model directory name ("default" = the shipped model). Persisted with the plugin state,
    /// never a host parameter (a model cannot be automated). Only the editor and the (future)
    /// worker thread touch this lock; the audio thread never does.
    #[persist = "model"]
    pub model: Arc<RwLock<String>>,
    /// "Cluster this audio": the clip's clusters and whether `cluster` selections use them
    /// (persisted, so a saved project reloads them; the audio thread never touches this lock).
    #[persist = "clip-clusters"]
    pub clip_clusters: Arc<RwLock<crate::clip_clusters::ClipClusterState>>,

    #[id = "drywet"]
    pub dry_wet: FloatParam,
    #[id = "gain"]
    pub output_gain: FloatParam,
    #[id = "bypass"]
    pub bypass: BoolParam,
    #[id = "mode"]
    pub mode: EnumParam<QualityMode>,
    /// 0: the model's output, 1: the input's detail with the bend as a mask (`dsp::voice`).
    #[id = "voice"]
    pub voice: FloatParam,
    /// Silences the wet signal where the input is digital silence (`dsp::silence_gate`): no
    /// model hiss in the rests of a sequenced break. Off lets a bend sound through silence.
    #[id = "silence-gate"]
    pub silence_gate: BoolParam,

    #[nested(array, group = "Slot")]
    pub slots: [SlotParams; NUM_SLOTS],
}

impl Default for NetbendParams {
    fn default() -> Self {
        Self {
            model: Arc::new(RwLock::new(DEFAULT_MODEL.to_string())),
            clip_clusters: Default::default(),
            dry_wet: FloatParam::new("Dry/Wet", 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_smoother(SmoothingStyle::Linear(GLOBAL_SMOOTHING_MS))
                .with_unit(" %")
                .with_value_to_string(Arc::new(|v| format!("{:.1}", v * 100.0)))
                .with_string_to_value(percent_from_string()),
            output_gain: FloatParam::new(
                "Output Gain",
                1.0,
                // The range `netbend render --gain` accepts too.
                FloatRange::Skewed {
                    min: util::db_to_gain(OUTPUT_GAIN_MIN_DB),
                    max: util::db_to_gain(OUTPUT_GAIN_MAX_DB),
                    factor: FloatRange::gain_skew_factor(OUTPUT_GAIN_MIN_DB, OUTPUT_GAIN_MAX_DB),
                },
            )
            .with_smoother(SmoothingStyle::Logarithmic(GLOBAL_SMOOTHING_MS))
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_gain_to_db(2))
            .with_string_to_value(formatters::s2v_f32_gain_to_db()),
            bypass: BoolParam::new("Bypass", false)
                .make_bypass()
                .with_value_to_string(formatters::v2s_bool_bypass())
                .with_string_to_value(formatters::s2v_bool_bypass()),
            // Automatable as far as hosts are concerned: VST3 hosts such as Ardour list only
            // parameters flagged kCanAutomate (nice-plug leaves the flag off non-automatable
            // ones), and a user must be able to choose the mode from a host's generic UI. A change,
            // set or automated, reports the new mode's latency and the host restarts the plugin.
            mode: EnumParam::new("Quality Mode", QualityMode::Default),
            // Shown as the input's share: "0 %" is the model's output, "100 %" the input's detail.
            voice: FloatParam::new("Voice", 0.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_smoother(SmoothingStyle::Linear(GLOBAL_SMOOTHING_MS))
                .with_unit(" % input")
                .with_value_to_string(Arc::new(|v| format!("{:.0}", v * 100.0)))
                .with_string_to_value(percent_from_string()),
            silence_gate: BoolParam::new("Silence Gate", true),
            slots: std::array::from_fn(|i| SlotParams::new(i + 1)),
        }
    }
}

impl NetbendParams {
    /// The model name (for the editor and the worker; never called on the audio thread).
    pub fn model_name(&self) -> String {
        self.model.read().clone()
    }

    /// A copy of the clip-cluster state (editor, worker; never the audio thread).
    pub fn clip_cluster_state(&self) -> crate::clip_clusters::ClipClusterState {
        self.clip_clusters.read().clone()
    }

    pub fn set_model_name(&self, name: &str) {
        *self.model.write() = name.to_string();
    }
}
