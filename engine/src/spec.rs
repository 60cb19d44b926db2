//! `BendSpec`: what to bend, independent of file formats. An ordered list of entries, each with
//! the paper's five items (layer, transform, params, selection kind and its parameter) plus
//! Netbend's: explicit channels, mix, seed. Config files ([`crate::config`]) and the plugin both
//! produce one; [`crate::compile`] turns it into graph inputs for one model.

use crate::stages::Stage;
use std::fmt;

/// A transform with its parameters, already checked (count and range) and in the graph's layout
/// (`Stage::graph_params()` values).
#[derive(Clone, Debug, PartialEq)]
pub struct Transform {
    stage: Stage,
    params: Vec<f32>,
}

impl Transform {
    /// Checks `params` for `stage` and converts them to the graph's layout. `scale` accepts one
    /// parameter (uniform, as in the reference implementation) or two (`kx, ky`). The error says
    /// what is allowed.
    pub fn new(stage: Stage, params: &[f64]) -> Result<Transform, String> {
        let names = stage.param_names();
        let uniform_scale = stage == Stage::Scale && params.len() == 1;
        if params.len() != names.len() && !uniform_scale {
            let expected = match (stage, names.len()) {
                (Stage::Scale, _) => "1 (k, uniform) or 2 (kx, ky)".to_string(),
                (_, 0) => "none (an empty list `[]` or no `params` key)".to_string(),
                (_, n) => format!("{n} ({})", names.join(", ")),
            };
            return Err(format!(
                "`{stage}` takes {expected} parameter(s), got {}",
                params.len()
            ));
        }
        if let Some(i) = params.iter().position(|p| !p.is_finite()) {
            return Err(format!(
                "`{stage}` parameter {} is not a finite number",
                i + 1
            ));
        }
        let mut values: Vec<f64> = if uniform_scale {
            vec![params[0], params[0]]
        } else {
            params.to_vec()
        };
        match stage {
            Stage::Scale if values.contains(&0.0) => {
                return Err("`scale` factors kx, ky must be non-zero".into());
            }
            Stage::Erode | Stage::Dilate => {
                // Ties to even, like the graph's ONNX `Round` (docs/bend-graph.md): 2.5 -> 2.
                let r = values[0].round_ties_even();
                if !(1.0..=3.0).contains(&r) {
                    return Err(format!(
                        "`{stage}` radius r must round to 1, 2 or 3, got {}",
                        values[0]
                    ));
                }
                values[0] = r;
            }
            Stage::Noise if values[0] < 0.0 => {
                return Err(format!("`noise` sigma must be >= 0, got {}", values[0]));
            }
            _ => {}
        }
        Ok(Transform {
            stage,
            params: values.into_iter().map(|v| v as f32).collect(),
        })
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Parameters in the graph's layout (`stage().graph_params()` values).
    pub fn params(&self) -> &[f32] {
        &self.params
    }
}

/// Which channels of the layer an entry bends.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// Every channel of the layer.
    All,
    /// `round(fraction * C)` channels (at least 1) drawn from the entry's seed;
    /// `fraction` in (0, 1].
    Random { fraction: f64 },
    /// Cluster `index` (0-based) of the layer in the model's cluster map `map`
    /// (`general` by default) or in a cluster file given to the config.
    Cluster { index: usize, map: ClusterSource },
    /// Exactly these channels (0-based, distinct).
    Channels(Vec<usize>),
}

/// Where a cluster selection looks its clusters up.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterSource {
    /// A named cluster map of the model manifest (`general` is the default).
    Manifest(String),
    /// Clusters given explicitly, per layer (e.g. read from a reference-format cluster file):
    /// `clusters[layer - 1][cluster] = channels`.
    Explicit(std::sync::Arc<Vec<Vec<Vec<usize>>>>),
}

impl Default for ClusterSource {
    fn default() -> Self {
        ClusterSource::Manifest("general".to_string())
    }
}

