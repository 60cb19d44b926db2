"""stylegan2/train.py on a tiny synthetic image set: steps, resume, checkpoint layout, and the
discriminator's shapes and minibatch statistics."""
import json

import numpy as np
import pytest
import torch

from netbend_models.export import stylegan2 as export_stylegan2
from netbend_models.stylegan2 import train as train_stylegan2
from netbend_models.stylegan2.model import load_rosinality
from netbend_models.stylegan2.train import Discriminator

torch.set_num_threads(1)

TINY = ["--size", "16", "--channels", "4:8,8:8,16:4", "--style-dim", "16", "--n-mlp", "2", "--batch", "4",
        "--r1-every", "2", "--checkpoint-minutes", "100"]


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    out = tmp_path / "data"
    out.mkdir()
    np.save(out / "images.npy", rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8))
    return out


def test_train_resume_and_export(data, tmp_path):
    runs = tmp_path / "runs"
    train_stylegan2.main(["--data", str(data), "--runs", str(runs), "--name", "t", "--steps", "3", *TINY])
    first = torch.load(runs / "t" / "last.pt", weights_only=True)
    assert (first["step"], first["images_seen"]) == (3, 12)
    assert {"g", "d", "g_ema", "g_optim", "d_optim", "args", "latent_avg"} <= set(first)
    # g_ema moved towards g but is not g
    name = "convs.0.conv.weight"
    assert not torch.equal(first["g_ema"][name], first["g"][name])
    train_stylegan2.main(["--data", str(data), "--runs", str(runs), "--name", "t", "--steps", "5", "--resume", *TINY])
    second = torch.load(runs / "t" / "last.pt", weights_only=True)
    assert (second["step"], second["images_seen"]) == (5, 20)
    log = (runs / "t" / "train.log.txt").read_text()
    assert "start at step 3" in log and "stopped (steps) at step 5" in log
    assert (runs / "t" / "samples.png").is_file()
    # the checkpoint is a rosinality-layout file: the exporter reads it without trusting pickles
    g, latent_avg, facts = load_rosinality(runs / "t" / "last.pt")
    assert facts["size"] == 16 and facts["channels"] == {"4": 8, "8": 8, "16": 4}
    torch.testing.assert_close(latent_avg, second["latent_avg"])
    out = tmp_path / "model"
    export_stylegan2.main(["--checkpoint", str(runs / "t" / "last.pt"), "--out", str(out)])
    assert json.loads((out / "manifest.json").read_text())["stylegan2"]["mean_latent_source"] == "checkpoint latent_avg"


def test_discriminator_minibatch_stddev_groups():
    """StyleGAN's grouping: with B = 8 and groups of 4, the samples 0, 2, 4, 6 form one group and
    1, 3, 5, 7 the other; each sample's extra feature map is its group's mean standard deviation."""
    torch.manual_seed(0)
    d = Discriminator(16, {4: 8, 8: 8, 16: 4})
    captured = {}
    d.final_conv.register_forward_hook(lambda m, i, o: captured.__setitem__("x", i[0]))
    x = torch.randn(8, 3, 16, 16)
    x[2] = x[4] = x[6] = x[0]  # even group: four identical images, spread 0 (sqrt(1e-8) = 1e-4)
    assert d(x).shape == (8, 1)
    feature = captured["x"][:, -1]
    assert torch.all(feature == feature[:, :1, :1])  # constant over the map
    even, odd = feature[0::2, 0, 0], feature[1::2, 0, 0]
    torch.testing.assert_close(even, torch.full((4,), 1e-4))
    assert torch.all(odd > 1e-2) and torch.all(odd == odd[0])
