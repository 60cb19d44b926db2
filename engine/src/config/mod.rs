//! YAML bend configs (docs/config.md): the reference implementation's `transforms:` format plus
//! Netbend's keys. Reading is in two steps: [`BendConfig::parse`] checks everything that does not
//! depend on a model (syntax, keys, transform names, parameter counts and ranges, selection
//! kinds, fractions, mix), [`BendConfig::to_spec`] checks the rest against a model (layer range,
//! cluster indices, channel indices). Every error starts with `file:line:column` and names the
//! field.

mod cluster_file;
mod motion;
mod raw;
mod yaml;

pub use cluster_file::ClusterFile;
pub use yaml::Pos;

use crate::compile::resolve_selection;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::spec::{BendEntry, BendSpec, ClusterSource, Selection, Transform};
use crate::stages::Stage;
use raw::{RawConfig, RawEntry};
use serde_saphyr::Spanned;
use std::path::{Path, PathBuf};
use yaml::{deserialize_yaml, field_error, pos};

/// How an entry selects its channels, before a model is known.
#[derive(Clone, Debug, PartialEq)]
enum SelectionKind {
    All,
    Random(f64),
    Cluster(usize),
    Channels(Vec<usize>),
}

/// One checked entry with the positions of its fields.
#[derive(Clone, Debug)]
struct ConfigEntry {
    field: String,
    pos: Pos,
    layer: i64,
    layer_pos: Pos,
    transform: Transform,
    selection: SelectionKind,
    /// Field name and position of what decided the selection (for model-dependent errors).
    selection_field: String,
    selection_pos: Pos,
    mix: f32,
    seed: Option<u64>,
    motion: Option<crate::motion::Motion>,
}

/// A parsed config file: checked as far as possible without a model.
#[derive(Clone, Debug)]
pub struct BendConfig {
    path: PathBuf,
    seed: Option<u64>,
    entries: Vec<ConfigEntry>,
    cluster_map: String,
    cluster_file: Option<ClusterFile>,
}

