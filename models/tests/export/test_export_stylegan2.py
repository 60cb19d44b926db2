"""The exported StyleGAN2 image model (export/stylegan2.py) against the PyTorch generator."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from netbend_models.export import stylegan2 as export_stylegan2
from netbend_models.bend.block import STAGES, block_input_names
from netbend_models.export.stylegan2 import BentSynthesis, random_generator

torch.set_num_threads(1)

# 32 px: 7 layers and 8 w+ rows, enough for the exporter to share a block's constant with the
# w+ indexing outside it (what neutral_skip must leave in place)
SIZE, WIDTH, STYLE_DIM, SEED = 32, 1 / 64, 32, 5
LAYERS = range(1, 8)
# float32 graph vs eager PyTorch: the same operations in a different order (ONNX Runtime's conv
# kernels); images are ~unit scale, measured max differences 2.4e-6 to 2.9e-6 (seeds 0-3)
IMAGE_ATOL = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("sg") / "tiny-stylegan2"
    export_stylegan2.main(["--random-init", "--size", str(SIZE), "--width", str(WIDTH), "--style-dim",
                           str(STYLE_DIM), "--seed", str(SEED), "--name", "tiny", "--out", str(out)])
    return random_generator(SIZE, WIDTH, STYLE_DIM, seed=SEED), out


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def neutral_feeds(bent: BentSynthesis) -> dict:
    return {name: t.numpy() for name, t in bent.neutral_inputs().items()}


def test_manifest(exported):
    g, out = exported
    m = json.loads((out / "manifest.json").read_text())
    assert (m["format"], m["kind"], m["bend_interface"], m["latent_dim"]) == ("netbend-model", "stylegan2", 1, STYLE_DIM)
    assert m["image"] == {"height": SIZE, "width": SIZE, "channels": 3, "range": [-1.0, 1.0]}
    assert [(l["index"], l["name"], l["channels"], l["height"], l["activation"]) for l in m["layers"]] == [
        (1, "conv1", 8, 4, "act.L1"), (2, "convs.0", 8, 8, "act.L2"), (3, "convs.1", 8, 8, "act.L3"),
        (4, "convs.2", 8, 16, "act.L4"), (5, "convs.3", 8, 16, "act.L5"), (6, "convs.4", 8, 32, "act.L6"),
        (7, "convs.5", 8, 32, "act.L7")]
    sg = m["stylegan2"]
    assert sg["n_latent"] == 8 and len(sg["mean_latent"]) == STYLE_DIM
    np.testing.assert_allclose(sg["mean_latent"], g.mean_latent(4096, seed=0).numpy(), rtol=1e-6)
    assert [n["input"] for n in sg["noise"]] == [f"noise.L{l}" for l in LAYERS]
    assert m["stages"] == [{"name": s, "params": p} for s, p in STAGES]
    dec = m["graphs"]["decoder"]
    assert dec["inputs"] == ["w", "psi", *[f"noise.L{l}" for l in LAYERS],
                             *[n for l in LAYERS for n in block_input_names(l)]]
    assert dec["outputs"] == ["image", *[f"act.L{l}" for l in LAYERS]]
    assert m["graphs"]["mapping"] == {"file": "mapping.onnx", "inputs": ["z"], "outputs": ["w"]}
    assert "encoder" not in m["graphs"]


@pytest.mark.parametrize("psi", [1.0, 0.6])
def test_neutral_graph_equals_pytorch_generator(exported, psi):
    """mapping.onnx then decoder.onnx with every bend neutral vs Generator.forward, four seeds in
    one batch; the activations equal the styled convs' outputs (forward hooks)."""
    g, out = exported
    m = json.loads((out / "manifest.json").read_text())
    mean = torch.tensor(m["stylegan2"]["mean_latent"])
    seeds = [0, 1, 2, 3]
    z, noises = g.sample_inputs(seeds)
    acts = []
    hooks = [conv.register_forward_hook(lambda mod, i, o: acts.append(o)) for conv in g.styled_convs()]
    try:
        with torch.no_grad():
            expected = g(z, noises, psi=psi, mean_latent=mean).numpy()
    finally:
        for h in hooks:
            h.remove()
    (w,) = session(out / "mapping.onnx").run(None, {"z": z.numpy()})
    np.testing.assert_allclose(w, g.mapping(z).detach().numpy(), atol=1e-5)
    feeds = {"w": np.repeat(w[:, None], g.n_latent, axis=1), "psi": np.full(len(seeds), psi, np.float32),
             **{f"noise.L{l + 1}": n.numpy() for l, n in enumerate(noises)},
             **neutral_feeds(BentSynthesis(g, mean))}
    image, *activations = session(out / "decoder.onnx").run(None, feeds)
    assert image.shape == (4, 3, SIZE, SIZE)
    assert np.abs(image - expected).max() < IMAGE_ATOL
    for got, want in zip(activations, acts):
        np.testing.assert_allclose(got, want.numpy(), atol=IMAGE_ATOL)


