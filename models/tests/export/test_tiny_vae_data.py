"""The committed tests/data/tiny-vae/ (used by the Rust engine tests) still matches what the exporter
writes for the same seed, in structure: manifest, graph input/output names, dtypes and shapes.
(Not byte identity: the ONNX bytes change with torch/onnx versions.)"""
import json

from conftest import COMMITTED_DATA, TINY_ARGS, graph_structure

COMMITTED = COMMITTED_DATA / "tiny-vae"


def test_committed_tiny_vae_matches_exporter(tiny_vae):
    _, fresh = tiny_vae
    assert sorted(p.name for p in COMMITTED.iterdir()) == ["README.md", "decoder.onnx", "encoder.onnx",
                                                           "manifest.json"]
    assert json.loads((COMMITTED / "manifest.json").read_text()) == \
        json.loads((fresh / "manifest.json").read_text())
    for graph in ("encoder.onnx", "decoder.onnx"):
        assert graph_structure(COMMITTED / graph) == graph_structure(fresh / graph), graph


def test_readme_names_the_command():
    readme = (COMMITTED / "README.md").read_text()
    assert " ".join(TINY_ARGS[:4]) in readme
