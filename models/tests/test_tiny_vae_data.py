"""The committed tests/data/tiny-vae/ (used by the Rust engine tests) still matches what the exporter
writes for the same seed, in structure: manifest, graph input/output names, dtypes and shapes.
(Not byte identity: the ONNX bytes change with torch/onnx versions.)"""
import json
from pathlib import Path

import onnx

from conftest import TINY_ARGS

COMMITTED = Path(__file__).resolve().parents[2] / "tests" / "data" / "tiny-vae"


def structure(path):
    graph = onnx.load(str(path), load_external_data=False).graph

    def describe(values):
        return [(v.name, v.type.tensor_type.elem_type,
                 [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    return describe(graph.input), describe(graph.output)


def test_committed_tiny_vae_matches_exporter(tiny_vae):
    _, fresh = tiny_vae
    assert sorted(p.name for p in COMMITTED.iterdir()) == ["README.md", "decoder.onnx", "encoder.onnx",
                                                           "manifest.json"]
    assert json.loads((COMMITTED / "manifest.json").read_text()) == \
        json.loads((fresh / "manifest.json").read_text())
    for graph in ("encoder.onnx", "decoder.onnx"):
        assert structure(COMMITTED / graph) == structure(fresh / graph), graph


def test_readme_names_the_command():
    readme = (COMMITTED / "README.md").read_text()
    assert " ".join(TINY_ARGS[:4]) in readme