def test_bent_graph_equals_pytorch_bent_synthesis(exported):
    """Stages on layers 1, 2 and 5 (rotate, erode + scalar-multiply, translate + ablate) in the graph
    and in PyTorch; the image must differ from the neutral one."""
    g, out = exported
    mean = torch.tensor(json.loads((out / "manifest.json").read_text())["stylegan2"]["mean_latent"])
    bent = BentSynthesis(g, mean).eval()
    z, noises = g.sample_inputs([11, 12])
    w = g.mapping(z).detach().unsqueeze(1).expand(-1, g.n_latent, -1).contiguous()
    psi = torch.full((2,), 0.7)
    bends = neutral_feeds(bent)
    active = {
        "L1.rotate": ([0, 3, 5], [[90.0], [45.0], [10.0]]),
        "L2.erode": ([1, 2], [[1.0], [2.0]]), "L2.scalar-multiply": ([2, 7], [[-1.5], [3.0]]),
        "L5.translate": ([0, 6], [[0.25, -0.1], [0.0, 0.5]]), "L5.ablate": ([4], None),
    }
    for prefix, (idx, params) in active.items():
        bends[f"{prefix}.idx"] = np.array(idx, np.int64)
        bends[f"{prefix}.mix"] = np.linspace(1.0, 0.5, len(idx)).astype(np.float32)
        if params is not None:
            bends[f"{prefix}.params"] = np.array(params, np.float32)
    noise_feeds = {f"noise.L{l + 1}": n.numpy() for l, n in enumerate(noises)}
    feeds = {"w": w.numpy(), "psi": psi.numpy(), **noise_feeds, **bends}
    with torch.no_grad():
        expected = bent(w, psi, *noises, *[torch.from_numpy(bends[n]) for n in bent.input_names()[2 + g.num_layers:]])
    sess = session(out / "decoder.onnx")
    image, *acts = sess.run(None, feeds)
    assert np.abs(image - expected[0].numpy()).max() < IMAGE_ATOL
    for got, want in zip(acts, expected[1:]):
        np.testing.assert_allclose(got, want.numpy(), atol=IMAGE_ATOL)
    neutral = sess.run(["image"], {**feeds, **neutral_feeds(bent)})[0]
    assert np.abs(image - neutral).max() > 1e-2
    # layer 1's activation enters its block unbent either way; layer 2's is downstream of the bend
    np.testing.assert_array_equal(acts[0], sess.run(["act.L1"], {**feeds, **neutral_feeds(bent)})[0])
    assert not np.array_equal(acts[1], sess.run(["act.L2"], {**feeds, **neutral_feeds(bent)})[0])


def test_bend_work_is_skipped_when_neutral(exported):
    """The neutral_skip pass ran on the image decoder too: one top-level If per bend block, each
    holding an If per stage with a large body (translate, scale, rotate, erode, dilate: block
    order 1, 2, 3, 6, 7), as in the audio decoder (tests/export/test_neutral_skip.py)."""
    import onnx
    _, out = exported
    model = onnx.load(str(out / "decoder.onnx"))
    ifs = [n for n in model.graph.node if n.op_type == "If"]
    assert [n.name for n in ifs] == [f"/blocks.{i}/If" for i in range(len(LAYERS))]
    for node in ifs:
        then = next(a.g for a in node.attribute if a.name == "then_branch")
        block = node.name[: -len("/If")]
        assert [n.name for n in then.node if n.op_type == "If"] == \
            [f"{block}/stages.{s}/If" for s in (1, 2, 3, 6, 7)]


def test_checkpoint_export_uses_stored_mean(exported, tmp_path):
    g, _ = exported
    latent_avg = torch.randn(STYLE_DIM)
    ckpt = tmp_path / "g.pt"
    torch.save({"g_ema": g.state_dict(), "latent_avg": latent_avg}, ckpt)
    out = tmp_path / "from-ckpt"
    export_stylegan2.main(["--checkpoint", str(ckpt), "--out", str(out)])
    m = json.loads((out / "manifest.json").read_text())
    np.testing.assert_array_equal(np.array(m["stylegan2"]["mean_latent"], np.float32), latent_avg.numpy())
    assert m["stylegan2"]["mean_latent_source"] == "checkpoint latent_avg"
    assert m["training"]["model"]["checkpoint"] == "g.pt"
    with pytest.raises(FileExistsError):
        export_stylegan2.main(["--checkpoint", str(ckpt), "--out", str(out)])
