//! The decoder's bend input tensors: built for the neutral bend once, then only the stages that
//! change are rebuilt ([`BendTensors::set`]); every run borrows them. Shared by the audio and the
//! image runtime, whose decoders take the same bend inputs (docs/bend-graph.md).

use crate::compile::{CompiledBend, StageInputs};
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::stages::Stage;
use ort::session::SessionInputValue;
use ort::value::{DynValue, Tensor};
use std::borrow::Cow;

pub(crate) struct BendTensors {
    /// In the order of `Manifest::expected_decoder_inputs` (without the conditioning inputs).
    values: Vec<(String, DynValue)>,
    bend: CompiledBend,
}

impl BendTensors {
    pub fn neutral(manifest: &Manifest) -> Result<BendTensors> {
        let bend = CompiledBend::neutral(manifest);
        let mut values = Vec::new();
        for layer in &bend.layers {
            for stage in Stage::ALL {
                let v = stage_values(stage, layer.stage(stage), layer.height, layer.width)?;
                values.extend(stage.input_names(layer.index).into_iter().zip(v));
            }
        }
        Ok(BendTensors { values, bend })
    }

    pub fn bend(&self) -> &CompiledBend {
        &self.bend
    }

    /// Makes `bend` current. Only the tensors of stages that changed are rebuilt.
    pub fn set(&mut self, bend: &CompiledBend, manifest: &Manifest) -> Result<()> {
        let layers = &manifest.layers;
        let shapes_match = bend.layers.len() == layers.len()
            && bend.layers.iter().zip(layers).all(|(b, l)| {
                b.index == l.index
                    && b.height == l.height
                    && b.width == l.width
                    && b.stages.len() == Stage::ALL.len()
            });
        if !shapes_match {
            return Err(Error::Bend(format!(
                "the bend was compiled for another model than `{}`",
                manifest.name
            )));
        }
        let mut position = 0;
        for (new_layer, old_layer) in bend.layers.iter().zip(&self.bend.layers) {
            for stage in Stage::ALL {
                let names = stage.input_names(new_layer.index).len();
                let (new, old) = (new_layer.stage(stage), old_layer.stage(stage));
                if new != old {
                    let values = stage_values(stage, new, new_layer.height, new_layer.width)?;
                    for (slot, value) in self.values[position..position + names]
                        .iter_mut()
                        .zip(values)
                    {
                        slot.1 = value;
                    }
                }
                position += names;
            }
        }
        self.bend = bend.clone();
        Ok(())
    }

    /// Appends views of the bend tensors to a session's inputs.
    pub fn push_inputs<'v>(&'v self, inputs: &mut Vec<(Cow<'v, str>, SessionInputValue<'v>)>) {
        for (name, value) in &self.values {
            inputs.push((Cow::Borrowed(name.as_str()), value.into()));
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// The tensors of one stage's inputs, in `Stage::input_names` order.
fn stage_values(
    stage: Stage,
    s: &StageInputs,
    height: usize,
    width: usize,
) -> Result<Vec<DynValue>> {
    let k = s.len();
    let p = stage.graph_params();
    let bad = |what: &str| {
        Error::Bend(format!(
            "stage `{stage}`: {what} has the wrong length for K = {k}"
        ))
    };
    let err = |e: ort::Error| Error::Runtime(format!("cannot make a bend input tensor: {e}"));
    let mut values = vec![
        Tensor::from_array(([k], s.idx.clone()))
            .map_err(&err)?
            .into_dyn(),
    ];
    if s.mix.len() != k {
        return Err(bad("mix"));
    }
    values.push(
        Tensor::from_array(([k], s.mix.clone()))
            .map_err(&err)?
            .into_dyn(),
    );
    if p > 0 {
        if s.params.len() != k * p {
            return Err(bad("params"));
        }
        values.push(
            Tensor::from_array(([k, p], s.params.clone()))
                .map_err(&err)?
                .into_dyn(),
        );
    }
    if stage == Stage::Shuffle {
        if s.source.len() != k {
            return Err(bad("source"));
        }
        values.push(
            Tensor::from_array(([k], s.source.clone()))
                .map_err(&err)?
                .into_dyn(),
        );
    }
    if stage == Stage::Noise {
        if s.field.len() != k * height * width {
            return Err(bad("field"));
        }
        values.push(
            Tensor::from_array(([k, height, width], s.field.clone()))
                .map_err(&err)?
                .into_dyn(),
        );
    }
    Ok(values)
}
