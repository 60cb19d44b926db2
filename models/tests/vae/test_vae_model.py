"""Shape tests against paper Table 1 (values written out here, not read from vae/model.py),
loss against a direct PyTorch computation, and a tiny overfit test."""
import pytest
import torch

from netbend_models.vae.model import SpectrogramVAE, vae_loss

torch.set_num_threads(2)

TABLE1 = [(512, 8, 33), (256, 17, 65), (128, 32, 129), (64, 64, 257), (1, 128, 513)]
ENCODER_HW = [(62, 255), (29, 126), (13, 61), (5, 29), (1, 13)]


def conv_out(n):  # kernel 5, stride 2, no padding: floor((n - 5) / 2) + 1
    return (n - 5) // 2 + 1


@pytest.mark.parametrize("width", [1.0, 0.25])
def test_decoder_stage_shapes_match_table1(width):
    model = SpectrogramVAE(width=width).eval()
    with torch.no_grad():
        h = model.decoder.stem(torch.zeros(2, 512))
        assert len(model.decoder.stages) == 5
        for i, (stage, (c, hh, ww)) in enumerate(zip(model.decoder.stages, TABLE1)):
            h = stage(h)
            expected_c = c if i == 4 else int(round(c * width))
            assert tuple(h.shape) == (2, expected_c, hh, ww)
    assert h.min() >= 0 and h.max() <= 1


def test_encoder_shapes():
    model = SpectrogramVAE(width=0.25).eval()
    h, w = 128, 513
    for hh, ww in ENCODER_HW:
        h, w = conv_out(h), conv_out(w)
        assert (h, w) == (hh, ww)
    x = torch.rand(3, 1, 128, 513)
    with torch.no_grad():
        feats = model.encoder.convs(x)
        mu, logvar = model.encoder(x)
    assert tuple(feats.shape) == (3, 128, 1, 13)
    assert mu.shape == logvar.shape == (3, 512)


def test_bad_input_shape_is_rejected():
    with pytest.raises(ValueError, match="128, 513"):
        SpectrogramVAE(width=0.125).encoder(torch.rand(1, 1, 64, 513))


def test_loss_matches_direct_formula():
    torch.manual_seed(0)
    recon, target = torch.rand(4, 1, 128, 513), torch.rand(4, 1, 128, 513)
    mu, logvar = torch.randn(4, 512), torch.randn(4, 512) * 0.1
    total, rec, kl = vae_loss(recon, target, mu, logvar, beta=0.01)
    ref_rec = torch.nn.functional.mse_loss(recon, target)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref_kl = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert torch.isfinite(total)
    assert torch.allclose(rec, ref_rec, rtol=1e-5)
    assert torch.allclose(kl, ref_kl, rtol=1e-4)


def test_tiny_overfit_loss_decreases():
    torch.manual_seed(0)
    model = SpectrogramVAE(width=0.125, latent_dim=32)
    x = torch.rand(4, 1, 128, 513) * torch.linspace(1, 0, 513)  # spectrum-like tilt
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.0, 0.99))
    losses = []
    for _ in range(40):
        recon, mu, logvar = model(x)
        loss, _, _ = vae_loss(recon, x, mu, logvar, beta=1e-4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
