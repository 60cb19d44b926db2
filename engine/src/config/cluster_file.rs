//! The reference implementation's cluster file: `{layer: [{cluster_index, feature_index}, ...]}`.

use super::{Pos, deserialize_yaml, field_error};
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
    /// layer -> (position of the layer's list, clusters as channel lists)
    layers: BTreeMap<i64, (Pos, Vec<Vec<usize>>)>,
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
            let mut seen = std::collections::BTreeSet::new();
            for a in &list.value {
                let Assignment {
                    cluster_index,
                    feature_index,
                } = a.value;
                if !seen.insert(feature_index) {
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
            for c in &mut clusters {
                c.sort_unstable();
            }
            layers.insert(layer, (list.referenced.into(), clusters));
        }
        Ok(ClusterFile {
            path: path.to_path_buf(),
            layers,
        })
    }

    /// Clusters per layer of `manifest`'s model (`result[layer - 1][cluster]`), checking that
    /// every layer exists and every channel is in range.
    pub fn per_layer(&self, manifest: &Manifest) -> Result<Arc<Vec<Vec<Vec<usize>>>>> {
        let mut out = vec![Vec::new(); manifest.layers.len()];
        for (&layer, (pos, clusters)) in &self.layers {
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
            for c in clusters.iter().flatten() {
                if *c >= info.channels {
                    return Err(field_error(
                        &self.path,
                        *pos,
                        &format!("{layer}.feature_index"),
                        format!(
                            "channel {c} is outside layer {layer}'s channels 0..={}",
                            info.channels - 1
                        ),
                    ));
                }
            }
            out[info.index - 1] = clusters.clone();
        }
        Ok(Arc::new(out))
    }
}
