//! The slots as a bend config file (docs/config.md) and back, so that a bend found in the DAW
//! renders the same offline with `netbend render --config` (and the `--layout` of the plugin's
//! quality mode, which the file's header names).
//!
//! Export writes one entry per enabled slot, in slot order, with every key the slot uses
//! (`mix` and the entry's own `seed` included). Import goes through the engine's own parser and
//! model check (`engine::BendConfig`), so a bad file gets the engine's message with file, line and
//! field; what the engine accepts but the slots cannot hold (more than eight entries, `channels`
//! lists, a `cluster-map` other than `general`, values outside a slot parameter's range, random
//! draws from the top-level seed, modulator rates the slot's menus do not offer) is refused as a
//! whole: [`slots_from_config`] returns either all
//! eight slots or an error, never a part. A `cluster-file` is accepted: [`config_into_slots`]
//! returns its clusters, which become the plugin's clip clusters.
//!
//! [`SlotValues`] is the plain form of one slot's parameters; reading them from and writing them
//! to the host parameters ([`read_slots`], [`apply_slots`], through nice-plug's `ParamSetter` so
//! the host records the change) is kept apart from the text conversion, which needs no host.

use crate::motion_params::{SlotMotion, rate_text, shape_name};
use crate::params::{
    ModRate, ModShape, ModTarget, NUM_SLOTS, QualityMode, Reroll, Selection, SlotParams, Transform,
};
use engine::{BendConfig, ClusterSource, Manifest, Motion, Target};
use nice_plug::prelude::{Param, ParamSetter};
use std::fmt::Write as _;
use std::path::Path;

/// One slot's parameters as plain values (the host parameters' unmodulated plain values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotValues {
    pub enabled: bool,
    pub layer: i32,
    pub transform: Transform,
    pub translate_x: f32,
    pub translate_y: f32,
    pub scale_x: f32,
    pub scale_y: f32,
    pub rotate: f32,
    pub radius: i32,
    pub multiply: f32,
    pub offset: f32,
    pub threshold: f32,
    pub noise: f32,
    pub selection: Selection,
    pub fraction: f32,
    pub seed: i32,
    pub cluster: i32,
    pub mix: f32,
    pub mod_shape: ModShape,
    pub mod_rate: ModRate,
    pub mod_hz: f32,
    pub mod_depth: f32,
    pub mod_phase: f32,
    pub mod_target: ModTarget,
    pub reroll: Reroll,
}

impl SlotValues {
    /// The values a slot's parameters currently hold (without host modulation).
    pub fn from_params(p: &SlotParams) -> SlotValues {
        SlotValues {
            enabled: p.enabled.unmodulated_plain_value(),
            layer: p.layer.unmodulated_plain_value(),
            transform: p.transform.unmodulated_plain_value(),
            translate_x: p.translate_x.unmodulated_plain_value(),
            translate_y: p.translate_y.unmodulated_plain_value(),
            scale_x: p.scale_x.unmodulated_plain_value(),
            scale_y: p.scale_y.unmodulated_plain_value(),
            rotate: p.rotate.unmodulated_plain_value(),
            radius: p.radius.unmodulated_plain_value(),
            multiply: p.multiply.unmodulated_plain_value(),
            offset: p.offset.unmodulated_plain_value(),
            threshold: p.threshold.unmodulated_plain_value(),
            noise: p.noise.unmodulated_plain_value(),
            selection: p.selection.unmodulated_plain_value(),
            fraction: p.fraction.unmodulated_plain_value(),
            seed: p.seed.unmodulated_plain_value(),
            cluster: p.cluster.unmodulated_plain_value(),
            mix: p.mix.unmodulated_plain_value(),
            mod_shape: p.mod_shape.unmodulated_plain_value(),
            mod_rate: p.mod_rate.unmodulated_plain_value(),
            mod_hz: p.mod_hz.unmodulated_plain_value(),
            mod_depth: p.mod_depth.unmodulated_plain_value(),
            mod_phase: p.mod_phase.unmodulated_plain_value(),
            mod_target: p.mod_target.unmodulated_plain_value(),
            reroll: p.reroll.unmodulated_plain_value(),
        }
    }

