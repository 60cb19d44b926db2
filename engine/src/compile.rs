//! Compiling a [`BendSpec`] against a model into the decoder's bend inputs
//! (docs/bend-graph.md, "From a bend config to the inputs").

use crate::error::{Error, Result};
use crate::manifest::{LayerInfo, Manifest};
use crate::random::{Purpose, choose, cyclic_permutation, entry_rng, fill_standard_normal};
use crate::spec::{BendEntry, BendSpec, ClusterSource, EntryLabel, Selection};
use crate::stages::Stage;
use std::collections::BTreeSet;

/// The inputs of one stage of one layer. `K = idx.len()`; `K = 0` is neutral.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageInputs {
    /// Selected channels, int64 `[K]`.
    pub idx: Vec<i64>,
    /// Per-channel mix, float32 `[K]`.
    pub mix: Vec<f32>,
    /// Row-major `[K, P]` (empty for stages with `P = 0`).
    pub params: Vec<f32>,
    /// Shuffle only: channel `idx[k]` takes the map of `source[k]`, int64 `[K]`.
    pub source: Vec<i64>,
    /// Noise only: row-major `[K, H, W]` standard normal values.
    pub field: Vec<f32>,
}

impl StageInputs {
    pub fn len(&self) -> usize {
        self.idx.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
}

/// The bend inputs of one layer: one [`StageInputs`] per stage, in block order.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInputs {
    pub index: usize,
    pub height: usize,
    pub width: usize,
    pub stages: Vec<StageInputs>,
}

impl LayerInputs {
    pub fn stage(&self, stage: Stage) -> &StageInputs {
        &self.stages[stage as usize]
    }
}

/// Every bend input of the decoder, ready to be turned into tensors by [`crate::Runtime`].
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledBend {
    pub layers: Vec<LayerInputs>,
}

impl CompiledBend {
    /// All stages of all layers neutral (`K = 0`).
    pub fn neutral(manifest: &Manifest) -> CompiledBend {
        CompiledBend {
            layers: manifest
                .layers
                .iter()
                .map(|l| LayerInputs {
                    index: l.index,
                    height: l.height,
                    width: l.width,
                    stages: vec![StageInputs::default(); Stage::ALL.len()],
                })
                .collect(),
        }
    }

    /// Inputs of `stage` in layer `layer` (1-based); `None` if the layer does not exist.
    pub fn stage(&self, layer: usize, stage: Stage) -> Option<&StageInputs> {
        self.layers
            .get(layer.checked_sub(1)?)
            .map(|l| l.stage(stage))
    }

    pub fn is_neutral(&self) -> bool {
        self.layers
            .iter()
            .all(|l| l.stages.iter().all(|s| s.is_empty()))
    }
}

/// Resolves `entry`'s selection to channels of `layer` (ascending for random selections, as
/// given otherwise). The error names the entry's own problem; the caller adds which entry.
pub fn resolve_selection(
    entry: &BendEntry,
    entry_index: usize,
    spec_seed: u64,
    layer: &LayerInfo,
    manifest: &Manifest,
) -> std::result::Result<Vec<usize>, String> {
    let c = layer.channels;
    match &entry.selection {
        Selection::All => Ok((0..c).collect()),
        Selection::Random { fraction } => {
            if !(*fraction > 0.0 && *fraction <= 1.0) {
                return Err(format!("random fraction {fraction} is outside (0, 1]"));
            }
            let k = ((fraction * c as f64).round() as usize).clamp(1, c);
            let mut rng = entry_rng(spec_seed, entry_index, entry.seed, Purpose::Selection);
            Ok(choose(&mut rng, c, k))
        }
        Selection::Cluster { index, map } => {
            let (clusters, source): (&[Vec<usize>], String) = match map {
                ClusterSource::Manifest(name) => (
                    manifest.clusters_of(name, layer.index),
                    format!("cluster map `{name}` of the model"),
                ),
                ClusterSource::Explicit(per_layer) => (
                    per_layer
                        .get(layer.index - 1)
                        .map(|v| v.as_slice())
                        .unwrap_or(&[]),
                    "the cluster file".to_string(),
                ),
            };
            match clusters.get(*index) {
                Some(channels) => {
                    if let Some(bad) = channels.iter().find(|&&ch| ch >= c) {
                        return Err(format!(
                            "cluster {index} of {source} names channel {bad}, outside [0, {c}) of layer {}",
                            layer.index
                        ));
                    }
                    Ok(channels.clone())
                }
                None if clusters.is_empty() => Err(format!(
                    "cluster index {index}: layer {} has no clusters in {source}",
                    layer.index
                )),
                None => Err(format!(
                    "cluster index {index} is beyond layer {}'s clusters in {source} (allowed: 0..={})",
                    layer.index,
                    clusters.len() - 1
                )),
            }
        }
        Selection::Channels(channels) => {
            let mut seen = BTreeSet::new();
            for &ch in channels {
                if ch >= c {
                    return Err(format!(
                        "channel {ch} is outside layer {}'s channels (allowed: 0..={})",
                        layer.index,
                        c - 1
                    ));
                }
                if !seen.insert(ch) {
                    return Err(format!("channel {ch} is listed twice"));
                }
            }
            Ok(channels.clone())
        }
    }
}

