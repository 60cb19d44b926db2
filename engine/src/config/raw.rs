//! The config file as written, with positions: what serde reads before any checking.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// Top level of a config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// The reference implementation's list of bends; absent or empty is the neutral config.
    #[serde(default)]
    pub transforms: Option<Vec<Spanned<RawEntry>>>,
    /// Seed of entries without their own seed (Netbend).
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
    /// A cluster file in the reference implementation's format, relative to the config (Netbend).
    #[serde(default, rename = "cluster-file")]
    pub cluster_file: Option<Spanned<String>>,
    /// A named cluster map of the model manifest instead of `general` (Netbend).
    #[serde(default, rename = "cluster-map")]
    pub cluster_map: Option<Spanned<String>>,
}

/// One entry of `transforms:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry {
    pub layer: Spanned<i64>,
    pub transform: Spanned<String>,
    #[serde(default)]
    pub params: Option<Spanned<Vec<f64>>>,
    #[serde(default)]
    pub features: Option<Spanned<String>>,
    #[serde(default, rename = "feature-param")]
    pub feature_param: Option<Spanned<f64>>,
    #[serde(default)]
    pub mix: Option<Spanned<f64>>,
    #[serde(default)]
    pub seed: Option<Spanned<u64>>,
    #[serde(default)]
    pub channels: Option<Spanned<Vec<i64>>>,
    /// Netbend: a modulator on the mix or the main parameter (docs/config.md, "Modulation").
    #[serde(default)]
    pub modulate: Option<Spanned<RawModulator>>,
    /// Netbend: draw the random selection, shuffle and noise anew every note length or bars.
    #[serde(default)]
    pub reroll: Option<Spanned<RawRate>>,
}

/// An entry's `modulate:` block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModulator {
    pub shape: Spanned<String>,
    pub rate: Spanned<RawRate>,
    pub depth: Spanned<f64>,
    #[serde(default)]
    pub phase: Option<Spanned<f64>>,
    #[serde(default)]
    pub target: Option<Spanned<String>>,
    /// `[low, high]`: bounds the moved value is kept within (the plugin's parameter range).
    #[serde(default)]
    pub range: Option<Spanned<Vec<f64>>>,
}

/// A rate as written: a number (Hz) or text (a note length or bars).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawRate {
    Hz(f64),
    Text(String),
}
