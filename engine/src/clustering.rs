//! The manifest's `clustering` record (docs/model-manifest.md) and cluster maps: what per-clip
//! clustering ([`crate::clip_clusters`]) needs to know, checked with errors naming the manifest
//! and the field, and the reference implementation's cluster-file format for writing a map.

use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::spec::ClusterSource;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Layer `l`'s embedding CNN (`clustering.embeddings["l"]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct EmbeddingInfo {
    /// ONNX file, relative to the model directory.
    pub file: String,
    pub input: String,
    pub output: String,
    pub height: usize,
    pub width: usize,
    #[serde(default)]
    pub depth: Option<usize>,
}

#[derive(Deserialize)]
struct RawClustering {
    algorithm: String,
    rng: String,
    seed: u64,
    max_iter: usize,
    k: BTreeMap<String, usize>,
    embedding_dim: usize,
    embeddings: BTreeMap<String, EmbeddingInfo>,
}

/// The checked `clustering` record, per layer in layer order.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusteringInfo {
    /// The seed `clusters.general` was made with: per-clip clustering's default.
    pub seed: u64,
    pub max_iter: usize,
    /// Clusters per layer (`k[layer - 1]`) as the general clusters used them.
    pub k: Vec<usize>,
    pub embedding_dim: usize,
    /// `embeddings[layer - 1]`.
    pub embeddings: Vec<EmbeddingInfo>,
}

impl ClusteringInfo {
    /// Reads `manifest.clustering`; `manifest_path` is for messages. Every layer of the model
    /// must have an embedding CNN whose map size is the layer's.
    pub fn from_manifest(manifest: &Manifest, manifest_path: &Path) -> Result<ClusteringInfo> {
        let mpath = manifest_path.display();
        let value = manifest.clustering.as_ref().ok_or_else(|| {
            Error::Model(format!(
                "{mpath}: no `clustering` record, so model `{}` has no embedding CNNs for \
                 per-clip clustering; make them with `python -m netbend_models.clustering.vae` \
                 (models/README.md)",
                manifest.name
            ))
        })?;
        let raw: RawClustering = serde_path_to_error::deserialize(value).map_err(|e| {
            Error::Model(format!(
                "{mpath}: field `clustering.{}`: {}",
                e.path(),
                e.inner()
            ))
        })?;
        let field = |name: &str, msg: String| {
            Error::Model(format!("{mpath}: field `clustering.{name}`: {msg}"))
        };
        if raw.algorithm != "kmeans-lloyd-forgy" {
            return Err(field(
                "algorithm",
                format!(
                    "\"{}\" is not supported; allowed: \"kmeans-lloyd-forgy\"",
                    raw.algorithm
                ),
            ));
        }
        if raw.rng != "splitmix64" {
            return Err(field(
                "rng",
                format!("\"{}\" is not supported; allowed: \"splitmix64\"", raw.rng),
            ));
        }
        if raw.max_iter == 0 || raw.embedding_dim == 0 {
            return Err(field(
                "max_iter",
                "`max_iter` and `embedding_dim` must be at least 1".into(),
            ));
        }
        let mut k = Vec::new();
        let mut embeddings = Vec::new();
        for layer in &manifest.layers {
            let key = layer.index.to_string();
            let kl = *raw
                .k
                .get(&key)
                .ok_or_else(|| field("k", format!("layer {key} has no cluster count")))?;
            if kl == 0 {
                return Err(field(&format!("k.{key}"), "must be at least 1".into()));
            }
            let e = raw
                .embeddings
                .get(&key)
                .ok_or_else(|| field("embeddings", format!("layer {key} has no embedding CNN")))?;
            if (e.height, e.width) != (layer.height, layer.width) {
                return Err(field(
                    &format!("embeddings.{key}"),
                    format!(
                        "map size {}x{} differs from layer {key}'s activation {}x{}",
                        e.height, e.width, layer.height, layer.width
                    ),
                ));
            }
            k.push(kl);
            embeddings.push(e.clone());
        }
        for key in raw.k.keys().chain(raw.embeddings.keys()) {
            if key
                .parse::<usize>()
                .ok()
                .and_then(|l| manifest.layer(l))
                .is_none()
            {
                return Err(field(
                    key,
                    format!(
                        "layer {key} does not exist: allowed 1..={}",
                        manifest.layers.len()
                    ),
                ));
            }
        }
        Ok(ClusteringInfo {
            seed: raw.seed,
            max_iter: raw.max_iter,
            k,
            embedding_dim: raw.embedding_dim,
            embeddings,
        })
    }
}

/// Clusters of every layer of one model: `layers[layer - 1][cluster]` lists channels in
/// ascending order; every channel of a clustered layer is in exactly one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterMap {
    pub layers: Vec<Vec<Vec<usize>>>,
}