impl BendConfig {
    /// Reads and parses the config file at `path`.
    pub fn read(path: impl AsRef<Path>) -> Result<BendConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        BendConfig::parse(&text, path)
    }

    /// Parses config `text` that was read from `path` (used in messages, and to find a
    /// `cluster-file` given relative to the config's directory).
    pub fn parse(text: &str, path: &Path) -> Result<BendConfig> {
        let raw: RawConfig = deserialize_yaml(text, path)?;
        let mut entries = Vec::new();
        for (i, entry) in raw.transforms.unwrap_or_default().iter().enumerate() {
            entries.push(check_entry(path, i, entry)?);
        }
        let cluster_file = match &raw.cluster_file {
            Some(file) => {
                let cluster_path = path.parent().unwrap_or(Path::new(".")).join(&file.value);
                if !cluster_path.is_file() {
                    return Err(field_error(
                        path,
                        pos(file),
                        "cluster-file",
                        format!("cluster file {} not found", cluster_path.display()),
                    ));
                }
                Some(ClusterFile::read(&cluster_path)?)
            }
            None => None,
        };
        if let (Some(map), Some(_)) = (&raw.cluster_map, &cluster_file) {
            return Err(field_error(
                path,
                pos(map),
                "cluster-map",
                "give either `cluster-map` (a map of the model) or `cluster-file`, not both",
            ));
        }
        Ok(BendConfig {
            path: path.to_path_buf(),
            seed: raw.seed.map(|s| s.value),
            entries,
            cluster_map: raw
                .cluster_map
                .map(|m| m.value)
                .unwrap_or_else(|| "general".to_string()),
            cluster_file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes `features: cluster` select from `file` (e.g. per-clip clusters from `netbend
    /// clusters`) instead of the config's own `cluster-file` or `cluster-map`.
    pub fn with_cluster_file(mut self, file: ClusterFile) -> BendConfig {
        self.cluster_file = Some(file);
        self.cluster_map = "general".to_string();
        self
    }

    /// The config's top-level `seed`, if it has one.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The spec for `manifest`'s model, checking layers, cluster indices and channels against it.
    /// The spec's seed is the config's `seed` (0 when absent); callers that take a seed from
    /// elsewhere (e.g. `--seed`) overwrite `BendSpec::seed`.
    pub fn to_spec(&self, manifest: &Manifest) -> Result<BendSpec> {
        let clusters = match &self.cluster_file {
            Some(file) => ClusterSource::Explicit(file.per_layer(manifest)?),
            None => {
                if !manifest.clusters.contains_key(&self.cluster_map)
                    && self
                        .entries
                        .iter()
                        .any(|e| matches!(e.selection, SelectionKind::Cluster(_)))
                {
                    let known: Vec<&str> = manifest.clusters.keys().map(|k| k.as_str()).collect();
                    return Err(Error::Config(format!(
                        "{}: cluster map `{}` does not exist in model `{}` (it has: {})",
                        self.path.display(),
                        self.cluster_map,
                        manifest.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
                ClusterSource::Manifest(self.cluster_map.clone())
            }
        };
        let seed = self.seed.unwrap_or(0);
        let mut spec = BendSpec::neutral().with_seed(seed);
        for (i, e) in self.entries.iter().enumerate() {
            let n_layers = manifest.layers.len();
            let layer = usize::try_from(e.layer)
                .ok()
                .and_then(|l| manifest.layer(l))
                .ok_or_else(|| {
                    field_error(
                        &self.path,
                        e.layer_pos,
                        &format!("{}.layer", e.field),
                        format!(
                            "layer {} is out of range for model `{}`: allowed 1..={n_layers}",
                            e.layer, manifest.name
                        ),
                    )
                })?;
            let selection = match &e.selection {
                SelectionKind::All => Selection::All,
                SelectionKind::Random(fraction) => Selection::Random {
                    fraction: *fraction,
                },
                SelectionKind::Cluster(index) => Selection::Cluster {
                    index: *index,
                    map: clusters.clone(),
                },
                SelectionKind::Channels(c) => Selection::Channels(c.clone()),
            };
            let entry = BendEntry {
                layer: layer.index,
                transform: e.transform.clone(),
                selection,
                mix: e.mix,
                seed: e.seed,
                origin: Some(format!("{}:{}", self.path.display(), e.pos.line)),
                motion: e.motion,
            };
            resolve_selection(&entry, i, seed, layer, manifest)
                .map_err(|msg| field_error(&self.path, e.selection_pos, &e.selection_field, msg))?;
            spec.entries.push(entry);
        }
        Ok(spec)
    }
}

/// Reads the config at `path` and checks it against `manifest`: the one call for commands.
pub fn load_config(path: impl AsRef<Path>, manifest: &Manifest) -> Result<BendSpec> {
    BendConfig::read(path)?.to_spec(manifest)
}

fn check_entry(path: &Path, i: usize, raw: &Spanned<RawEntry>) -> Result<ConfigEntry> {
    let field = format!("transforms[{i}]");
    let e = &raw.value;
    let err =
        |p: Pos, name: &str, msg: String| field_error(path, p, &format!("{field}.{name}"), msg);

    let stage = Stage::from_name(&e.transform.value).ok_or_else(|| {
        err(
            pos(&e.transform),
            "transform",
            format!(
                "unknown transform \"{}\"; allowed: {}",
                e.transform.value,
                Stage::all_names()
            ),
        )
    })?;
    let (params, params_pos) = match &e.params {
        Some(p) => (p.value.clone(), pos(p)),
        None => (Vec::new(), pos(&e.transform)),
    };
    let transform = Transform::new(stage, &params).map_err(|m| err(params_pos, "params", m))?;

    let mix = match &e.mix {
        Some(m) if !(0.0..=1.0).contains(&m.value) => {
            return Err(err(
                pos(m),
                "mix",
                format!("{} is outside the allowed range [0, 1]", m.value),
            ));
        }
        Some(m) => m.value as f32,
        None => 1.0,
    };

    let features = e.features.as_ref().map(|f| (f.value.as_str(), pos(f)));
    let param = e.feature_param.as_ref().map(|p| (p.value, pos(p)));
    let no_param = |kind: &str| -> Result<()> {
        match param {
            Some((v, p)) => Err(err(
                p,
                "feature-param",
                format!("`features: {kind}` takes no feature-param (got {v}); leave it empty"),
            )),
            None => Ok(()),
        }
    };
    let (selection, selection_field, selection_pos) = match (features, &e.channels) {
        (Some(("channels", _)) | None, Some(ch)) => {
            no_param("channels")?;
            let mut list = Vec::new();
            for &c in &ch.value {
                let c = usize::try_from(c).map_err(|_| {
                    err(
                        pos(ch),
                        "channels",
                        format!("channel {c} is negative; channels are 0-based indices"),
                    )
                })?;
                list.push(c);
            }
            (
                SelectionKind::Channels(list),
                format!("{field}.channels"),
                pos(ch),
            )
        }
        (Some((other, p)), Some(_)) => {
            return Err(err(
                p,
                "features",
                format!(
                    "is \"{other}\" but the entry also lists `channels`; use `features: channels` or drop `channels`"
                ),
            ));
        }
        (Some(("channels", p)), None) => {
            return Err(err(
                p,
                "features",
                "`features: channels` needs a `channels: [..]` list".into(),
            ));
        }
        (None, None) => {
            no_param("all")?;
            (SelectionKind::All, format!("{field}.features"), pos(raw))
        }
        (Some(("all", p)), None) => {
            no_param("all")?;
            (SelectionKind::All, format!("{field}.features"), p)
        }
        (Some(("random", p)), None) => {
            let (fraction, fp) = param.ok_or_else(|| {
                err(
                    p,
                    "feature-param",
                    "`features: random` needs a feature-param: the fraction of channels, in (0, 1]"
                        .into(),
                )
            })?;
            if !(fraction > 0.0 && fraction <= 1.0) {
                return Err(err(
                    fp,
                    "feature-param",
                    format!(
                        "random fraction {fraction} is outside the allowed range (0, 1] (0.25 selects a quarter of the channels)"
                    ),
                ));
            }
            (
                SelectionKind::Random(fraction),
                format!("{field}.feature-param"),
                fp,
            )
        }
        (Some(("cluster", p)), None) => {
            let (index, fp) = param.ok_or_else(|| {
                err(
                    p,
                    "feature-param",
                    "`features: cluster` needs a feature-param: the cluster index (0, 1, ...)"
                        .into(),
                )
            })?;
            if index < 0.0 || index.fract() != 0.0 {
                return Err(err(
                    fp,
                    "feature-param",
                    format!("cluster index {index} is not a non-negative integer"),
                ));
            }
            (
                SelectionKind::Cluster(index as usize),
                format!("{field}.feature-param"),
                fp,
            )
        }
        (Some((other, p)), None) => {
            return Err(err(
                p,
                "features",
                format!(
                    "unknown feature selection \"{other}\"; allowed: all, random, cluster, channels"
                ),
            ));
        }
    };

    let random = matches!(selection, SelectionKind::Random(_));
    let motion = motion::check_motion(path, &field, e, &transform, random)?;
    Ok(ConfigEntry {
        motion,
        pos: pos(raw),
        layer: e.layer.value,
        layer_pos: pos(&e.layer),
        transform,
        selection,
        selection_field,
        selection_pos,
        mix,
        seed: e.seed.as_ref().map(|s| s.value),
        field,
    })
}

#[cfg(test)]
mod tests;
