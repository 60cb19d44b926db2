"""rebuild_checkpoint: an exported model directory back into a train.py checkpoint.

The reference is the PyTorch model the directory was exported from (random weights, random
batch-norm statistics): the rebuilt model must compute what it computes, and train.py must resume
from the rebuilt checkpoint."""
import json
import shutil

import numpy as np
import pytest
import torch

from netbend_models.vae import rebuild_checkpoint, train
from netbend_models.export.vae import export_model, random_model, with_random_batch_norm_statistics
from netbend_models.vae.model import SpatialSpectrogramVAE

WIDTH = 0.0625


def random_spatial_model(seed: int, width: float = WIDTH) -> SpatialSpectrogramVAE:
    """As export.random_model, for the spatial latent (the default model's architecture)."""
    torch.manual_seed(seed)
    return with_random_batch_norm_statistics(SpatialSpectrogramVAE(width=width, latent_channels=4), seed)


@pytest.fixture(scope="module", params=["vector", "spatial"])
def exported(request, tmp_path_factory):
    """(original model, its model directory) with a training record as the shipped models have
    one: the paper's vector latent and the default's spatial one."""
    model = random_model(WIDTH, seed=3) if request.param == "vector" else random_spatial_model(seed=3)
    out = tmp_path_factory.mktemp("rebuild") / "model"
    export_model(model, out, name="r", training={"model": {"epoch": 4, "step": 321, "width": WIDTH}})
    return model, out


def test_rebuilt_model_computes_what_the_original_computes(exported):
    original, directory = exported
    windows = train.synthetic_windows(24, seed=5)
    rebuilt, checkpoint = rebuild_checkpoint.rebuild(directory, windows)
    # decoder parameters come through unchanged, batch-norm statistics included
    # (but the spatial stage 1's Conv + BatchNorm, which the export folds into one Conv)
    for name, value in original.decoder.state_dict().items():
        if not name.endswith("num_batches_tracked") and not (original.arch == "spatial" and name.startswith("stages.0.")):
            assert torch.equal(rebuilt.decoder.state_dict()[name], value), name
    # on windows it was not fitted on, eval mode matches the original encoder and whole model
    other = train.synthetic_windows(6, seed=11)
    with torch.no_grad():
        mu_ref, logvar_ref = original.encoder(other)
        mu, logvar = rebuilt.encoder(other)
        recon_ref, recon = original(other)[0], rebuilt(other)[0]
    np.testing.assert_allclose(mu.numpy(), mu_ref.numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(logvar.numpy(), logvar_ref.numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(recon.numpy(), recon_ref.numpy(), rtol=0, atol=1e-5)
    assert checkpoint["epoch"] == 4 and checkpoint["step"] == 321
    assert checkpoint["config"]["width"] == WIDTH
    assert checkpoint["config"]["arch"] == original.arch
    assert max(checkpoint["rebuilt_from"]["max_difference"].values()) < 1e-4


def test_training_mode_batch_norm_is_near_identity_on_the_fitted_data(exported):
    """The encoder's batch norms in training mode (batch statistics) stay close to eval mode on the
    windows they were fitted on: resuming does not start from a jolt."""
    _, directory = exported
    windows = train.synthetic_windows(32, seed=5)
    rebuilt, _ = rebuild_checkpoint.rebuild(directory, windows)
    with torch.no_grad():
        mu_eval, _ = rebuilt.encoder(windows)
        rebuilt.train()
        mu_train, _ = rebuilt.encoder(windows)
    assert float((mu_train - mu_eval).abs().max()) < 1e-3 * max(1.0, float(mu_eval.abs().max()))


def test_train_resumes_from_the_rebuilt_checkpoint(exported, tmp_path):
    _, directory = exported
    run = tmp_path / "runs" / "resumed"
    rebuild_checkpoint.main(["--model-dir", str(directory), "--synthetic", "8", "--out", str(run / "last.pt")])
    model, _ = exported
    arch = ["--arch", model.arch] + (["--latent-channels", "4"] if model.arch == "spatial" else [])
    train.main(["--runs", str(tmp_path / "runs"), "--name", "resumed", "--synthetic", "8", "--batch", "4",
                "--width", str(WIDTH), "--epochs", "5", "--resume", *arch])
    resumed = torch.load(run / "last.pt", weights_only=False)
    assert resumed["epoch"] == 5 and resumed["step"] == 321 + 2  # one epoch of 8 windows at batch 4
    assert all(float(s["step"]) == 2 for s in resumed["optimizer"]["state"].values())  # fresh Adam


def test_refuses_existing_output_and_foreign_directories(exported, tmp_path):
    _, directory = exported
    out = tmp_path / "last.pt"
    out.write_bytes(b"keep me")
    with pytest.raises(SystemExit):
        rebuild_checkpoint.main(["--model-dir", str(directory), "--synthetic", "4", "--out", str(out)])
    assert out.read_bytes() == b"keep me"

    image = tmp_path / "image-model"
    shutil.copytree(directory, image)
    manifest = json.loads((image / "manifest.json").read_text())
    manifest["kind"] = "stylegan2"
    (image / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="kind 'stylegan2'"):
        rebuild_checkpoint.rebuild(image, train.synthetic_windows(4))

    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        rebuild_checkpoint.rebuild(tmp_path, train.synthetic_windows(4))


def test_refuses_a_directory_whose_graphs_are_another_architecture(exported, tmp_path):
    """An encoder of another width beside this decoder: refused, naming the Conv that does not fit."""
    model, directory = exported
    mixed = tmp_path / "mixed"
    shutil.copytree(directory, mixed)
    wider = random_model(WIDTH * 2, seed=4) if model.arch == "vector" else random_spatial_model(4, WIDTH * 2)
    export_model(wider, tmp_path / "wider")
    shutil.copy(tmp_path / "wider" / "encoder.onnx", mixed / "encoder.onnx")
    with pytest.raises(ValueError, match=r"Conv 1 \(.*\) weight \[8, 1, .*expected \[4, 1, "):
        rebuild_checkpoint.rebuild(mixed, train.synthetic_windows(4))
