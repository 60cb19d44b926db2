"""Every bend stage through the exported ONNX graph (onnxruntime) vs independent NumPy/SciPy
references, on a subset of channels, with mix 1 and a mix in between; untouched channels must be
bit-for-bit unchanged.

Tolerances: pointwise stages, flips, morphology, shuffle and noise 1e-6 (float32 rounding of the
blend); the bilinear spatial stages 2e-5 (GridSample's normalised grid rounds the sample positions
by about one float32 ulp of the map size; the maps are standard normal). Translate and scale run
on small maps through a 2-D grid and on maps of SEPARABLE_MIN_POINTS or more, with one theta for
all their channels, axis by axis (export/separable_sample.py): both are tested, the large maps (32 x 129)
at 6e-5: the position rounding grows with the map size (2.7e-5 measured there for both samplers).
"""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from scipy import ndimage

from netbend_models.bend.block import BendBlock
from netbend_models.export.common import export_bend_block
from netbend_models.export.separable_sample import SEPARABLE_MIN_POINTS

torch.set_num_threads(2)
EXACT, BILINEAR, BILINEAR_LARGE = 1e-6, 2e-5, 6e-5

# The spec's stage table, written out here (not read from bend/block.py): name -> P.
SPEC_STAGES = {"shuffle": 0, "translate": 2, "scale": 2, "rotate": 1, "flip-h": 0, "flip-v": 0, "erode": 1,
               "dilate": 1, "scalar-multiply": 1, "offset": 1, "invert": 0, "binary-thresh": 1, "noise": 1,
               "ablate": 0}


class ExportedBlock:
    """An exported bend block with a helper that sets one or more stages, the rest neutral."""

    def __init__(self, tmp_path_factory, channels, height, width):
        self.c, self.h, self.w = channels, height, width
        path = tmp_path_factory.mktemp("block") / "block.onnx"
        export_bend_block(BendBlock(1, channels, height, width), path)
        self.path = path
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def neutral(self):
        feeds = {}
        for stage, p in SPEC_STAGES.items():
            feeds[f"L1.{stage}.idx"] = np.zeros(0, np.int64)
            feeds[f"L1.{stage}.mix"] = np.zeros(0, np.float32)
            if p:
                feeds[f"L1.{stage}.params"] = np.zeros((0, p), np.float32)
        feeds["L1.shuffle.source"] = np.zeros(0, np.int64)
        feeds["L1.noise.field"] = np.zeros((0, self.h, self.w), np.float32)
        return feeds

    def run(self, x, stages):
        """stages: {name: dict(idx=..., mix=..., params=..., source=..., field=...)}"""
        feeds = self.neutral()
        for stage, values in stages.items():
            for kind, value in values.items():
                dtype = np.int64 if kind in ("idx", "source") else np.float32
                feeds[f"L1.{stage}.{kind}"] = np.asarray(value, dtype)
        return self.session.run(None, {"x": x, **feeds})[0]


@pytest.fixture(scope="module")
def block(tmp_path_factory):  # non-square, like every VAE layer
    return ExportedBlock(tmp_path_factory, 6, 9, 12)


@pytest.fixture(scope="module")
def square_block(tmp_path_factory):
    return ExportedBlock(tmp_path_factory, 5, 8, 8)


@pytest.fixture(scope="module")
def large_block(tmp_path_factory):  # 32 x 129, like VAE layer 3: translate/scale sample axis by axis
    return ExportedBlock(tmp_path_factory, 4, 32, 129)


def random_x(blk, batch=2, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, blk.c, blk.h, blk.w)).astype(np.float32)


def check(out, x, idx, mix, reference, atol):
    """reference(c, k) -> f(x_c) [B, H, W]; checks the blend on idx and exact pass-through elsewhere."""
    for k, c in enumerate(idx):
        expected = (1 - mix[k]) * x[:, c] + mix[k] * reference(c, k)
        np.testing.assert_allclose(out[:, c], expected, rtol=0, atol=atol, err_msg=f"channel {c}")
    untouched = [c for c in range(x.shape[1]) if c not in idx]
    assert np.array_equal(out[:, untouched], x[:, untouched])


MIXES = [[1.0, 1.0], [1.0, 0.3]]

