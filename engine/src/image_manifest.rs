//! The parts of `manifest.json` that only image models have (docs/model-manifest.md, "Image
//! models"): output size, w+ rows, mean latent and the decoder's per-layer noise inputs.

use crate::manifest::Manifest;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `image`: the decoder's output size and nominal value range.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageSettings {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub range: [f32; 2],
}

/// One `noise.L{l}` input of the decoder.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseInput {
    pub input: String,
    pub layer: usize,
    pub height: usize,
    pub width: usize,
}

/// `stylegan2`: what a renderer needs to build the decoder's inputs.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleGan2Settings {
    /// Rows of w+ (the decoder's `w` is `[B, n_latent, latent_dim]`).
    pub n_latent: usize,
    pub n_mlp: usize,
    pub channels: BTreeMap<String, usize>,
    pub mean_latent: Vec<f32>,
    pub mean_latent_source: String,
    pub noise: Vec<NoiseInput>,
}

/// The decoder inputs that come before the bend inputs: `w`, `psi`, then the noise inputs.
pub(crate) fn decoder_conditioning_inputs(settings: &StyleGan2Settings) -> Vec<String> {
    let mut names = vec!["w".to_string(), "psi".to_string()];
    names.extend(settings.noise.iter().map(|n| n.input.clone()));
    names
}

/// Checks an image model's manifest beyond its types. Returns (field, message).
pub(crate) fn validate(m: &Manifest) -> Result<(), (String, String)> {
    let missing = |field: &str| {
        (
            field.to_string(),
            "missing (required for stylegan2)".to_string(),
        )
    };
    let image = m.image.as_ref().ok_or_else(|| missing("image"))?;
    let sg = m.stylegan2.as_ref().ok_or_else(|| missing("stylegan2"))?;
    if m.graphs.mapping.is_none() {
        return Err(missing("graphs.mapping"));
    }
    if image.height == 0 || image.width == 0 || image.channels != 3 {
        return Err((
            "image".into(),
            format!(
                "is {}x{} with {} channels; the renderer needs a positive RGB (3-channel) size",
                image.height, image.width, image.channels
            ),
        ));
    }
    // Written so that NaN bounds are refused too.
    if image.range[0].partial_cmp(&image.range[1]) != Some(std::cmp::Ordering::Less) {
        return Err((
            "image.range".into(),
            format!(
                "[{}, {}] is not an increasing pair",
                image.range[0], image.range[1]
            ),
        ));
    }
    if sg.n_latent == 0 {
        return Err(("stylegan2.n_latent".into(), "must be positive".into()));
    }
    if sg.mean_latent.len() != m.latent_dim {
        return Err((
            "stylegan2.mean_latent".into(),
            format!(
                "has {} values, latent_dim is {}",
                sg.mean_latent.len(),
                m.latent_dim
            ),
        ));
    }
    if let Some(i) = sg.mean_latent.iter().position(|v| !v.is_finite()) {
        return Err((
            format!("stylegan2.mean_latent[{i}]"),
            "is not finite".into(),
        ));
    }
    // One noise input per layer, in layer order, at the layer's size: the renderer draws them
    // from the layers' sizes.
    if sg.noise.len() != m.layers.len() {
        return Err((
            "stylegan2.noise".into(),
            format!(
                "has {} entries, the model has {} layers (one noise input per layer)",
                sg.noise.len(),
                m.layers.len()
            ),
        ));
    }
    for (i, (n, l)) in sg.noise.iter().zip(&m.layers).enumerate() {
        let want = format!("noise.L{}", l.index);
        if n.input != want || n.layer != l.index || (n.height, n.width) != (l.height, l.width) {
            return Err((
                format!("stylegan2.noise[{i}]"),
                format!(
                    "is {} for layer {} at {}x{}, expected {want} for layer {} at {}x{}",
                    n.input, n.layer, n.height, n.width, l.index, l.height, l.width
                ),
            ));
        }
    }
    Ok(())
}