    /// The default values of slot `n` (1-based; the default seed is the slot number).
    pub fn defaults(n: usize) -> SlotValues {
        let p = SlotParams::new(n);
        SlotValues {
            enabled: p.enabled.default_plain_value(),
            layer: p.layer.default_plain_value(),
            transform: p.transform.default_plain_value(),
            translate_x: p.translate_x.default_plain_value(),
            translate_y: p.translate_y.default_plain_value(),
            scale_x: p.scale_x.default_plain_value(),
            scale_y: p.scale_y.default_plain_value(),
            rotate: p.rotate.default_plain_value(),
            radius: p.radius.default_plain_value(),
            multiply: p.multiply.default_plain_value(),
            offset: p.offset.default_plain_value(),
            threshold: p.threshold.default_plain_value(),
            noise: p.noise.default_plain_value(),
            selection: p.selection.default_plain_value(),
            fraction: p.fraction.default_plain_value(),
            seed: p.seed.default_plain_value(),
            cluster: p.cluster.default_plain_value(),
            mix: p.mix.default_plain_value(),
            mod_shape: p.mod_shape.default_plain_value(),
            mod_rate: p.mod_rate.default_plain_value(),
            mod_hz: p.mod_hz.default_plain_value(),
            mod_depth: p.mod_depth.default_plain_value(),
            mod_phase: p.mod_phase.default_plain_value(),
            mod_target: p.mod_target.default_plain_value(),
            reroll: p.reroll.default_plain_value(),
        }
    }

    /// The engine's motion of slot `n` (1-based) with these values (see
    /// [`crate::motion_params::SlotMotion`]); the ranges are the slot parameters'.
    pub fn motion(&self, n: usize) -> Option<Motion> {
        let target_range =
            crate::bridge::target_range(&SlotParams::new(n), self.mod_target, self.transform);
        let motion = SlotMotion {
            shape: self.mod_shape,
            rate: self.mod_rate,
            hz: self.mod_hz,
            depth: self.mod_depth,
            phase_degrees: self.mod_phase,
            target: self.mod_target,
            range: target_range,
            reroll: self.reroll,
        };
        let draws = self.transform.draws_at_random(self.selection);
        motion.motion(self.transform.param_count(), draws)
    }

    /// The config entry's `params` for the slot's transform (the same choice as the bridge's
    /// [`crate::slot_snapshot`]).
    pub fn transform_params(&self) -> Vec<f32> {
        match self.transform {
            Transform::Translate => vec![self.translate_x, self.translate_y],
            Transform::Scale => vec![self.scale_x, self.scale_y],
            Transform::Rotate => vec![self.rotate],
            Transform::Erode | Transform::Dilate => vec![self.radius as f32],
            Transform::ScalarMultiply => vec![self.multiply],
            Transform::Offset => vec![self.offset],
            Transform::BinaryThresh => vec![self.threshold],
            Transform::Noise => vec![self.noise],
            Transform::Shuffle
            | Transform::FlipH
            | Transform::FlipV
            | Transform::Invert
            | Transform::Ablate => Vec::new(),
        }
    }
}

/// The eight slots' current values.
pub fn read_slots(slots: &[SlotParams; NUM_SLOTS]) -> [SlotValues; NUM_SLOTS] {
    std::array::from_fn(|i| SlotValues::from_params(&slots[i]))
}

/// The eight slots at their defaults (what "Reset all" sets).
pub fn default_slots() -> [SlotValues; NUM_SLOTS] {
    std::array::from_fn(|i| SlotValues::defaults(i + 1))
}

/// The slots as config text: one entry per enabled slot in slot order, each with all the keys
/// the slot uses. The header comment names the `netbend render --layout` of the quality `mode`,
/// with which the CLI renders what the plugin renders in that mode. `cluster_file`, when given,
/// is written as the top-level `cluster-file:` (a path relative to the config) that
/// `features: cluster` entries select from.
pub fn slots_to_yaml(
    slots: &[SlotValues; NUM_SLOTS],
    mode: QualityMode,
    cluster_file: Option<&str>,
) -> String {
    let mode_name = match mode {
        QualityMode::Default => "Default",
        QualityMode::LowLatency => "Low latency",
    };
    let mut out = format!(
        "# Netbend plugin slots as a bend config (docs/config.md), saved in quality mode \
         {mode_name};\n\
         # netbend render with the plugin's window layout renders what the plugin renders:\n\
         #   netbend render --layout {} --config THIS.yaml --in IN.wav --out OUT.wav\n\
         # (slots that move: add the song's --bpm and --meter, and --start for a file that does\n\
         # not begin at the song's start)\n",
        mode.layout().name()
    );
    if let Some(file) = cluster_file {
        let _ = writeln!(out, "cluster-file: \"{}\"", file.replace('"', "\\\""));
    }
    let enabled: Vec<(usize, &SlotValues)> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.enabled)
        .collect();
    if enabled.is_empty() {
        out.push_str("transforms: []\n");
        return out;
    }
    out.push_str("transforms:\n");
    for (i, s) in enabled {
        // `{}` on f32 prints the shortest text that reads back as the same f32.
        let params: Vec<String> = s.transform_params().iter().map(|p| p.to_string()).collect();
        let _ = writeln!(out, "# slot {}", i + 1);
        let _ = writeln!(out, "- layer: {}", s.layer);
        let _ = writeln!(out, "  transform: {}", s.transform.stage_name());
        let _ = writeln!(out, "  params: [{}]", params.join(", "));
        match s.selection {
            Selection::All => out.push_str("  features: all\n"),
            Selection::Random => {
                let _ = writeln!(out, "  features: random\n  feature-param: {}", s.fraction);
            }
            Selection::Cluster => {
                let _ = writeln!(out, "  features: cluster\n  feature-param: {}", s.cluster);
            }
        }
        let _ = writeln!(out, "  mix: {}", s.mix);
        let _ = writeln!(out, "  seed: {}", s.seed);
        if let Some(motion) = s.motion(i + 1) {
            write_motion(&mut out, &motion);
        }
    }
    out
}