POINTWISE = {
    "scalar-multiply": (lambda m, p: m * p, [[2.5], [-0.5]]),
    "offset": (lambda m, p: m + p, [[0.75], [-2.0]]),
    "invert": (lambda m, p: 1.0 - m, None),
    "binary-thresh": (lambda m, p: np.where(m >= p, 1.0, 0.0), [[0.2], [-0.4]]),
    "ablate": (lambda m, p: np.zeros_like(m), None),
}


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("stage", sorted(POINTWISE))
def test_pointwise(block, stage, mix):
    x = random_x(block)
    x[0, 4, 0, :3] = [0.2, -0.4, 0.19999]  # threshold boundary: x >= t gives 1
    idx = [4, 1]
    f, params = POINTWISE[stage]
    values = {"idx": idx, "mix": mix}
    if params is not None:
        values["params"] = params
    out = block.run(x, {stage: values})
    check(out, x, idx, mix, lambda c, k: f(x[:, c], None if params is None else params[k][0]), EXACT)


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("stage,axis", [("flip-h", -1), ("flip-v", -2)])
def test_flips(block, stage, axis, mix):
    x = random_x(block)
    idx = [0, 3]
    out = block.run(x, {stage: {"idx": idx, "mix": mix}})
    check(out, x, idx, mix, lambda c, k: np.flip(x[:, c], axis), EXACT)


def disk(radius):
    i, j = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return i * i + j * j <= radius * radius


# With and without a radius 3 (export/morph_skip.py computes the radius-3 disk only when one is asked for).
@pytest.mark.parametrize("radii", [[1.0, 2.4, 3.0], [2.0, 1.0, 2.4], [3.0, 3.0, 2.6]])
@pytest.mark.parametrize("stage", ["erode", "dilate"])
def test_morphology_disk_radii(block, stage, radii):
    """Radii 1, 2, 3 on three channels (2.4 rounds to 2); outside the map is ignored, which is
    scipy's constant mode with cval +inf (erosion) / -inf (dilation)."""
    x = random_x(block)
    idx, mix = [5, 0, 2], [1.0, 0.6, 1.0]
    out = block.run(x, {stage: {"idx": idx, "mix": mix, "params": [[r] for r in radii]}})

    def reference(c, k):
        footprint = disk(int(round(radii[k])))
        fn, cval = (ndimage.grey_erosion, np.inf) if stage == "erode" else (ndimage.grey_dilation, -np.inf)
        return np.stack([fn(m, footprint=footprint, mode="constant", cval=cval) for m in x[:, c]])

    check(out, x, idx, mix, reference, EXACT)


def shift_zero_filled(m, di, dj):
    """out[i, j] = m[i - di, j - dj], 0 where the source is outside; integer di, dj."""
    out = np.zeros_like(m)
    h, w = m.shape[-2:]
    out[..., max(di, 0):h + min(di, 0), max(dj, 0):w + min(dj, 0)] = \
        m[..., max(-di, 0):h - max(di, 0), max(-dj, 0):w - max(dj, 0)]
    return out


def bilinear(m, rows, cols):
    """Bilinear reading of every map in m [B, H, W] at pixel positions (rows, cols), 0 outside:
    scipy map_coordinates, order 1, 'grid-constant' (interpolates with zeros beyond the edge)."""
    return np.stack([ndimage.map_coordinates(mm.astype(np.float64), [rows, cols], order=1,
                                             mode="grid-constant", cval=0.0) for mm in m])


@pytest.mark.parametrize("mix", MIXES)
def test_translate_integer_is_zero_filled_shift(block, mix):
    x = random_x(block)
    idx = [2, 5]
    shifts = [(1, 3), (-2, -1)]  # (rows, columns)
    params = [[dj / block.w, di / block.h] for di, dj in shifts]  # px, py
    out = block.run(x, {"translate": {"idx": idx, "mix": mix, "params": params}})
    check(out, x, idx, mix, lambda c, k: shift_zero_filled(x[:, c], *shifts[k]), BILINEAR)


def test_translate_fraction_is_bilinear(block):
    x = random_x(block)
    idx, mix, params = [1], [1.0], [[0.13, -0.21]]
    out = block.run(x, {"translate": {"idx": idx, "mix": mix, "params": params}})
    i, j = np.mgrid[0:block.h, 0:block.w].astype(np.float64)
    px, py = params[0]
    check(out, x, idx, mix, lambda c, k: bilinear(x[:, c], i - py * block.h, j - px * block.w), BILINEAR)


