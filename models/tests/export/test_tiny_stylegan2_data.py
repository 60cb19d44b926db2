"""The committed tests/data/tiny-stylegan2/ (used by the Rust engine and CLI tests) still matches
what the exporter writes for the command in its README, in structure: manifest (including the
mean latent), graph input/output names, dtypes and shapes. (Not byte identity: the ONNX bytes
change with torch/onnx versions.)"""
import json
import shlex
from pathlib import Path

import pytest

from conftest import COMMITTED_DATA, graph_structure
from netbend_models.export import stylegan2 as export_stylegan2

COMMITTED = COMMITTED_DATA / "tiny-stylegan2"


def readme_args(out: Path) -> list[str]:
    """The export command of the README, with --out replaced."""
    text = (COMMITTED / "README.md").read_text()
    command = text.split("```sh\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    args = shlex.split(command)
    args = args[args.index("netbend_models.export.stylegan2") + 1:]
    args[args.index("--out") + 1] = str(out)
    return args


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-stylegan2") / "model"
    export_stylegan2.main(readme_args(out))
    return out


def test_committed_tiny_stylegan2_matches_exporter(fresh):
    assert sorted(p.name for p in COMMITTED.iterdir()) == ["README.md", "decoder.onnx", "manifest.json",
                                                           "mapping.onnx"]
    committed = json.loads((COMMITTED / "manifest.json").read_text())
    exported = json.loads((fresh / "manifest.json").read_text())
    mean_c = committed["stylegan2"].pop("mean_latent")
    mean_e = exported["stylegan2"].pop("mean_latent")
    assert committed == exported
    assert mean_c == pytest.approx(mean_e, abs=1e-6)
    for graph in ("mapping.onnx", "decoder.onnx"):
        assert graph_structure(COMMITTED / graph) == graph_structure(fresh / graph), graph
