"""The exported model directory: manifest and graph names as docs/model-manifest.md and
docs/bend-graph.md say (expected values written out here), neutral bends bit-exact vs the same model
exported without bend blocks, exported graphs vs PyTorch, atomic writes and clear errors.

Tolerance exported vs PyTorch: 1e-5 absolute on the spectrogram (values in [0, 1]) and on the
activations, with and without bends.
"""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from netbend_models.export import vae as export
from netbend_models.export.vae import BentDecoder, export_decoder, export_model, random_model
from conftest import TINY_DESCRIPTION

torch.set_num_threads(2)
WIDTH = 1 / 64
TOLERANCE = 1e-5

SPEC_STAGE_INPUTS = [  # stage, its inputs after idx and mix
    ("shuffle", ["source"]), ("translate", ["params"]), ("scale", ["params"]), ("rotate", ["params"]),
    ("flip-h", []), ("flip-v", []), ("erode", ["params"]), ("dilate", ["params"]),
    ("scalar-multiply", ["params"]), ("offset", ["params"]), ("invert", []), ("binary-thresh", ["params"]),
    ("noise", ["params", "field"]), ("ablate", []),
]
SPEC_P = {"translate": 2, "scale": 2}
# Table 1 resolutions of decoder layers 1-4 and their channels at width 1/64 (512, 256, 128, 64 / 64).
LAYERS = [(1, 8, 8, 33), (2, 4, 17, 65), (3, 2, 32, 129), (4, 1, 64, 257)]


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def exported(tiny_vae, tmp_path_factory):
    """(model, its exported directory, the same model's decoder exported without bend blocks)."""
    model, out = tiny_vae
    plain = tmp_path_factory.mktemp("plain") / "plain_decoder.onnx"
    export_decoder(model, plain, bend=False)
    return model, out, plain


def neutral_feeds(batch_z):
    feeds = {"z": batch_z}
    for layer, c, h, w in LAYERS:
        for stage, extra in SPEC_STAGE_INPUTS:
            feeds[f"L{layer}.{stage}.idx"] = np.zeros(0, np.int64)
            feeds[f"L{layer}.{stage}.mix"] = np.zeros(0, np.float32)
            if "params" in extra:
                feeds[f"L{layer}.{stage}.params"] = np.zeros((0, SPEC_P.get(stage, 1)), np.float32)
        feeds[f"L{layer}.shuffle.source"] = np.zeros(0, np.int64)
        feeds[f"L{layer}.noise.field"] = np.zeros((0, h, w), np.float32)
    return feeds


def active_feeds(batch_z, seed=0):
    """Every stage on every layer active on some channels (mix 1 or 0.5)."""
    rng = np.random.default_rng(seed)
    feeds = neutral_feeds(batch_z)
    params = {"translate": [0.1, -0.05], "scale": [0.8, 1.25], "rotate": [20.0], "erode": [2.0],
              "dilate": [1.0], "scalar-multiply": [1.5], "offset": [0.1], "binary-thresh": [0.0], "noise": [0.3]}
    for layer, c, h, w in LAYERS:
        for n, (stage, extra) in enumerate(SPEC_STAGE_INPUTS):
            idx = np.array([n % c], np.int64)
            feeds[f"L{layer}.{stage}.idx"] = idx
            feeds[f"L{layer}.{stage}.mix"] = np.array([1.0 if n % 2 else 0.5], np.float32)
            if "params" in extra:
                feeds[f"L{layer}.{stage}.params"] = np.array([params[stage]], np.float32)
        feeds[f"L{layer}.shuffle.source"] = np.array([c - 1], np.int64)
        feeds[f"L{layer}.noise.field"] = rng.standard_normal((1, h, w)).astype(np.float32)
    return feeds


def expected_decoder_inputs():
    names = ["z"]
    for layer, *_ in LAYERS:
        for stage, extra in SPEC_STAGE_INPUTS:
            names += [f"L{layer}.{stage}.{kind}" for kind in ["idx", "mix", *extra]]
    return names


def test_manifest_matches_spec(exported):
    model, out, _ = exported
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "manifest.json"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["format"] == "netbend-model" and m["format_version"] == 1 and m["bend_interface"] == 1
    assert m["kind"] == "spectrogram-vae" and m["name"] == "tiny-vae" and m["description"] == TINY_DESCRIPTION
    assert m["latent_dim"] == 512
    assert m["signal"] == {"sample_rate": 44100, "n_fft": 1024, "hop": 256, "window": "hann-periodic",
                           "bins": 513, "window_frames": 128}
    assert m["normalisation"] == {"kind": "db-minmax", "amin": 1e-4, "db_min": -80.0, "db_max": 50.0}
    assert m["stages"] == [{"name": s, "params": SPEC_P.get(s, 1 if "params" in e else 0)}
                           for s, e in SPEC_STAGE_INPUTS]
    assert m["layers"] == [{"index": l, "name": f"decoder.stages.{l - 1}", "channels": c, "height": h,
                            "width": w, "activation": f"act.L{l}"} for l, c, h, w in LAYERS]
    assert m["clusters"] == {"general": {}}
    assert m["training"] == {"model": {"random_weights_seed": 0, "width": WIDTH,
                                       "n_params": sum(p.numel() for p in model.parameters())}}
    assert m["graphs"]["encoder"] == {"file": "encoder.onnx", "inputs": ["spectrogram"],
                                      "outputs": ["mu", "logvar"]}
    assert m["graphs"]["decoder"] == {"file": "decoder.onnx", "inputs": expected_decoder_inputs(),
                                      "outputs": ["spectrogram", "act.L1", "act.L2", "act.L3", "act.L4"]}