@pytest.mark.parametrize("mix", MIXES)
def test_scale_by_two_at_sampled_pixels(block, mix):
    """Magnifying by 2 about the centre reads pixel (i, j) at c + (p - c) / 2; hand-computed bilinear
    at a few pixels (mixed fractions), and map_coordinates everywhere."""
    x = random_x(block)
    idx = [3, 0]
    params = [[2.0, 2.0], [2.0, 0.5]]  # kx, ky
    out = block.run(x, {"scale": {"idx": idx, "mix": mix, "params": params}})
    ci, cj = (block.h - 1) / 2, (block.w - 1) / 2

    # Hand-computed: channel 3, kx = ky = 2, pixel (1, 2) reads (ci + (1 - ci)/2, cj + (2 - cj)/2) = (2.5, 3.75).
    m = x[0, 3].astype(np.float64)
    r, s = 2.5, 3.75
    hand = (m[2, 3] * 0.5 * 0.25 + m[2, 4] * 0.5 * 0.75 + m[3, 3] * 0.5 * 0.25 + m[3, 4] * 0.5 * 0.75)
    assert (ci + (1 - ci) / 2, cj + (2 - cj) / 2) == (r, s)
    np.testing.assert_allclose(out[0, 3, 1, 2], (1 - mix[0]) * m[1, 2] + mix[0] * hand, atol=BILINEAR)

    i, j = np.mgrid[0:block.h, 0:block.w].astype(np.float64)

    def reference(c, k):
        kx, ky = params[k]
        return bilinear(x[:, c], ci + (i - ci) / ky, cj + (j - cj) / kx)

    check(out, x, idx, mix, reference, BILINEAR)


@pytest.mark.parametrize("theta,turns", [(90.0, 1), (180.0, 2), (-90.0, -1), (270.0, 3)])
def test_rotate_quarter_turns_are_rot90(square_block, theta, turns):
    x = random_x(square_block)
    idx, mix = [1, 4], [1.0, 0.4]
    out = square_block.run(x, {"rotate": {"idx": idx, "mix": mix, "params": [[theta], [theta]]}})
    check(out, x, idx, mix, lambda c, k: np.rot90(x[:, c], turns, axes=(1, 2)), BILINEAR)


def test_rotate_half_turn_on_non_square_map(block):
    x = random_x(block)
    out = block.run(x, {"rotate": {"idx": [2], "mix": [1.0], "params": [[180.0]]}})
    check(out, x, [2], [1.0], lambda c, k: np.rot90(x[:, c], 2, axes=(1, 2)), BILINEAR)


def test_rotate_30_degrees_on_non_square_map_without_shear(block):
    """Display coordinates (x right, y up) about the centre: the output at p shows the input at
    R(-theta) p; corners from outside read 0."""
    x = random_x(block)
    theta = 30.0
    out = block.run(x, {"rotate": {"idx": [4], "mix": [1.0], "params": [[theta]]}})
    ci, cj = (block.h - 1) / 2, (block.w - 1) / 2
    i, j = np.mgrid[0:block.h, 0:block.w].astype(np.float64)
    px, py = j - cj, -(i - ci)
    t = np.deg2rad(-theta)
    sx, sy = np.cos(t) * px - np.sin(t) * py, np.sin(t) * px + np.cos(t) * py
    check(out, x, [4], [1.0], lambda c, k: bilinear(x[:, c], ci - sy, cj + sx), BILINEAR)


@pytest.mark.parametrize("stage,p,q", [("translate", [0.13, -0.21], [0.3, 0.1]),
                                       ("scale", [0.8, 1.25], [2.0, 0.5]), ("rotate", [20.0], [-35.0])])
def test_shared_grid_equals_per_channel_grids(block, stage, p, q):
    """Channels with equal parameters are sampled on one shared grid (export/shared_grid.py), channels with
    different ones each on their own grid: the same values either way, bit for bit."""
    x = random_x(block)
    same = block.run(x, {stage: {"idx": [2, 5], "mix": [1.0, 1.0], "params": [p, p]}})
    differ = block.run(x, {stage: {"idx": [2, 5], "mix": [1.0, 1.0], "params": [p, q]}})
    alone = block.run(x, {stage: {"idx": [5], "mix": [1.0], "params": [q]}})
    np.testing.assert_array_equal(same[:, 2], differ[:, 2])
    np.testing.assert_array_equal(differ[:, 5], alone[:, 5])
    assert not np.array_equal(same[:, 5], differ[:, 5])  # the per-channel branch did run


@pytest.mark.parametrize("mix", MIXES)
def test_noise_adds_caller_field(block, mix):
    x = random_x(block)
    idx, sigma = [1, 3], [[0.5], [2.0]]
    field = np.random.default_rng(7).standard_normal((2, block.h, block.w)).astype(np.float32)
    out = block.run(x, {"noise": {"idx": idx, "mix": mix, "params": sigma, "field": field}})
    check(out, x, idx, mix, lambda c, k: x[:, c] + sigma[k][0] * field[k], EXACT)


