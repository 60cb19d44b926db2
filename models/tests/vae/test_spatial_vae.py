"""The spatial-latent VAE (the default model, models/vae): layer shapes against paper Table 1
(values written out here), the flat latent's layout, its loss against a direct computation, and
its export against PyTorch through onnxruntime."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from netbend_models.bend.inputs import neutral_bend_inputs
from netbend_models.export.vae import BentDecoder, export_model
from netbend_models.vae.model import SpatialSpectrogramVAE, load_checkpoint, onset_envelope_loss, spectral_loss

torch.set_num_threads(2)
# Table 1's resolutions of layers 1-4 at width 0.25 (512, 256, 128, 64 channels x 0.25), then the output.
LAYERS_AT_QUARTER_WIDTH = [(128, 8, 33), (64, 17, 65), (32, 32, 129), (16, 64, 257), (1, 128, 513)]


def test_layers_keep_table1_resolutions_and_the_latent_is_a_flat_map():
    model = SpatialSpectrogramVAE(width=0.25, latent_channels=32).eval()
    x = torch.rand(2, 1, 128, 513)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        assert mu.shape == logvar.shape == (2, 32 * 8 * 33)
        # Channel-major flattening of the encoder's map (docs/bend-graph.md).
        latent_map = model.encoder.to_latent(model.encoder.convs(x))[:, :32]
        assert torch.equal(mu[1, 5 * 264 + 3 * 33 + 7], latent_map[1, 5, 3, 7])
        h = model.decoder.stem(mu)
        assert torch.equal(h, latent_map)
        for stage, shape in zip(model.decoder.stages, LAYERS_AT_QUARTER_WIDTH):
            h = stage(h)
            assert tuple(h.shape) == (2, *shape)
    assert 0 <= h.min() and h.max() <= 1
    assert model.config()["latent_shape"] == [32, 8, 33] and model.latent_dim == 8448


def test_spectral_loss_matches_a_direct_numpy_computation():
    g = torch.Generator().manual_seed(0)
    recon, target = torch.rand(3, 1, 128, 513, generator=g), torch.rand(3, 1, 128, 513, generator=g)
    mu, logvar = torch.randn(3, 40, generator=g), 0.1 * torch.randn(3, 40, generator=g)
    total, rec, kl = spectral_loss(recon, target, mu, logvar, beta=0.5)
    r, t = recon.numpy().astype(np.float64), target.numpy().astype(np.float64)
    mag_r, mag_t = 10 ** ((r * 130 - 80) / 20), 10 ** ((t * 130 - 80) / 20)
    sc = np.mean([np.linalg.norm(mag_t[i] - mag_r[i]) / np.linalg.norm(mag_t[i]) for i in range(3)])
    want_rec = np.mean(np.abs(r - t)) + 0.5 * sc
    m, lv = mu.numpy().astype(np.float64), logvar.numpy().astype(np.float64)
    kl_elements = 0.5 * (np.exp(lv) + m ** 2 - 1 - lv)
    assert rec.item() == pytest.approx(want_rec, rel=1e-5)
    assert kl.item() == pytest.approx(kl_elements.sum(axis=1).mean(), rel=1e-5)
    assert total.item() == pytest.approx(want_rec + 0.5 * kl_elements.mean(), rel=1e-5)


def test_onset_term_matches_the_quality_scores_envelope_in_numpy():
    g = torch.Generator().manual_seed(1)
    recon, target = torch.rand(2, 1, 128, 513, generator=g), torch.rand(2, 1, 128, 513, generator=g)
    mu, logvar = torch.zeros(2, 8), torch.zeros(2, 8)
    r, t = recon.numpy()[:, 0].astype(np.float64), target.numpy()[:, 0].astype(np.float64)

    def envelope(x):  # quality.onset_envelope's definition, on normalised dB, mean instead of sum
        return np.maximum(np.diff(x, axis=1), 0).mean(axis=2)

    want = np.mean(np.abs(envelope(r) - envelope(t)))
    assert onset_envelope_loss(recon, target).item() == pytest.approx(want, rel=1e-5)
    plain = spectral_loss(recon, target, mu, logvar, beta=0.0)[1].item()
    with_onsets = spectral_loss(recon, target, mu, logvar, beta=0.0, onset_weight=2.0)[1].item()
    assert with_onsets - plain == pytest.approx(2.0 * want, rel=1e-4)
    # a hit moved by one frame costs the onset term; the same hit in place costs nothing
    hit = torch.zeros(1, 1, 128, 513)
    hit[..., 40:, :] = 0.5
    late = torch.zeros(1, 1, 128, 513)
    late[..., 41:, :] = 0.5
    assert onset_envelope_loss(hit, hit).item() == 0.0
    assert onset_envelope_loss(late, hit).item() == pytest.approx(2 * 0.5 / 127, rel=1e-5)


def test_export_matches_pytorch_and_records_the_latent_shape(tmp_path):
    torch.manual_seed(0)
    model = SpatialSpectrogramVAE(width=1 / 16, latent_channels=4)
    for module in model.modules():  # running statistics away from the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    model.eval()
    out = export_model(model, tmp_path / "spatial", "spatial-test", "test", {"model": {"test": True}})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["latent_dim"] == 4 * 8 * 33 and manifest["latent_shape"] == [4, 8, 33]
    assert [(l["channels"], l["height"], l["width"]) for l in manifest["layers"]] == [
        (32, 8, 33), (16, 17, 65), (8, 32, 129), (4, 64, 257)]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(out / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(out / "decoder.onnx"), options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((2, 1, 128, 513)).astype(np.float32)
    mu, _ = enc.run(None, {"spectrogram": x})
    feeds = {"z": mu, **neutral_bend_inputs(manifest["layers"])}
    got = dec.run(None, feeds)
    with torch.no_grad():
        want_mu = model.encoder(torch.from_numpy(x))[0]
        want = BentDecoder(model).eval()(want_mu, *[torch.from_numpy(np.asarray(feeds[n]))
                                                     for n in [i.name for i in dec.get_inputs()][1:]])
    np.testing.assert_allclose(mu, want_mu.numpy(), rtol=0, atol=1e-5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=0, atol=1e-5)


def test_train_checkpoint_loads_as_the_spatial_model(tmp_path):
    from netbend_models.vae import train
    train.main(["--synthetic", "8", "--epochs", "1", "--threads", "1", "--name", "s", "--runs", str(tmp_path),
                "--latent-channels", "2", "--width", "0.0625"])
    model = load_checkpoint(tmp_path / "s" / "last.pt")
    assert isinstance(model, SpatialSpectrogramVAE) and model.latent_dim == 2 * 8 * 33
    with pytest.raises(ValueError, match="latent_dim"):
        train.main(["--synthetic", "8", "--epochs", "2", "--threads", "1", "--name", "s", "--runs",
                    str(tmp_path), "--latent-channels", "3", "--width", "0.0625", "--resume"])


def test_train_with_the_onset_term_records_it_in_the_loss(tmp_path):
    from netbend_models.vae import train
    common = ["--synthetic", "8", "--epochs", "1", "--threads", "1", "--runs", str(tmp_path),
              "--latent-channels", "2", "--width", "0.0625"]
    torch.manual_seed(0)
    train.main(common + ["--name", "plain"])
    torch.manual_seed(0)
    train.main(common + ["--name", "onsets", "--onset-weight", "50"])
    plain = torch.load(tmp_path / "plain" / "last.pt", weights_only=False)["history"][-1]["validation_loss"]
    onsets = torch.load(tmp_path / "onsets" / "last.pt", weights_only=False)["history"][-1]["validation_loss"]
    assert onsets > plain  # the same seeds and windows: the larger loss is the added term
    with pytest.raises(SystemExit):
        train.main(common + ["--name", "vector", "--arch", "vector", "--onset-weight", "1"])