/// One bend: the paper's five items plus Netbend's mix, channels and seed.
#[derive(Clone, Debug, PartialEq)]
pub struct BendEntry {
    /// 1-based layer index, as in the paper and the manifest.
    pub layer: usize,
    pub transform: Transform,
    pub selection: Selection,
    /// Per-channel mix in [0, 1]: 0 leaves the channel unchanged, 1 applies the transform fully.
    pub mix: f32,
    /// Seed of this entry's random selection, shuffle permutation and noise field. `None`: derived
    /// from the spec's seed and the entry's position (docs/config.md, "Seeds").
    pub seed: Option<u64>,
    /// Where the entry came from, for messages (e.g. `bend.yaml:7`); `None` for programmatic entries.
    pub origin: Option<String>,
    /// How the entry moves over the song (a modulator, a re-roll); `None`: it stands still.
    /// Compiling uses the values above; [`BendSpec::at`] gives the spec at a song position.
    pub motion: Option<crate::motion::Motion>,
}

impl BendEntry {
    pub fn new(layer: usize, transform: Transform, selection: Selection) -> BendEntry {
        BendEntry {
            layer,
            transform,
            selection,
            mix: 1.0,
            seed: None,
            origin: None,
            motion: None,
        }
    }

    pub fn with_mix(mut self, mix: f32) -> BendEntry {
        self.mix = mix;
        self
    }

    pub fn with_seed(mut self, seed: u64) -> BendEntry {
        self.seed = Some(seed);
        self
    }
}

/// An ordered list of bends plus the seed that random choices derive from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BendSpec {
    pub entries: Vec<BendEntry>,
    /// Seed for entries without their own seed. A new seed gives new random selections,
    /// permutations and noise.
    pub seed: u64,
}

impl BendSpec {
    /// The neutral spec: no entries.
    pub fn neutral() -> BendSpec {
        BendSpec::default()
    }

    pub fn with_seed(mut self, seed: u64) -> BendSpec {
        self.seed = seed;
        self
    }

    pub fn push(mut self, entry: BendEntry) -> BendSpec {
        self.entries.push(entry);
        self
    }
}

/// How an entry is named in messages: "entry 2 (`erode` on layer 1, bend.yaml:7)".
pub(crate) struct EntryLabel<'a>(pub usize, pub &'a BendEntry);

impl fmt::Display for EntryLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EntryLabel(i, e) = self;
        write!(
            f,
            "entry {} (`{}` on layer {}",
            i + 1,
            e.transform.stage(),
            e.layer
        )?;
        if let Some(origin) = &e.origin {
            write!(f, ", {origin}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_param_counts_and_ranges() {
        assert_eq!(
            Transform::new(Stage::Scale, &[0.6]).unwrap().params(),
            &[0.6, 0.6]
        );
        assert_eq!(
            Transform::new(Stage::Erode, &[2.4]).unwrap().params(),
            &[2.0]
        );
        assert_eq!(
            Transform::new(Stage::Erode, &[2.5]).unwrap().params(),
            &[2.0]
        );
        assert_eq!(
            Transform::new(Stage::Dilate, &[1.5]).unwrap().params(),
            &[2.0]
        );
        assert!(Transform::new(Stage::Dilate, &[0.5]).is_err());
        assert!(Transform::new(Stage::Dilate, &[3.5]).is_err());
        let e = Transform::new(Stage::Translate, &[0.25]).unwrap_err();
        assert!(e.contains("2 (px, py)"), "{e}");
        let e = Transform::new(Stage::Ablate, &[1.0]).unwrap_err();
        assert!(e.contains("none"), "{e}");
        let e = Transform::new(Stage::Dilate, &[4.0]).unwrap_err();
        assert!(e.contains("1, 2 or 3"), "{e}");
        assert!(Transform::new(Stage::Scale, &[0.0, 1.0]).is_err());
        assert!(Transform::new(Stage::Noise, &[-1.0]).is_err());
        assert!(Transform::new(Stage::Rotate, &[f64::NAN]).is_err());
    }
}
