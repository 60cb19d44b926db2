//! The reference implementation's cluster file: `{layer: [{cluster_index, feature_index}, ...]}`.

use super::yaml::{Pos, deserialize_yaml, field_error};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Assignment {
    cluster_index: usize,
    feature_index: usize,
}

/// A parsed cluster file: for each layer, which cluster each listed channel belongs to.
#[derive(Clone, Debug)]
pub struct ClusterFile {
    path: PathBuf,
    /// layer -> (position of the layer's list, clusters as channel lists, each channel's
    /// entry position for errors found against a model)
    layers: BTreeMap<i64, LayerEntries>,
}

#[derive(Clone, Debug)]
struct LayerEntries {
    pos: Pos,
    clusters: Vec<Vec<usize>>,
    entry_pos: BTreeMap<usize, Pos>,
}

impl ClusterFile {
    pub fn read(path: &Path) -> Result<ClusterFile> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!("cannot read cluster file {}: {e}", path.display()))
        })?;
        ClusterFile::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<ClusterFile> {
        let raw: BTreeMap<i64, Spanned<Vec<Spanned<Assignment>>>> = deserialize_yaml(text, path)?;
        let mut layers = BTreeMap::new();
        for (layer, list) in raw {
            let mut clusters: Vec<Vec<usize>> = Vec::new();
            let mut entry_pos = BTreeMap::new();
            for a in &list.value {
                let Assignment {
                    cluster_index,
                    feature_index,
                } = a.value;
                if entry_pos
                    .insert(feature_index, a.referenced.into())
                    .is_some()
                {
                    return Err(field_error(
                        path,
                        a.referenced.into(),
                        &format!("{layer}.feature_index"),
                        format!("channel {feature_index} is assigned to more than one cluster"),
                    ));
                }
                if clusters.len() <= cluster_index {
                    clusters.resize(cluster_index + 1, Vec::new());
                }
                clusters[cluster_index].push(feature_index);
            }
            // Cluster indices are positions (`feature-param: j` selects cluster j): a gap would
            // make an index select nothing, which is a mistake in the file, not an empty bend.
            if let Some(j) = clusters.iter().position(|c| c.is_empty()) {
                return Err(field_error(
                    path,
                    list.referenced.into(),
                    &format!("{layer}.cluster_index"),
                    format!(
                        "no channel has cluster_index {j}, but {} does: clusters must be numbered \
                         0..={} without gaps",
                        clusters.len() - 1,
                        clusters.len() - 1
                    ),
                ));
            }
            for c in &mut clusters {
                c.sort_unstable();
            }
            layers.insert(
                layer,
                LayerEntries {
                    pos: list.referenced.into(),
                    clusters,
                    entry_pos,
                },
            );
        }
        Ok(ClusterFile {
            path: path.to_path_buf(),
            layers,
        })
    }

    /// Clusters per layer of `manifest`'s model (`result[layer - 1][cluster]`), checking that
    /// every layer exists, every channel is in range and every channel of a listed layer is in
    /// exactly one cluster. Layers the file does not list have no clusters.
    pub fn per_layer(&self, manifest: &Manifest) -> Result<Arc<Vec<Vec<Vec<usize>>>>> {
        let mut out = vec![Vec::new(); manifest.layers.len()];
        for (&layer, entries) in &self.layers {
            let LayerEntries {
                pos,
                clusters,
                entry_pos,
            } = entries;
            let info = usize::try_from(layer)
                .ok()
                .and_then(|l| manifest.layer(l))
                .ok_or_else(|| {
                    field_error(
                        &self.path,
                        *pos,
                        &layer.to_string(),
                        format!(
                            "layer {layer} is out of range for model `{}`: allowed 1..={}",
                            manifest.name,
                            manifest.layers.len()
                        ),
                    )
                })?;
            if let Some((&c, &p)) = entry_pos.range(info.channels..).next() {
                return Err(field_error(
                    &self.path,
                    p,
                    &format!("{layer}.feature_index"),
                    format!(
                        "channel {c} is outside layer {layer}'s channels: allowed 0..={}",
                        info.channels - 1
                    ),
                ));
            }
            // A clustering partitions the layer: a channel left out is a file made for another
            // model (or cut short), which would silently leave that channel unbendable by cluster.
            let missing: Vec<usize> = (0..info.channels)
                .filter(|c| !entry_pos.contains_key(c))
                .collect();
            if !missing.is_empty() {
                let shown: Vec<String> = missing.iter().take(8).map(|c| c.to_string()).collect();
                return Err(field_error(
                    &self.path,
                    *pos,
                    &layer.to_string(),
                    format!(
                        "layer {layer} has {} channels and every one needs a cluster; {} missing: {}{}",
                        info.channels,
                        missing.len(),
                        shown.join(", "),
                        if missing.len() > 8 { ", ..." } else { "" }
                    ),
                ));
            }
            out[info.index - 1] = clusters.clone();
        }
        Ok(Arc::new(out))
    }
}