/// An entry's `modulate:` and `reroll:` keys (docs/config.md, "Modulation and re-roll").
fn write_motion(out: &mut String, motion: &Motion) {
    if let Some(m) = &motion.modulator {
        let target = match m.target {
            Target::Mix => "mix",
            Target::Param => "param",
        };
        let _ = writeln!(out, "  modulate:");
        let _ = writeln!(out, "    shape: {}", shape_name(m.shape));
        let _ = writeln!(out, "    rate: {}", rate_text(m.rate));
        let _ = writeln!(out, "    depth: {}", m.depth);
        let _ = writeln!(out, "    phase: {}", m.phase);
        let _ = writeln!(out, "    target: {target}");
        if let Some((low, high)) = m.range {
            let _ = writeln!(out, "    range: [{low}, {high}]");
        }
    }
    if let Some(rate) = motion.reroll {
        let _ = writeln!(out, "  reroll: {}", rate_text(rate));
    }
}

/// Which cluster source a loaded config may use: the model's `general` map, or a cluster file
/// (it becomes the plugin's clip clusters).
fn cluster_source_fits(source: &ClusterSource) -> bool {
    match source {
        ClusterSource::Manifest(name) => name == "general",
        ClusterSource::Explicit(_) => true,
    }
}

/// A config as the plugin holds it: the eight slots and, when its `cluster` entries select from
/// a `cluster-file`, that file's clusters (the plugin's clip clusters).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotsConfig {
    pub slots: [SlotValues; NUM_SLOTS],
    /// `Some` when a `cluster` entry selects; `Explicit` for a `cluster-file`.
    pub clusters: Option<ClusterSource>,
}

/// Config `text` (read from `path`, which locates a relative `cluster-file`) as the eight slots:
/// the file's entries in slots 1.., the remaining slots at their defaults (disabled). Checked
/// by the engine against `manifest` first; every error names the file and what is wrong.
pub fn slots_from_config(
    text: &str,
    path: &Path,
    manifest: &Manifest,
) -> Result<[SlotValues; NUM_SLOTS], String> {
    config_into_slots(text, path, manifest).map(|c| c.slots)
}

