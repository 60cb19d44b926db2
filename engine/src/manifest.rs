//! `manifest.json` (docs/model-manifest.md, format version 1): parsing and validation.

use crate::error::{Error, Result};
use crate::image_manifest::{self, ImageSettings, StyleGan2Settings};
use crate::stages::Stage;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub const FORMAT: &str = "netbend-model";
pub const FORMAT_VERSION: u64 = 1;
pub const BEND_INTERFACE: u64 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ModelKind {
    #[serde(rename = "spectrogram-vae")]
    SpectrogramVae,
    #[serde(rename = "stylegan2")]
    StyleGan2,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SpectrogramVae => "spectrogram-vae",
            ModelKind::StyleGan2 => "stylegan2",
        }
    }
}

/// STFT settings and window length (docs/signal.md).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSettings {
    pub sample_rate: u32,
    pub n_fft: usize,
    pub hop: usize,
    pub window: String,
    pub bins: usize,
    pub window_frames: usize,
}

/// The db-minmax constants the model was trained with (docs/signal.md).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalisation {
    pub kind: String,
    pub amin: f64,
    pub db_min: f64,
    pub db_max: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphInfo {
    pub file: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Graphs {
    pub encoder: Option<GraphInfo>,
    /// Image models: z -> w.
    #[serde(default)]
    pub mapping: Option<GraphInfo>,
    pub decoder: GraphInfo,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageInfo {
    pub name: String,
    pub params: usize,
}

/// One bendable layer.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerInfo {
    /// 1-based, as in configs.
    pub index: usize,
    /// Module path in the PyTorch model.
    pub name: String,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    /// Name of the decoder output with this layer's activation (`act.L{index}`).
    pub activation: String,
}

/// Cluster map name -> layer index (as a string) -> clusters -> channel indices.
pub type ClusterMaps = BTreeMap<String, BTreeMap<String, Vec<Vec<usize>>>>;

/// A parsed and validated manifest.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub format_version: u64,
    pub bend_interface: u64,
    pub kind: ModelKind,
    pub name: String,
    pub description: String,
    pub latent_dim: usize,
    /// The latent's shape when it is a map (the spatial-latent VAE: `[channels, height, width]`);
    /// `z` is still passed flat, `[B, latent_dim]`, and `latent_dim` is the product
    /// (docs/model-manifest.md). Absent for vector latents.
    #[serde(default)]
    pub latent_shape: Option<Vec<usize>>,
    pub signal: Option<SignalSettings>,
    pub normalisation: Option<Normalisation>,
    /// Image models only (docs/model-manifest.md, "Image models").
    #[serde(default)]
    pub image: Option<ImageSettings>,
    #[serde(default)]
    pub stylegan2: Option<StyleGan2Settings>,
    pub graphs: Graphs,
    pub stages: Vec<StageInfo>,
    pub layers: Vec<LayerInfo>,
    pub clusters: ClusterMaps,
    #[serde(default)]
    pub training: Option<serde_json::Value>,
    /// How `clusters.general` was made and the embedding CNNs per-clip clustering needs
    /// (docs/model-manifest.md, `clustering`); kept as JSON here and checked by
    /// [`crate::ClusteringInfo::from_manifest`] when per-clip clustering needs it, so that a
    /// broken record never stops rendering.
    #[serde(default)]
    pub clustering: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses and validates `text`, read from `file` (used in messages only).
    pub fn parse(text: &str, file: &Path) -> Result<Manifest> {
        let file = file.display();
        let bad =
            |field: &str, what: String| Error::Model(format!("{file}: field `{field}`: {what}"));
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Model(format!("{file} is not valid JSON: {e}")))?;
        match value.get("format") {
            Some(serde_json::Value::String(s)) if s == FORMAT => {}
            Some(other) => {
                return Err(bad(
                    "format",
                    format!("is {other}, expected \"{FORMAT}\": not a Netbend model manifest"),
                ));
            }
            None => {
                return Err(bad(
                    "format",
                    format!("missing (expected \"{FORMAT}\"): not a Netbend model manifest"),
                ));
            }
        }
        for (field, known) in [
            ("format_version", FORMAT_VERSION),
            ("bend_interface", BEND_INTERFACE),
        ] {
            match value.get(field).and_then(|v| v.as_u64()) {
                Some(v) if v == known => {}
                Some(v) => {
                    return Err(bad(
                        field,
                        format!(
                            "version {v} is not known to this Netbend (it reads version {known})"
                        ),
                    ));
                }
                None => {
                    return Err(bad(
                        field,
                        format!("missing or not an integer (expected {known})"),
                    ));
                }
            }
        }
        let manifest: Manifest = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            bad(&path, e.into_inner().to_string())
        })?;
        manifest
            .validate()
            .map_err(|(field, what)| bad(&field, what))?;
        Ok(manifest)
    }

    /// Checks what serde cannot: positive sizes, layer numbering, the stage list of bend
    /// interface 1, cluster contents. Returns (field, message).
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        if self.latent_dim == 0 {
            return Err(("latent_dim".into(), "must be positive".into()));
        }
        if let Some(shape) = &self.latent_shape {
            let product: usize = shape.iter().product();
            if shape.is_empty() || shape.contains(&0) || product != self.latent_dim {
                return Err((
                    "latent_shape".into(),
                    format!(
                        "{shape:?} must be positive sizes whose product is latent_dim ({})",
                        self.latent_dim
                    ),
                ));
            }
        }
        if self.kind == ModelKind::SpectrogramVae {
            if self.signal.is_none() {
                return Err((
                    "signal".into(),
                    "missing (required for audio models)".into(),
                ));
            }
            if self.normalisation.is_none() {
                return Err((
                    "normalisation".into(),
                    "missing (required for audio models)".into(),
                ));
            }
            if self.graphs.encoder.is_none() {
                return Err((
                    "graphs.encoder".into(),
                    "missing (required for spectrogram-vae)".into(),
                ));
            }
        }
        if self.kind == ModelKind::StyleGan2 {
            let missing = |field: &str| {
                (
                    field.to_string(),
                    "missing (required for stylegan2)".to_string(),
                )
            };
            let image = self.image.as_ref().ok_or_else(|| missing("image"))?;
            let sg = self
                .stylegan2
                .as_ref()
                .ok_or_else(|| missing("stylegan2"))?;
            if self.graphs.mapping.is_none() {
                return Err(missing("graphs.mapping"));
            }
            let layers: Vec<_> = self
                .layers
                .iter()
                .map(|l| (l.index, l.height, l.width))
                .collect();
            image_manifest::validate(image, sg, self.latent_dim, &layers)?;
        }
        if let Some(n) = &self.normalisation
            && n.kind != "db-minmax"
        {
            return Err((
                "normalisation.kind".into(),
                format!("is \"{}\", the only known kind is \"db-minmax\"", n.kind),
            ));
        }
        // Stages: exactly interface 1's list, in order, with its parameter counts.
        let expected: Vec<(&str, usize)> = Stage::ALL
            .iter()
            .map(|s| (s.name(), s.graph_params()))
            .collect();
        let got: Vec<(&str, usize)> = self
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.params))
            .collect();
        if got != expected {
            let i = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()));
            let want = expected
                .iter()
                .map(|(n, p)| format!("{n}({p})"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err((
                format!("stages[{i}]"),
                format!(
                    "the stage list differs from bend interface 1, which is (name(params)): {want}"
                ),
            ));
        }
        if self.layers.is_empty() {
            return Err(("layers".into(), "no bendable layers".into()));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if layer.index != i + 1 {
                return Err((
                    format!("layers[{i}].index"),
                    format!(
                        "is {}, expected {} (layers are numbered 1, 2, ... in order)",
                        layer.index,
                        i + 1
                    ),
                ));
            }
            for (name, v) in [
                ("channels", layer.channels),
                ("height", layer.height),
                ("width", layer.width),
            ] {
                if v == 0 {
                    return Err((
                        format!("layers[{i}].{name}"),
                        "must be positive, is 0".into(),
                    ));
                }
            }
            let act = format!("act.L{}", layer.index);
            if layer.activation != act {
                return Err((
                    format!("layers[{i}].activation"),
                    format!("is \"{}\", expected \"{act}\"", layer.activation),
                ));
            }
        }
        for (map, layers) in &self.clusters {
            for (key, clusters) in layers {
                let field = format!("clusters.{map}.{key}");
                let layer = key
                    .parse::<usize>()
                    .ok()
                    .and_then(|l| self.layers.get(l.wrapping_sub(1)))
                    .ok_or_else(|| {
                        (
                            field.clone(),
                            format!(
                                "names layer \"{key}\", which does not exist (layers 1..={})",
                                self.layers.len()
                            ),
                        )
                    })?;
                for (c, cluster) in clusters.iter().enumerate() {
                    if let Some(&bad) = cluster.iter().find(|&&ch| ch >= layer.channels) {
                        return Err((
                            format!("{field}[{c}]"),
                            format!(
                                "channel {bad} is outside [0, {}) of layer {}",
                                layer.channels, layer.index
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Layer `index` (1-based), if it exists.
    pub fn layer(&self, index: usize) -> Option<&LayerInfo> {
        self.layers.get(index.checked_sub(1)?)
    }

    /// The clusters of `layer` in the cluster map `map` (empty when it has none).
    pub fn clusters_of(&self, map: &str, layer: usize) -> &[Vec<usize>] {
        self.clusters
            .get(map)
            .and_then(|m| m.get(&layer.to_string()))
            .map(|c| c.as_slice())
            .unwrap_or(&[])
    }

    /// The decoder inputs that bend interface 1 implies for these layers, in a fixed order:
    /// the conditioning inputs ([`Manifest::decoder_conditioning_inputs`]), then per layer per
    /// stage the stage's inputs.
    pub fn expected_decoder_inputs(&self) -> Vec<String> {
        let mut names = self.decoder_conditioning_inputs();
        for layer in &self.layers {
            for stage in Stage::ALL {
                names.extend(stage.input_names(layer.index));
            }
        }
        names
    }

    /// The decoder inputs before the bend inputs: `z` for audio models; `w`, `psi` and the
    /// noise inputs for image models.
    pub fn decoder_conditioning_inputs(&self) -> Vec<String> {
        match (self.kind, &self.stylegan2) {
            (ModelKind::StyleGan2, Some(sg)) => image_manifest::decoder_conditioning_inputs(sg),
            _ => vec!["z".to_string()],
        }
    }

    /// The decoder's main output: `spectrogram` (audio) or `image`.
    pub fn decoder_output(&self) -> &'static str {
        match self.kind {
            ModelKind::SpectrogramVae => "spectrogram",
            ModelKind::StyleGan2 => "image",
        }
    }

    /// The decoder outputs implied by the layers: the main output, then `act.L{l}`.
    pub fn expected_decoder_outputs(&self) -> Vec<String> {
        let mut names = vec![self.decoder_output().to_string()];
        names.extend(self.layers.iter().map(|l| l.activation.clone()));
        names
    }
}

/// Compares two name lists as sets; returns a message naming what is missing and what is extra.
pub(crate) fn name_set_difference(expected: &[String], got: &[String]) -> Option<String> {
    let missing: Vec<&str> = expected
        .iter()
        .filter(|n| !got.contains(n))
        .map(|s| s.as_str())
        .collect();
    let extra: Vec<&str> = got
        .iter()
        .filter(|n| !expected.contains(n))
        .map(|s| s.as_str())
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("unexpected {}", extra.join(", ")));
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod latent_shape_tests {
    use super::Manifest;
    use crate::test_manifest_json::manifest_json;
    use std::path::Path;

    fn parse_with(latent: &str) -> crate::Result<Manifest> {
        let text = manifest_json(&[(16, 8, 33)], "{}").replace(r#""latent_dim": 8,"#, latent);
        Manifest::parse(&text, Path::new("m/manifest.json"))
    }

    #[test]
    fn a_latent_map_is_read_and_its_size_checked() {
        let m = parse_with(r#""latent_dim": 8448, "latent_shape": [32, 8, 33],"#).unwrap();
        assert_eq!(m.latent_shape, Some(vec![32, 8, 33]));
        assert_eq!(
            parse_with(r#""latent_dim": 8,"#).unwrap().latent_shape,
            None
        );
        for bad in ["[32, 8, 32]", "[]", "[0, 8, 33]"] {
            let err = parse_with(&format!(r#""latent_dim": 8448, "latent_shape": {bad},"#))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("m/manifest.json") && err.contains("`latent_shape`"),
                "{bad}: {err}"
            );
            assert!(err.contains("latent_dim (8448)"), "{err}");
        }
    }
}