def test_graph_names_shapes_and_dtypes(exported):
    _, out, _ = exported
    dec = session(out / "decoder.onnx")
    assert [i.name for i in dec.get_inputs()] == expected_decoder_inputs()
    for i in dec.get_inputs()[1:]:
        kind = i.name.rsplit(".", 1)[1]
        assert i.type == ("tensor(int64)" if kind in ("idx", "source") else "tensor(float)"), i.name
        assert isinstance(i.shape[0], str), f"{i.name}: K must be dynamic, got {i.shape}"
    shapes = {o.name: o.shape for o in dec.get_outputs()}
    assert shapes["spectrogram"][1:] == [1, 128, 513]
    for layer, c, h, w in LAYERS:
        assert shapes[f"act.L{layer}"][1:] == [c, h, w]
    enc = session(out / "encoder.onnx")
    assert enc.get_inputs()[0].shape[1:] == [1, 128, 513]
    assert [o.shape[1] for o in enc.get_outputs()] == [512, 512]


def test_neutral_bends_bit_exact_vs_unbent_export(exported):
    _, out, plain = exported
    z = np.random.default_rng(1).standard_normal((2, 512)).astype(np.float32)
    bent = session(out / "decoder.onnx").run(None, neutral_feeds(z))
    unbent = session(plain).run(None, {"z": z})[0]
    assert np.array_equal(bent[0], unbent)


def test_decoder_matches_pytorch_with_and_without_bends(exported):
    model, out, _ = exported
    dec, torch_dec = session(out / "decoder.onnx"), BentDecoder(model).eval()
    z = np.random.default_rng(2).standard_normal((2, 512)).astype(np.float32)
    for feeds in (neutral_feeds(z), active_feeds(z)):
        got = dec.run(None, feeds)
        names = [i.name for i in dec.get_inputs()]
        with torch.no_grad():
            want = torch_dec(*[torch.from_numpy(np.asarray(feeds[n])) for n in names])
        for g, w, name in zip(got, want, ["spectrogram", "act.L1", "act.L2", "act.L3", "act.L4"]):
            np.testing.assert_allclose(g, w.numpy(), rtol=0, atol=TOLERANCE, err_msg=name)
    bent_spec = dec.run(None, active_feeds(z))[0]
    assert not np.allclose(bent_spec, dec.run(None, neutral_feeds(z))[0])


def test_activations_are_unbent_layer_outputs(exported):
    """act.L{l} equals decoder layer l's output in PyTorch eval mode (batch norm running stats)."""
    model, out, _ = exported
    z = np.random.default_rng(4).standard_normal((1, 512)).astype(np.float32)
    got = session(out / "decoder.onnx").run(None, neutral_feeds(z))
    with torch.no_grad():
        h = model.decoder.stem(torch.from_numpy(z))
        for l in range(4):
            h = model.decoder.stages[l](h)
            np.testing.assert_allclose(got[1 + l], h.numpy(), rtol=0, atol=TOLERANCE)


def test_encoder_matches_pytorch(exported):
    model, out, _ = exported
    x = np.random.default_rng(5).random((2, 1, 128, 513)).astype(np.float32)
    mu, logvar = session(out / "encoder.onnx").run(None, {"spectrogram": x})
    with torch.no_grad():
        want_mu, want_logvar = model.encoder(torch.from_numpy(x))
    np.testing.assert_allclose(mu, want_mu.numpy(), rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(logvar, want_logvar.numpy(), rtol=0, atol=TOLERANCE)


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("simulated exporter failure")

    monkeypatch.setattr(export, "export_decoder", fail)
    with pytest.raises(RuntimeError, match="simulated"):
        export_model(random_model(WIDTH), tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_needs_force(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="force"):
        export_model(random_model(WIDTH), tmp_path / "model")
    assert (tmp_path / "model" / "old.txt").exists()


def test_cli_exports_a_train_checkpoint(tmp_path):
    model = random_model(WIDTH, seed=1)
    ckpt = tmp_path / "last.pt"
    torch.save({"config": model.config(), "model": model.state_dict(), "epoch": 3, "step": 42}, ckpt)
    prov = tmp_path / "prov.json"
    prov.write_text(json.dumps({"command": "train ...", "wall_time_s": 12}))
    export.main(["--checkpoint", str(ckpt), "--out", str(tmp_path / "m"), "--name", "ck", "--training", str(prov)])
    m = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert m["name"] == "ck" and m["training"]["command"] == "train ..."
    assert m["training"]["model"]["epoch"] == 3 and m["training"]["model"]["step"] == 42


def test_force_replaces_directory_and_cleans_up(tmp_path, monkeypatch):
    """With the ONNX exports stubbed out (fast): the new directory replaces the old, no leftovers."""
    monkeypatch.setattr(export, "export_encoder", lambda model, path, exporter: path.write_text("enc"))
    monkeypatch.setattr(export, "export_decoder", lambda model, path, bend, exporter: path.write_text("dec"))
    monkeypatch.setattr(export, "build_manifest", lambda *args: {"name": "new"})
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "old.txt").write_text("x")
    export_model(random_model(WIDTH), tmp_path / "model", force=True)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["decoder.onnx", "encoder.onnx",
                                                                      "manifest.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


@pytest.mark.parametrize("content", ["state_dict_only", "other_model"])
def test_non_vae_checkpoint_is_rejected_clearly(tmp_path, content):
    ckpt = tmp_path / "bad.pt"
    if content == "state_dict_only":
        torch.save(random_model(WIDTH).state_dict(), ckpt)
    else:
        torch.save({"config": {"width": WIDTH, "latent_dim": 512},
                    "model": torch.nn.Linear(3, 4).state_dict()}, ckpt)
    with pytest.raises(ValueError, match="not a Netbend VAE checkpoint"):
        export.load_checkpoint(ckpt)
