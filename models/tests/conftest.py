"""Shared fixtures: the tiny random-weight model, exported once per test session by the CLI with
exactly the arguments that made the committed tests/data/tiny-vae/."""
import pytest

from netbend_models import export

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
