"""The StyleGAN2 generator (netbend_models/stylegan2/model.py): rosinality's checkpoint layout, the
modulated convolution and FIR up-sampling against independent NumPy/SciPy references, seeded
inputs, truncation, and bending (every stage changes exactly the selected channels)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.signal import convolve2d

from netbend_models.bend.block import STAGE_NAMES, STAGE_PARAM_COUNT
from netbend_models.export.stylegan2 import BentSynthesis, random_generator
from netbend_models.stylegan2.model import Generator, ModulatedConv, load_rosinality, rosinality_channels

torch.set_num_threads(1)

SIZE, WIDTH, STYLE_DIM = 16, 1 / 64, 32  # 8 channels at every resolution


@pytest.fixture(scope="module")
def tiny():
    return random_generator(SIZE, WIDTH, STYLE_DIM, seed=3)


def expected_rosinality_layout(size, channels, style_dim, n_mlp):
    """Key -> shape of a rosinality `g_ema` state dict, written out from the published
    architecture (not from our module): mapping EqualLinears at style.1..n_mlp, the 4x4 constant,
    conv1/to_rgb1, two StyledConvs and one ToRGB per octave, and one stored noise per conv."""
    def styled(prefix, cin, cout, up):
        d = {f"{prefix}.conv.weight": (1, cout, cin, 3, 3), f"{prefix}.conv.modulation.weight": (cin, style_dim),
             f"{prefix}.conv.modulation.bias": (cin,), f"{prefix}.noise.weight": (1,),
             f"{prefix}.activate.bias": (cout,)}
        if up:
            d[f"{prefix}.conv.blur.kernel"] = (4, 4)
        return d

    def rgb(prefix, cin, up):
        d = {f"{prefix}.conv.weight": (1, 3, cin, 1, 1), f"{prefix}.conv.modulation.weight": (cin, style_dim),
             f"{prefix}.conv.modulation.bias": (cin,), f"{prefix}.bias": (1, 3, 1, 1)}
        if up:
            d[f"{prefix}.upsample.kernel"] = (4, 4)
        return d

    layout = {}
    for i in range(1, n_mlp + 1):
        layout[f"style.{i}.weight"] = (style_dim, style_dim)
        layout[f"style.{i}.bias"] = (style_dim,)
    layout["input.input"] = (1, channels[4], 4, 4)
    layout.update(styled("conv1", channels[4], channels[4], False))
    layout.update(rgb("to_rgb1", channels[4], False))
    log_size = int(math.log2(size))
    cin = channels[4]
    for k, i in enumerate(range(3, log_size + 1)):
        cout = channels[2 ** i]
        layout.update(styled(f"convs.{2 * k}", cin, cout, True))
        layout.update(styled(f"convs.{2 * k + 1}", cout, cout, False))
        layout.update(rgb(f"to_rgbs.{k}", cout, True))
        cin = cout
    for n in range((log_size - 2) * 2 + 1):
        res = 2 ** ((n + 5) // 2)
        layout[f"noises.noise_{n}"] = (1, 1, res, res)
    return layout


def test_config_f_channels_and_layer_counts():
    # rosinality's table: 512 up to 32 px, then 256, 128, 64, 32, 16 times the multiplier
    assert rosinality_channels(1024, 2) == {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256,
                                            256: 128, 512: 64, 1024: 32}
    assert rosinality_channels(256, 1, width=0.125) == {4: 64, 8: 64, 16: 64, 32: 64, 64: 32, 128: 16, 256: 8}
    g = Generator(64, style_dim=8, n_mlp=2, width=1 / 64)
    assert (g.num_layers, g.n_latent) == (9, 10)
    assert [(l["index"], l["name"], l["height"]) for l in g.layers()][:4] == \
        [(1, "conv1", 4), (2, "convs.0", 8), (3, "convs.1", 8), (4, "convs.2", 16)]


@pytest.mark.parametrize("size,width,cm,n_mlp", [(16, 1 / 64, 2, 8), (64, 1 / 32, 1, 3), (1024, 1 / 64, 2, 8)])
def test_state_dict_has_rosinality_keys_and_shapes(size, width, cm, n_mlp):
    g = Generator(size, style_dim=STYLE_DIM, n_mlp=n_mlp, channel_multiplier=cm, width=width)
    got = {k: tuple(v.shape) for k, v in g.state_dict().items()}
    assert got == expected_rosinality_layout(size, g.channels, STYLE_DIM, n_mlp)
    # the FIR buffers hold the [1, 3, 3, 1] outer product, normalised, times 4 (upsampling gain)
    taps = np.array([1.0, 3.0, 3.0, 1.0])
    k = np.outer(taps, taps) / 64.0 * 4.0
    np.testing.assert_allclose(g.state_dict()["convs.0.conv.blur.kernel"].numpy(), k, rtol=1e-6)
    np.testing.assert_allclose(g.state_dict()["to_rgbs.0.upsample.kernel"].numpy(), k, rtol=1e-6)


def test_checkpoint_round_trip(tiny, tmp_path):
    latent_avg = torch.randn(STYLE_DIM)
    path = tmp_path / "g.pt"
    torch.save({"g_ema": tiny.state_dict(), "latent_avg": latent_avg}, path)
    loaded, mean, facts = load_rosinality(path)
    assert torch.equal(mean, latent_avg)
    assert facts["size"] == SIZE and facts["channels"] == {str(r): 8 for r in (4, 8, 16)}
    z, noises = tiny.sample_inputs([0, 1])
    with torch.no_grad():
        assert torch.equal(loaded(z, noises), tiny(z, noises))
    # a state dict with a missing key or no g_ema is refused with a clear error
    bad = dict(tiny.state_dict())
    del bad["convs.1.noise.weight"]
    torch.save({"g_ema": bad}, path)
    with pytest.raises(ValueError, match="convs.1.noise.weight"):
        load_rosinality(path)
    torch.save({"generator": tiny.state_dict()}, path)
    with pytest.raises(ValueError, match="g_ema"):
        load_rosinality(path)


def upfirdn_reference(x, kernel, up, pad0, pad1):
    """NumPy definition of FIR up-sampling: insert up - 1 zeros after every sample, pad, convolve."""
    h, w = x.shape
    u = np.zeros((h * up, w * up))
    u[::up, ::up] = x
    u = np.pad(u, ((pad0, pad1), (pad0, pad1)))
    return convolve2d(u, kernel, mode="valid")


def test_fir_upsampling_matches_numpy(tiny):
    """The RGB skip's up-sampler: rosinality's Upsample pads (2, 1) around the zero-inserted map."""
    f = tiny.to_rgbs[0].upsample
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    got = f(x).numpy()
    assert got.shape == (2, 3, 10, 10)
    k = f.kernel.numpy().astype(np.float64)
    for b in range(2):
        for c in range(3):
            np.testing.assert_allclose(got[b, c], upfirdn_reference(x[b, c].double().numpy(), k, 2, 2, 1), atol=1e-5)


@pytest.mark.parametrize("upsample", [False, True])
def test_modulated_conv_equals_per_sample_demodulated_weights(upsample):
    """Reference: the paper's formulation, a separate weight per sample w'' = w s / ||w s||, in
    float64, with the transposed conv + NumPy FIR filter for up-sampling."""
    torch.manual_seed(0)
    conv = ModulatedConv(4, 5, 3, STYLE_DIM, upsample=upsample)
    x, w = torch.randn(2, 4, 6, 6), torch.randn(2, STYLE_DIM)
    got = conv(x, w).detach().numpy()
    style = conv.modulation(w).detach().double()
    base = conv.weight[0].detach().double() * conv.scale
    for b in range(2):
        wb = base * style[b][None, :, None, None]
        wb = wb / torch.sqrt(wb.square().sum((1, 2, 3), keepdim=True) + 1e-8)
        xb = x[b:b + 1].double()
        if upsample:
            y = F.conv_transpose2d(xb, wb.transpose(0, 1), stride=2)[0].numpy()
            k = conv.blur.kernel.double().numpy()
            y = np.stack([upfirdn_reference(m, k, 1, 1, 1) for m in y])
        else:
            y = F.conv2d(xb, wb, padding=1)[0].numpy()
        assert y.shape == got[b].shape == ((5, 12, 12) if upsample else (5, 6, 6))
        np.testing.assert_allclose(got[b], y, atol=1e-4)


def test_seeded_inputs_depend_only_on_their_seed(tiny):
    z, noises = tiny.sample_inputs([3, 5])
    z3, n3 = tiny.sample_inputs([3])
    z5, n5 = tiny.sample_inputs([5])
    assert torch.equal(z[0], z3[0]) and torch.equal(z[1], z5[0])
    assert all(torch.equal(n[0], a[0]) and torch.equal(n[1], b[0]) for n, a, b in zip(noises, n3, n5))
    assert not torch.equal(z3, z5)
    assert [tuple(n.shape) for n in noises] == [(2, 1, r, r) for r in (4, 8, 8, 16, 16)]


def test_truncation(tiny):
    w = torch.randn(2, tiny.n_latent, STYLE_DIM)
    mean = torch.randn(STYLE_DIM)
    assert torch.equal(Generator.truncate(w, torch.ones(2), mean), w)
    torch.testing.assert_close(Generator.truncate(w, torch.zeros(2), mean), mean.expand_as(w))
    torch.testing.assert_close(Generator.truncate(w, torch.tensor([0.5, 0.25]), mean)[1], mean + 0.25 * (w[1] - mean))


def stage_inputs(block, stage, idx, gen):
    """Inputs of `block` with only `stage` active on channels idx, at full mix, with parameters
    that change every map (shifts of a quarter, half size, quarter turn, radius 1, ...)."""
    inputs = block.neutral_inputs()
    k = len(idx)
    params = {"translate": [0.25, 0.25], "scale": [0.5, 0.5], "rotate": [90.0], "erode": [1.0], "dilate": [1.0],
              "scalar-multiply": [2.0], "offset": [0.5], "binary-thresh": [0.5], "noise": [1.0]}
    prefix = f"L{block.layer}.{stage}"
    inputs[f"{prefix}.idx"] = torch.tensor(idx, dtype=torch.int64)
    inputs[f"{prefix}.mix"] = torch.ones(k)
    if STAGE_PARAM_COUNT[stage]:
        inputs[f"{prefix}.params"] = torch.tensor([params[stage]] * k)
    if stage == "shuffle":
        inputs[f"{prefix}.source"] = torch.tensor(idx[::-1], dtype=torch.int64)
    if stage == "noise":
        inputs[f"{prefix}.field"] = torch.randn(k, block.height, block.width, generator=gen)
    return [inputs[name] for name in block.input_names()]


@pytest.mark.parametrize("layer", [1, 3])
def test_each_stage_changes_exactly_the_selected_channels(tiny, layer):
    """Hooks on the styled conv (unbent activation) and on the bend block (bent activation)."""
    bent = BentSynthesis(tiny, tiny.mean_latent(64)).eval()
    z, noises = tiny.sample_inputs([7])
    w = tiny.mapping(z).unsqueeze(1).expand(-1, tiny.n_latent, -1)
    captured = {}
    hooks = [tiny.styled_convs()[layer - 1].register_forward_hook(lambda m, i, o: captured.__setitem__("in", o)),
             bent.blocks[layer - 1].register_forward_hook(lambda m, i, o: captured.__setitem__("out", o))]
    gen = torch.Generator().manual_seed(0)
    idx = [1, 4]
    try:
        for stage in STAGE_NAMES:
            args = []
            for block in bent.blocks:
                args += stage_inputs(block, stage, idx, gen) if block.layer == layer else \
                    [block.neutral_inputs()[n] for n in block.input_names()]
            with torch.no_grad():
                bent(w, torch.ones(1), *noises, *args)
            before, after = captured["in"][0], captured["out"][0]
            changed = [c for c in range(before.shape[0]) if not torch.equal(before[c], after[c])]
            assert changed == idx, f"{stage} on layer {layer} changed channels {changed}, expected {idx}"
    finally:
        for h in hooks:
            h.remove()


def test_training_checkpoint_with_pickled_args_needs_trust(tiny, tmp_path):
    """rosinality's train.py saves its argparse Namespace: refused by the safe loader with a hint,
    accepted with trust=True (which also reads lr_mlp from it)."""
    import argparse
    path = tmp_path / "train.pt"
    torch.save({"g_ema": tiny.state_dict(), "args": argparse.Namespace(size=SIZE, lr_mlp=0.01)}, path)
    with pytest.raises(ValueError, match="--trust-checkpoint"):
        load_rosinality(path)
    g, mean, _ = load_rosinality(path, trust=True)
    assert mean is None and g.size == SIZE