impl ClusterMap {
    /// "L1 5, L2 5, L3 4, L4 4": clusters per layer, for progress and status lines.
    pub fn counts(&self) -> String {
        let layers: Vec<String> = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, c)| format!("L{} {}", l + 1, c.len()))
            .collect();
        layers.join(", ")
    }

    /// The map as a bend spec's cluster source (in place of the manifest's `general`).
    pub fn to_source(&self) -> ClusterSource {
        ClusterSource::Explicit(Arc::new(self.layers.clone()))
    }

    /// The reference implementation's cluster file, `{layer: [{cluster_index, feature_index},
    /// ...]}` with one entry per channel in channel order, written exactly as the Python
    /// pipeline's `yaml.safe_dump` writes it (so both sides' files compare byte for byte).
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (i, clusters) in self.layers.iter().enumerate() {
            if clusters.is_empty() {
                continue;
            }
            let mut entries: Vec<(usize, usize)> = clusters
                .iter()
                .enumerate()
                .flat_map(|(j, c)| c.iter().map(move |&f| (f, j)))
                .collect();
            entries.sort_unstable();
            out.push_str(&format!("{}:\n", i + 1));
            for (f, j) in entries {
                out.push_str(&format!("- cluster_index: {j}\n  feature_index: {f}\n"));
            }
        }
        if out.is_empty() {
            out.push_str("{}\n");
        }
        out
    }
}

/// Writes `text` to `path` through a temporary file in the same folder and a rename, so that
/// readers see the old file or the new one, never a partial one.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clusters.yaml".into());
    let err = |what: &str, e: std::io::Error| {
        Error::Config(format!("cannot write {}: {what}: {e}", path.display()))
    };
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| err("create a temporary file", e))?;
        f.write_all(text.as_bytes()).map_err(|e| err("write", e))?;
        f.sync_all().map_err(|e| err("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| err("rename into place", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClusterFile;
    use crate::test_manifest_json::manifest_json;

    fn manifest_with(clustering: &str) -> Manifest {
        let text = manifest_json(&[(4, 2, 3), (2, 4, 5)], "{}");
        let text = text.trim_end().trim_end_matches('}').to_string()
            + &format!(", \"clustering\": {clustering}}}");
        Manifest::parse(&text, Path::new("m/manifest.json")).unwrap()
    }

    const GOOD: &str = r#"{"algorithm": "kmeans-lloyd-forgy", "rng": "splitmix64", "seed": 3,
        "max_iter": 300, "k": {"1": 2, "2": 2}, "embedding_dim": 10,
        "embeddings": {"1": {"file": "embed.L1.onnx", "input": "maps", "output": "embedding",
                             "height": 2, "width": 3, "depth": 1},
                       "2": {"file": "embed.L2.onnx", "input": "maps", "output": "embedding",
                             "height": 4, "width": 5, "depth": 2}}}"#;

    #[test]
    fn a_complete_record_is_read_per_layer() {
        let info =
            ClusteringInfo::from_manifest(&manifest_with(GOOD), Path::new("m/manifest.json"))
                .unwrap();
        assert_eq!(info.seed, 3);
        assert_eq!(info.k, vec![2, 2]);
        assert_eq!(info.embeddings[1].file, "embed.L2.onnx");
    }

    #[test]
    fn records_that_do_not_fit_the_model_are_refused_by_field() {
        let cases = [
            (
                GOOD.replace("\"height\": 4", "\"height\": 7"),
                "clustering.embeddings.2`: map size 7x5",
            ),
            (
                GOOD.replace("\"2\": 2}", "\"2\": 2, \"5\": 1}"),
                "layer 5 does not exist",
            ),
            (GOOD.replace("splitmix64", "pcg"), "clustering.rng"),
            (
                GOOD.replace("\"seed\": 3", "\"seed\": -3"),
                "clustering.seed",
            ),
            (
                GOOD.replace("\"k\": {\"1\": 2, \"2\": 2}", "\"k\": {\"1\": 2}"),
                "layer 2 has no cluster count",
            ),
        ];
        for (text, needle) in cases {
            let err =
                ClusteringInfo::from_manifest(&manifest_with(&text), Path::new("m/manifest.json"))
                    .unwrap_err()
                    .to_string();
            assert!(err.starts_with("m/manifest.json: "), "{err}");
            assert!(err.contains(needle), "{needle}: {err}");
        }
        let m = Manifest::parse(&manifest_json(&[(4, 2, 3)], "{}"), Path::new("x.json")).unwrap();
        let err = ClusteringInfo::from_manifest(&m, Path::new("x.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `clustering` record"), "{err}");
    }

    #[test]
    fn yaml_is_pyyamls_layout_and_reads_back_through_the_config_parser() {
        let map = ClusterMap {
            layers: vec![vec![vec![1, 3], vec![0, 2]], vec![vec![0], vec![1]]],
        };
        let text = map.to_yaml();
        assert!(text.starts_with("1:\n- cluster_index: 1\n  feature_index: 0\n- cluster_index: 0\n  feature_index: 1\n"), "{text}");
        let m = manifest_with(GOOD);
        let back = ClusterFile::parse(&text, Path::new("c.yaml"))
            .unwrap()
            .per_layer(&m)
            .unwrap();
        assert_eq!(*back, map.layers);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        write_atomically(&path, &text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