/// One entry after its selection is resolved.
struct Resolved<'a> {
    index: usize,
    entry: &'a BendEntry,
    channels: Vec<usize>,
    /// Shuffle only: `source[k]` is the channel whose map `channels[k]` takes.
    source: Vec<usize>,
}

impl Resolved<'_> {
    fn footprint(&self) -> BTreeSet<usize> {
        self.channels.iter().chain(&self.source).copied().collect()
    }
}

/// Compiles `spec` into the decoder inputs of `manifest`'s model. Entries with mix 0 are checked
/// but leave their stage neutral (`K = 0`). Rejects (naming the entries):
/// a layer that does not exist, a mix outside [0, 1], a selection that does not resolve, and two
/// entries on a shared channel whose order the block cannot run.
pub fn compile(spec: &BendSpec, manifest: &Manifest) -> Result<CompiledBend> {
    let mut resolved = Vec::with_capacity(spec.entries.len());
    for (i, entry) in spec.entries.iter().enumerate() {
        let label = EntryLabel(i, entry);
        let layer = manifest.layer(entry.layer).ok_or_else(|| {
            Error::Bend(format!(
                "{label}: layer {} does not exist in model `{}` (layers 1..={})",
                entry.layer,
                manifest.name,
                manifest.layers.len()
            ))
        })?;
        if !(0.0..=1.0).contains(&entry.mix) {
            return Err(Error::Bend(format!(
                "{label}: mix {} is outside [0, 1]",
                entry.mix
            )));
        }
        let channels = resolve_selection(entry, i, spec.seed, layer, manifest)
            .map_err(|e| Error::Bend(format!("{label}: {e}")))?;
        let source = if entry.transform.stage() == Stage::Shuffle {
            let mut rng = entry_rng(spec.seed, i, entry.seed, Purpose::Shuffle);
            let perm = cyclic_permutation(&mut rng, channels.len());
            perm.iter().map(|&p| channels[p]).collect()
        } else {
            Vec::new()
        };
        resolved.push(Resolved {
            index: i,
            entry,
            channels,
            source,
        });
    }
    check_order(&resolved)?;

    let mut out = CompiledBend::neutral(manifest);
    for r in &resolved {
        // Mix 0 is an exact identity; leaving the entry out keeps its stage at K = 0, which the
        // graph skips instead of computing (docs/bend-graph.md, "Neutral values").
        if r.entry.mix == 0.0 {
            continue;
        }
        let stage = r.entry.transform.stage();
        let layer = &mut out.layers[r.entry.layer - 1];
        let (h, w) = (layer.height, layer.width);
        let inputs = &mut layer.stages[stage as usize];
        for &ch in &r.channels {
            inputs.idx.push(ch as i64);
            inputs.mix.push(r.entry.mix);
            inputs.params.extend_from_slice(r.entry.transform.params());
        }
        inputs.source.extend(r.source.iter().map(|&s| s as i64));
        if stage == Stage::Noise {
            let start = inputs.field.len();
            inputs.field.resize(start + r.channels.len() * h * w, 0.0);
            let mut rng = entry_rng(spec.seed, r.index, r.entry.seed, Purpose::Noise);
            fill_standard_normal(&mut rng, &mut inputs.field[start..]);
        }
    }
    Ok(out)
}

/// The order/footprint rule: for entries `a` before `b` on the same layer with intersecting
/// footprints, stage(a) must run strictly before stage(b).
fn check_order(resolved: &[Resolved]) -> Result<()> {
    let footprints: Vec<BTreeSet<usize>> = resolved.iter().map(|r| r.footprint()).collect();
    for (ai, a) in resolved.iter().enumerate() {
        for (bi, b) in resolved.iter().enumerate().skip(ai + 1) {
            if a.entry.layer != b.entry.layer {
                continue;
            }
            let (sa, sb) = (a.entry.transform.stage(), b.entry.transform.stage());
            if sa < sb {
                continue;
            }
            let shared: Vec<usize> = footprints[ai]
                .intersection(&footprints[bi])
                .copied()
                .collect();
            if shared.is_empty() {
                continue;
            }
            let why = if sa == sb {
                format!(
                    "the bend block has one `{sa}` stage per layer, so it cannot apply `{sa}` twice to a channel"
                )
            } else {
                format!(
                    "the bend block runs `{sb}` (stage {}) before `{sa}` (stage {})",
                    sb.position(),
                    sa.position()
                )
            };
            let order = Stage::ALL.map(|s| s.name()).join(" -> ");
            return Err(Error::Bend(format!(
                "{} and {} share {} on layer {}, but {why}. Entries that share channels must \
                 follow the block order {order} (docs/bend-graph.md): reorder them or make \
                 their channels disjoint",
                EntryLabel(a.index, a.entry),
                EntryLabel(b.index, b.entry),
                describe_channels(&shared),
                a.entry.layer
            )));
        }
    }
    Ok(())
}

fn describe_channels(channels: &[usize]) -> String {
    const SHOWN: usize = 12;
    let list: Vec<String> = channels.iter().take(SHOWN).map(|c| c.to_string()).collect();
    let more = channels.len().saturating_sub(SHOWN);
    let noun = if channels.len() == 1 {
        "channel"
    } else {
        "channels"
    };
    if more > 0 {
        format!("{noun} {} (and {more} more)", list.join(", "))
    } else {
        format!("{noun} {}", list.join(", "))
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