/// [`slots_from_config`] plus the cluster source its `cluster` entries use.
pub fn config_into_slots(
    text: &str,
    path: &Path,
    manifest: &Manifest,
) -> Result<SlotsConfig, String> {
    let spec = BendConfig::parse(text, path)
        .and_then(|c| c.to_spec(manifest))
        .map_err(|e| e.to_string())?;
    if spec.entries.len() > NUM_SLOTS {
        return Err(format!(
            "{}: {} entries in `transforms`, but the plugin has {NUM_SLOTS} slots (allowed: at most {NUM_SLOTS} entries)",
            path.display(),
            spec.entries.len()
        ));
    }
    let mut slots = default_slots();
    let mut clusters = None;
    for (i, entry) in spec.entries.iter().enumerate() {
        let at = entry
            .origin
            .clone()
            .unwrap_or_else(|| path.display().to_string());
        let refuse = |key: &str, why: String| format!("{at}: field `transforms[{i}].{key}`: {why}");
        let defaults = &SlotParams::new(i + 1);
        let slot = &mut slots[i];
        slot.enabled = true;
        slot.layer = entry.layer as i32;
        let stage = entry.transform.stage().name();
        slot.transform = Transform::ALL
            .into_iter()
            .find(|t| t.stage_name() == stage)
            .ok_or_else(|| refuse("transform", format!("`{stage}` has no plugin slot form")))?;
        let p = entry.transform.params();
        let in_range = |key: &str, param: &nice_plug::prelude::FloatParam, v: f32| {
            let (lo, hi) = (param.preview_plain(0.0), param.preview_plain(1.0));
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(refuse(
                    key,
                    format!(
                        "{v} is outside the plugin's range for {} ({lo}..={hi})",
                        param.name()
                    ),
                ))
            }
        };
        match slot.transform {
            Transform::Translate => {
                slot.translate_x = in_range("params", &defaults.translate_x, p[0])?;
                slot.translate_y = in_range("params", &defaults.translate_y, p[1])?;
            }
            Transform::Scale => {
                slot.scale_x = in_range("params", &defaults.scale_x, p[0])?;
                slot.scale_y = in_range("params", &defaults.scale_y, p[1])?;
            }
            Transform::Rotate => slot.rotate = in_range("params", &defaults.rotate, p[0])?,
            // The engine has already rounded the radius to 1, 2 or 3.
            Transform::Erode | Transform::Dilate => slot.radius = p[0] as i32,
            Transform::ScalarMultiply => {
                slot.multiply = in_range("params", &defaults.multiply, p[0])?
            }
            Transform::Offset => slot.offset = in_range("params", &defaults.offset, p[0])?,
            Transform::BinaryThresh => {
                slot.threshold = in_range("params", &defaults.threshold, p[0])?
            }
            Transform::Noise => slot.noise = in_range("params", &defaults.noise, p[0])?,
            Transform::Shuffle
            | Transform::FlipH
            | Transform::FlipV
            | Transform::Invert
            | Transform::Ablate => {}
        }
        let random = match &entry.selection {
            engine::Selection::All => {
                slot.selection = Selection::All;
                false
            }
            engine::Selection::Random { fraction } => {
                slot.selection = Selection::Random;
                slot.fraction = in_range("feature-param", &defaults.fraction, *fraction as f32)?;
                true
            }
            engine::Selection::Cluster { index, map } => {
                if !cluster_source_fits(map) {
                    return Err(refuse(
                        "features",
                        "the plugin's slots select from the model's `general` clusters or a \
                         `cluster-file` only; remove `cluster-map` from the config"
                            .into(),
                    ));
                }
                clusters = Some(map.clone());
                let max = defaults.cluster.preview_plain(1.0);
                if *index > max as usize {
                    return Err(refuse(
                        "feature-param",
                        format!("cluster index {index} is beyond the plugin's 0..={max}"),
                    ));
                }
                slot.selection = Selection::Cluster;
                slot.cluster = *index as i32;
                false
            }
            engine::Selection::Channels(_) => {
                return Err(refuse(
                    "channels",
                    "a slot selects all, random or cluster channels; explicit `channels` lists \
                     cannot be loaded into the plugin"
                        .into(),
                ));
            }
        };
        let max_seed = defaults.seed.preview_plain(1.0);
        match entry.seed {
            Some(seed) if seed > max_seed as u64 => {
                return Err(refuse(
                    "seed",
                    format!("{seed} is outside the plugin's seed range 0..={max_seed}"),
                ));
            }
            Some(seed) => slot.seed = seed as i32,
            // Without its own seed an entry draws from the top-level seed *and its position* in
            // the list (docs/config.md, Seeds); a slot always has its own seed, which draws at
            // position 0, so the same channels/noise cannot be reproduced.
            None if random || slot.transform.uses_seed() || draws_curve(entry) => {
                return Err(refuse(
                    "seed",
                    "this entry draws its random channels, shuffle or noise from the top-level \
                     seed at its position in the list, which a plugin slot cannot reproduce; \
                     give the entry its own `seed:` (0..=9999)"
                        .into(),
                ));
            }
            None => {}
        }
        slot.mix = entry.mix;
        if let Some(motion) = &entry.motion {
            motion_into_slot(motion, slot, defaults, &refuse)?;
        }
    }
    Ok(SlotsConfig { slots, clusters })
}

/// Whether the entry's modulator draws its curve at random (from its seed).
fn draws_curve(entry: &engine::BendEntry) -> bool {
    entry
        .motion
        .and_then(|m| m.modulator)
        .is_some_and(|m| matches!(m.shape, engine::Shape::Random | engine::Shape::Drift))
}

