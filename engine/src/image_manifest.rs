//! The parts of `manifest.json` that only image models have (docs/model-manifest.md, "Image
//! models"): output size, w+ rows, mean latent and the decoder's per-layer noise inputs.

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

/// Checks an image model's `image` and `stylegan2` entries beyond their types, against the
/// model's `latent_dim` and its layers' `(index, height, width)` in order (the manifest checks
/// that the entries are there: this module stays below the manifest that holds them). Returns
/// (field, message).
pub(crate) fn validate(
    image: &ImageSettings,
    sg: &StyleGan2Settings,
    latent_dim: usize,
    layers: &[(usize, usize, usize)],
) -> Result<(), (String, String)> {
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
    if sg.mean_latent.len() != latent_dim {
        return Err((
            "stylegan2.mean_latent".into(),
            format!(
                "has {} values, latent_dim is {}",
                sg.mean_latent.len(),
                latent_dim
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
    if sg.noise.len() != layers.len() {
        return Err((
            "stylegan2.noise".into(),
            format!(
                "has {} entries, the model has {} layers (one noise input per layer)",
                sg.noise.len(),
                layers.len()
            ),
        ));
    }
    for (i, (n, &(index, height, width))) in sg.noise.iter().zip(layers).enumerate() {
        let want = format!("noise.L{index}");
        if n.input != want || n.layer != index || (n.height, n.width) != (height, width) {
            return Err((
                format!("stylegan2.noise[{i}]"),
                format!(
                    "is {} for layer {} at {}x{}, expected {want} for layer {} at {}x{}",
                    n.input, n.layer, n.height, n.width, index, height, width
                ),
            ));
        }
    }
    Ok(())
}
