"""Shared fixtures: the tiny random-weight model, exported once per test session by the CLI with
exactly the arguments that made the committed tests/data/tiny-vae/; and what the tests of the
committed tiny models compare."""
from pathlib import Path

import onnx
import pytest

from netbend_models.export import vae as export

COMMITTED_DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
TINY_WIDTH, TINY_SEED = 0.015625, 0
TINY_DESCRIPTION = "random weights (seed 0), width 1/64: interface tests only, not a trained model"
TINY_ARGS = ["--random-width", str(TINY_WIDTH), "--seed", str(TINY_SEED), "--name", "tiny-vae",
             "--description", TINY_DESCRIPTION]


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory):
    """(model, directory) of the tiny model as the exporter writes it now."""
    out = tmp_path_factory.mktemp("tiny") / "tiny-vae"
    export.main([*TINY_ARGS, "--out", str(out)])
    return export.random_model(TINY_WIDTH, TINY_SEED), out


def graph_structure(path):
    """(inputs, outputs) of an ONNX file as (name, element type, dims) each: what must stay the same
    between a committed graph and a fresh export, whose bytes change with torch/onnx versions."""
    graph = onnx.load(str(path), load_external_data=False).graph

    def describe(values):
        return [(v.name, v.type.tensor_type.elem_type,
                 [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    return describe(graph.input), describe(graph.output)