/// An entry's motion as the slot's modulator and re-roll parameters: refused when the slot cannot
/// hold it (a rate the menus do not offer, a depth beyond the target's range, a `range` other
/// than the slot parameter's).
fn motion_into_slot(
    motion: &Motion,
    slot: &mut SlotValues,
    defaults: &SlotParams,
    refuse: &dyn Fn(&str, String) -> String,
) -> Result<(), String> {
    if let Some(rate) = motion.reroll {
        slot.reroll = Reroll::from_rate(rate).ok_or_else(|| {
            refuse(
                "reroll",
                format!(
                    "the plugin re-rolls every 1 or 2 beats (\"1/4\", \"1/2\") or 1, 2, 4 or 8 \
                     bars, not {}",
                    rate_text(rate)
                ),
            )
        })?;
    }
    let Some(m) = &motion.modulator else {
        return Ok(());
    };
    slot.mod_shape = ModShape::from_shape(m.shape);
    match m.rate {
        engine::Rate::Hz(hz) => {
            let (lo, hi) = crate::motion_params::MOD_HZ_RANGE;
            if !(f64::from(lo)..=f64::from(hi)).contains(&hz) {
                return Err(refuse(
                    "modulate.rate",
                    format!("{hz} Hz is outside the plugin's free rates ({lo}..={hi} Hz)"),
                ));
            }
            slot.mod_rate = ModRate::Free;
            slot.mod_hz = hz as f32;
        }
        synced => {
            slot.mod_rate = ModRate::synced(synced).ok_or_else(|| {
                refuse(
                    "modulate.rate",
                    format!(
                        "the plugin's synced rates are 1/16, 1/8, 1/4, 1/2 and 1, 2, 4, 8 bars, \
                         not {}",
                        rate_text(synced)
                    ),
                )
            })?;
        }
    }
    slot.mod_target = match m.target {
        Target::Mix => ModTarget::Mix,
        Target::Param => ModTarget::Param,
    };
    let [low, high] = crate::bridge::target_range(defaults, slot.mod_target, slot.transform);
    let (low, high) = (f64::from(low), f64::from(high));
    if let Some(range) = m.range
        && range != (low, high)
    {
        return Err(refuse(
            "modulate.range",
            format!(
                "a slot keeps its modulator within the parameter's range [{low}, {high}], not \
                 [{}, {}]",
                range.0, range.1
            ),
        ));
    }
    let share = m.depth / (high - low);
    if !(-1.0..=1.0).contains(&share) {
        return Err(refuse(
            "modulate.depth",
            format!(
                "{} is beyond the plugin's depth (at most the target's range, {})",
                m.depth,
                high - low
            ),
        ));
    }
    slot.mod_depth = share as f32;
    slot.mod_phase = (m.phase * 360.0) as f32;
    Ok(())
}

/// Sets one parameter as a user gesture, so the host records it (and its undo/automation).
fn set<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain)
where
    P::Plain: PartialEq,
{
    if param.unmodulated_plain_value() != value {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, value);
        setter.end_set_parameter(param);
    }
}

/// Writes `values` into the slots' host parameters through `setter` (GUI thread).
pub fn apply_slots(
    slots: &[SlotParams; NUM_SLOTS],
    setter: &ParamSetter,
    values: &[SlotValues; NUM_SLOTS],
) {
    for (p, v) in slots.iter().zip(values) {
        set(setter, &p.enabled, v.enabled);
        set(setter, &p.layer, v.layer);
        set(setter, &p.transform, v.transform);
        set(setter, &p.translate_x, v.translate_x);
        set(setter, &p.translate_y, v.translate_y);
        set(setter, &p.scale_x, v.scale_x);
        set(setter, &p.scale_y, v.scale_y);
        set(setter, &p.rotate, v.rotate);
        set(setter, &p.radius, v.radius);
        set(setter, &p.multiply, v.multiply);
        set(setter, &p.offset, v.offset);
        set(setter, &p.threshold, v.threshold);
        set(setter, &p.noise, v.noise);
        set(setter, &p.selection, v.selection);
        set(setter, &p.fraction, v.fraction);
        set(setter, &p.seed, v.seed);
        set(setter, &p.cluster, v.cluster);
        set(setter, &p.mix, v.mix);
        set(setter, &p.mod_shape, v.mod_shape);
        set(setter, &p.mod_rate, v.mod_rate);
        set(setter, &p.mod_hz, v.mod_hz);
        set(setter, &p.mod_depth, v.mod_depth);
        set(setter, &p.mod_phase, v.mod_phase);
        set(setter, &p.mod_target, v.mod_target);
        set(setter, &p.reroll, v.reroll);
    }
}
