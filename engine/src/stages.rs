//! The bend block's stages (docs/bend-graph.md, "The bend block"): one vocabulary shared by the
//! graph's input names and the config file's transform names.

use std::fmt;

/// One stage of a layer's bend block. The declaration order is the block's fixed application
/// order, so `Ord` compares stages by when they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Shuffle,
    Translate,
    Scale,
    Rotate,
    FlipH,
    FlipV,
    Erode,
    Dilate,
    ScalarMultiply,
    Offset,
    Invert,
    BinaryThresh,
    Noise,
    Ablate,
}

impl Stage {
    /// Every stage in application order.
    pub const ALL: [Stage; 14] = [
        Stage::Shuffle,
        Stage::Translate,
        Stage::Scale,
        Stage::Rotate,
        Stage::FlipH,
        Stage::FlipV,
        Stage::Erode,
        Stage::Dilate,
        Stage::ScalarMultiply,
        Stage::Offset,
        Stage::Invert,
        Stage::BinaryThresh,
        Stage::Noise,
        Stage::Ablate,
    ];

    /// The name used in graph inputs (`L1.flip-h.idx`) and in config files (`transform: flip-h`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Shuffle => "shuffle",
            Stage::Translate => "translate",
            Stage::Scale => "scale",
            Stage::Rotate => "rotate",
            Stage::FlipH => "flip-h",
            Stage::FlipV => "flip-v",
            Stage::Erode => "erode",
            Stage::Dilate => "dilate",
            Stage::ScalarMultiply => "scalar-multiply",
            Stage::Offset => "offset",
            Stage::Invert => "invert",
            Stage::BinaryThresh => "binary-thresh",
            Stage::Noise => "noise",
            Stage::Ablate => "ablate",
        }
    }

    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Position in the block, 1-based as in the table of docs/bend-graph.md.
    pub fn position(self) -> usize {
        self as usize + 1
    }

    /// Parameters per selected channel in the graph (`P` of `L{l}.{stage}.params`).
    pub fn graph_params(self) -> usize {
        match self {
            Stage::Translate | Stage::Scale => 2,
            Stage::Rotate
            | Stage::Erode
            | Stage::Dilate
            | Stage::ScalarMultiply
            | Stage::Offset
            | Stage::BinaryThresh
            | Stage::Noise => 1,
            Stage::Shuffle | Stage::FlipH | Stage::FlipV | Stage::Invert | Stage::Ablate => 0,
        }
    }

    /// The names of the parameters, for documentation and error messages.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Stage::Translate => &["px", "py"],
            Stage::Scale => &["kx", "ky"],
            Stage::Rotate => &["theta"],
            Stage::Erode | Stage::Dilate => &["r"],
            Stage::ScalarMultiply => &["p"],
            Stage::Offset => &["b"],
            Stage::BinaryThresh => &["t"],
            Stage::Noise => &["sigma"],
            Stage::Shuffle | Stage::FlipH | Stage::FlipV | Stage::Invert | Stage::Ablate => &[],
        }
    }

    /// The graph input names of this stage in layer `layer`, in the order idx, mix, params,
    /// source (shuffle), field (noise).
    pub fn input_names(self, layer: usize) -> Vec<String> {
        let base = format!("L{layer}.{}", self.name());
        let mut names = vec![format!("{base}.idx"), format!("{base}.mix")];
        if self.graph_params() > 0 {
            names.push(format!("{base}.params"));
        }
        if self == Stage::Shuffle {
            names.push(format!("{base}.source"));
        }
        if self == Stage::Noise {
            names.push(format!("{base}.field"));
        }
        names
    }

    /// All transform names, comma separated, for "allowed values" in error messages.
    pub fn all_names() -> String {
        Stage::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_matches_the_spec_table() {
        for (i, stage) in Stage::ALL.iter().enumerate() {
            assert_eq!(Stage::from_name(stage.name()), Some(*stage));
            assert_eq!(stage.position(), i + 1);
            assert_eq!(stage.param_names().len(), stage.graph_params());
        }
        assert!(Stage::Shuffle < Stage::Ablate);
        assert_eq!(Stage::from_name("flip_h"), None);
    }

    #[test]
    fn input_names_follow_the_spec() {
        assert_eq!(
            Stage::Shuffle.input_names(2),
            ["L2.shuffle.idx", "L2.shuffle.mix", "L2.shuffle.source"]
        );
        assert_eq!(
            Stage::Noise.input_names(1),
            [
                "L1.noise.idx",
                "L1.noise.mix",
                "L1.noise.params",
                "L1.noise.field"
            ]
        );
        assert_eq!(
            Stage::Ablate.input_names(4),
            ["L4.ablate.idx", "L4.ablate.mix"]
        );
    }
}