@pytest.mark.parametrize("mix", MIXES)
def test_shuffle_reads_sources_before_the_stage(block, mix):
    x = random_x(block)
    idx, source = [0, 3], [3, 0]  # a swap: each reads the other's original map
    out = block.run(x, {"shuffle": {"idx": idx, "mix": mix, "source": source}})
    check(out, x, idx, mix, lambda c, k: x[:, source[k]], EXACT)


def test_all_stages_neutral_is_identity(block):
    x = random_x(block)
    assert np.array_equal(block.run(x, {}), x)


def test_stages_apply_in_spec_order(block):
    """scalar-multiply (9) before offset (10), flip-h (5) before dilate (8)."""
    x = random_x(block)
    out = block.run(x, {"offset": {"idx": [2], "mix": [1.0], "params": [[1.0]]},
                        "scalar-multiply": {"idx": [2], "mix": [1.0], "params": [[3.0]]}})
    np.testing.assert_allclose(out[:, 2], x[:, 2] * 3.0 + 1.0, rtol=0, atol=EXACT)
    out = block.run(x, {"dilate": {"idx": [1], "mix": [1.0], "params": [[1.0]]},
                        "flip-h": {"idx": [1], "mix": [1.0]}})
    expected = np.stack([ndimage.grey_dilation(np.flip(m, 1), footprint=disk(1), mode="constant", cval=-np.inf)
                         for m in x[:, 1]])
    np.testing.assert_array_equal(out[:, 1], expected)


def test_every_stage_active_at_once_runs(block):
    """All 14 stages on overlapping channel sets in one run: shape kept, values finite."""
    x = random_x(block)
    stages = {}
    for n, (stage, p) in enumerate(SPEC_STAGES.items()):
        values = {"idx": [n % 6, (n + 2) % 6], "mix": [1.0, 0.5]}
        if p:
            values["params"] = [[1.0] * p, [0.5] * p] if stage not in ("erode", "dilate") else [[1.0], [3.0]]
        stages[stage] = values
    stages["shuffle"]["source"] = [5, 4]
    stages["noise"]["field"] = np.ones((2, block.h, block.w))
    out = block.run(x, stages)
    assert out.shape == x.shape and np.isfinite(out).all()


@pytest.mark.parametrize("shape", [(1, 7), (2, 2), (3, 5), (8, 33)])
def test_disk_dilation_chain_equals_scipy_on_small_and_thin_maps(shape):
    """The plus/diamond chain behind erode/dilate is exact near borders, also on maps thinner
    than the disk."""
    from netbend_models.bend.block import disk_dilations

    maps = np.random.default_rng(5).standard_normal((3, 1, *shape)).astype(np.float32)
    got = disk_dilations(torch.from_numpy(maps))
    for r, dilated in zip((1, 2, 3), got):
        for n in range(3):
            ref = ndimage.grey_dilation(maps[n, 0], footprint=disk(r), mode="constant", cval=-np.inf)
            np.testing.assert_array_equal(dilated[n, 0].numpy(), ref, err_msg=f"r={r} shape={shape}")


def test_overlapping_stages_with_different_k_compose_in_order(block):
    """Several stages with different K on overlapping channels (the block works on a compact copy
    of the touched channels, so positions are remapped inside the graph) vs NumPy step by step."""
    x = random_x(block)
    stages = {
        "shuffle": {"idx": [0, 5], "mix": [1.0, 1.0], "source": [5, 2]},
        "flip-v": {"idx": [5], "mix": [0.5]},
        "scalar-multiply": {"idx": [2, 0, 3], "mix": [1.0, 1.0, 0.25], "params": [[2.0], [-1.0], [3.0]]},
        "offset": {"idx": [3, 1, 0, 5], "mix": [1.0] * 4, "params": [[0.5], [1.0], [-2.0], [0.25]]},
        "ablate": {"idx": [1], "mix": [1.0]},
    }
    out = block.run(x, stages)
    ref = x.astype(np.float64).copy()
    before = ref.copy()
    ref[:, 0], ref[:, 5] = before[:, 5], before[:, 2]
    ref[:, 5] = 0.5 * ref[:, 5] + 0.5 * np.flip(ref[:, 5], 1)
    for c, m, p in zip([2, 0, 3], [1.0, 1.0, 0.25], [2.0, -1.0, 3.0]):
        ref[:, c] = (1 - m) * ref[:, c] + m * ref[:, c] * p
    for c, p in zip([3, 1, 0, 5], [0.5, 1.0, -2.0, 0.25]):
        ref[:, c] += p
    ref[:, 1] = 0.0
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    assert np.array_equal(out[:, 4], x[:, 4])


def separable_nodes(blk, stage):
    """Names of the separable sampler's nodes in a stage (block order: translate 1, scale 2, rotate 3)."""
    number = list(SPEC_STAGES).index(stage)
    names = []

    def walk(graph):
        for n in graph.node:
            names.append(n.name)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
    walk(onnx.load(str(blk.path)).graph)
    return [n for n in names if n.startswith(f"/stages.{number}/shared/separable/")]


def test_separable_sampler_only_on_large_maps_of_axis_aligned_stages(block, large_block):
    assert 32 * 129 >= SEPARABLE_MIN_POINTS > 9 * 12
    assert separable_nodes(large_block, "translate") and separable_nodes(large_block, "scale")
    assert not separable_nodes(large_block, "rotate")
    assert not separable_nodes(block, "translate") and not separable_nodes(block, "scale")


# fractions of a pixel; most of the map moved off (zeros come in); integer shifts (7 rows, -32.25 columns)
@pytest.mark.parametrize("params", [[0.13, -0.21], [-0.6, 0.9], [-0.25, 7 / 32]])
@pytest.mark.parametrize("mix", MIXES)
def test_separable_translate_is_bilinear(large_block, mix, params):
    blk = large_block
    x = random_x(blk)
    idx = [3, 1]
    out = blk.run(x, {"translate": {"idx": idx, "mix": mix, "params": [params, params]}})
    i, j = np.mgrid[0:blk.h, 0:blk.w].astype(np.float64)
    px, py = params
    check(out, x, idx, mix, lambda c, k: bilinear(x[:, c], i - py * blk.h, j - px * blk.w), BILINEAR_LARGE)


# magnify, shrink (reads beyond the edges), mirror (negative factors)
@pytest.mark.parametrize("params", [[2.0, 0.5], [0.8, 1.25], [-1.5, 3.0]])
@pytest.mark.parametrize("mix", MIXES)
def test_separable_scale_is_bilinear(large_block, mix, params):
    blk = large_block
    x = random_x(blk)
    idx = [0, 2]
    out = blk.run(x, {"scale": {"idx": idx, "mix": mix, "params": [params, params]}})
    ci, cj = (blk.h - 1) / 2, (blk.w - 1) / 2
    i, j = np.mgrid[0:blk.h, 0:blk.w].astype(np.float64)
    kx, ky = params
    check(out, x, idx, mix, lambda c, k: bilinear(x[:, c], ci + (i - ci) / ky, cj + (j - cj) / kx), BILINEAR_LARGE)


@pytest.mark.parametrize("stage,p,q", [("translate", [0.13, -0.21], [0.3, 0.1]), ("scale", [0.8, 1.25], [2.0, 0.5])])
def test_separable_equals_per_channel_grids_within_rounding(large_block, stage, p, q):
    """A channel sampled axis by axis (all thetas equal) and on its own 2-D grid (thetas differ)."""
    x = random_x(large_block)
    same = large_block.run(x, {stage: {"idx": [2, 1], "mix": [1.0, 1.0], "params": [p, p]}})
    differ = large_block.run(x, {stage: {"idx": [2, 1], "mix": [1.0, 1.0], "params": [p, q]}})
    np.testing.assert_allclose(same[:, 2], differ[:, 2], rtol=0, atol=BILINEAR_LARGE)
    assert not np.allclose(same[:, 1], differ[:, 1])


@pytest.mark.parametrize("stage", ["erode", "dilate"])
def test_padded_morphology_of_the_dynamo_exporter_bends_as_the_default(stage):
    """`pad_empty` (set for the dynamo exporter) appends a padding map to the pooled selection:
    the block's output must not change, with the stage active and with it empty (K = 0)."""
    from netbend_models.bend.block import MorphologyStage

    torch.manual_seed(0)
    x = torch.randn(2, 6, 9, 12)

    def run(pad_empty, active):
        block = BendBlock(1, 6, 9, 12).eval()
        for module in block.modules():
            if isinstance(module, MorphologyStage):
                module.pad_empty = pad_empty
        feeds = block.neutral_inputs()
        if active:
            feeds[f"L1.{stage}.idx"] = torch.tensor([1, 4])
            feeds[f"L1.{stage}.mix"] = torch.tensor([1.0, 0.5])
            feeds[f"L1.{stage}.params"] = torch.tensor([[1.0], [2.0]])
        with torch.no_grad():
            return block(x, *[feeds[name] for name in block.input_names()])

    for active in (True, False):
        torch.testing.assert_close(run(True, active), run(False, active))
    assert not torch.equal(run(False, True), x)
