"""Clustering pipeline: CNN shapes per layer, cluster file round trip, manifest writer, and a tiny
end-to-end run (width 1/64 VAE, a few windows, 1 epoch) through the CLI."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml

from netbend_models.clustering import common, vae as clustering
from netbend_models.clustering.cnn import EMBEDDING_DIM, EmbeddingCNN, VAE_LAYER_DEPTHS
from netbend_models.vae.model import SpectrogramVAE

torch.set_num_threads(1)

# paper Table 1 at width 0.25 (the default model): channels, H, W, CNN depth
LAYERS = {1: (128, 8, 33, 1), 2: (64, 17, 65, 2), 3: (32, 32, 129, 3), 4: (16, 64, 257, 4)}


@pytest.mark.parametrize("layer", [1, 2, 3, 4])
def test_cnn_shapes_per_layer(layer):
    c, h, w, depth = LAYERS[layer]
    assert VAE_LAYER_DEPTHS[layer] == depth
    cnn = EmbeddingCNN(h, w, c, depth).eval()
    x = torch.randn(3, 1, h, w)
    with torch.no_grad():
        assert tuple(cnn.embed(x).shape) == (3, EMBEDDING_DIM)
        assert tuple(cnn(x).shape) == (3, c)
    assert len(cnn.stages) == depth
    # every depth ends near the same small map, 50 features deep
    assert cnn.final_shape[0] == 50 and cnn.final_shape[1] in (4, 5) and cnn.final_shape[2] == 17
    with pytest.raises(ValueError, match="maps must be"):
        cnn.embed(torch.randn(1, 1, h + 1, w))


def test_cnn_can_learn_to_tell_features_apart():
    torch.manual_seed(0)
    # 4 "features" with distinct spatial patterns plus noise
    base = torch.zeros(4, 8, 33)
    base[0, :, :8] = 1
    base[1, :, -8:] = 1
    base[2, :4] = 1
    base[3, ::2, ::2] = 1
    maps = (base[None] + 0.3 * torch.randn(20, 4, 8, 33)).half()
    cnn = EmbeddingCNN(8, 33, 4, 1)
    hist = common.train_layer(1, cnn, maps[:16], maps[16:], epochs=15, progress=False)
    assert hist[-1]["test_accuracy"] == 1.0


def test_cluster_yaml_round_trip(tmp_path):
    clusters = {1: [[0, 3, 5], [1, 2], [4]], 3: [[1], [0, 2, 3]]}
    path = tmp_path / "clusters.yaml"
    common.write_cluster_yaml(path, clusters)
    doc = yaml.safe_load(path.read_text())
    assert doc[1][0] == {"cluster_index": 0, "feature_index": 0}
    assert [e["feature_index"] for e in doc[1]] == list(range(6))
    assert common.read_cluster_yaml(path) == clusters


def manifest_for(vae: SpectrogramVAE) -> dict:
    """What the exporter writes, reduced to the fields the clustering reads and keeps."""
    cfg = vae.config()
    return {"format": "netbend-model", "format_version": 1, "bend_interface": 1, "kind": "spectrogram-vae",
            "name": "test", "description": "", "latent_dim": vae.latent_dim,
            "layers": [{"index": l, "name": f"decoder.stages.{l - 1}", "channels": cfg["decoder_channels"][l - 1],
                        "height": cfg["decoder_resolutions"][l - 1][0], "width": cfg["decoder_resolutions"][l - 1][1],
                        "activation": f"act.L{l}"} for l in (1, 2, 3, 4)],
            "clusters": {"general": {}}, "training": {"note": "kept"}}


def test_manifest_writer_validates_and_keeps_other_fields(tmp_path):
    vae = SpectrogramVAE(width=1 / 64)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest_for(vae)))
    path.chmod(0o644)
    good = {1: [[0, 1, 2], [3, 4, 5, 6, 7]], 2: [[0, 2], [1, 3]], 3: [[0, 1]], 4: [[0]]}
    m = common.write_manifest_clusters(path, good, clustering={"seed": 3})
    again = json.loads(path.read_text())
    assert again == m and again["training"] == {"note": "kept"} and again["clustering"] == {"seed": 3}
    assert again["clusters"]["general"]["2"] == [[0, 2], [1, 3]]
    for bad, msg in [({1: [[0, 1], [1, 2, 3, 4, 5, 6, 7]]}, "duplicated \\[1\\]"),
                     ({1: [[0, 1, 2], [3, 4, 5, 6]]}, "missing \\[7\\]"),
                     ({1: [[0, 1, 2, 3, 4, 5, 6, 7, 8]]}, "outside \\[8\\]"),
                     ({5: [[0]]}, "layer 5"), ({4: [[0], []]}, "empty cluster")]:
        with pytest.raises(ValueError, match=msg):
            common.write_manifest_clusters(path, bad)
    assert json.loads(path.read_text()) == m  # a rejected map leaves the file as it was
    assert path.stat().st_mode & 0o777 == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def make_dataset(root, n=(6, 3, 3)):
    rng = np.random.default_rng(0)
    root.mkdir()
    tilt = np.linspace(0.9, 0.1, 513)
    for split, count in zip(("train", "validation", "test"), n):
        w = tilt + 0.1 * rng.random((count, 128, 513))
        w[:, ::16] += 0.2  # some onsets for the report's onset correlation
        np.save(root / f"{split}.npy", np.clip(w, 0, 1).astype(np.float16))
    (root / "READY").write_text("ok\n")


def test_tiny_end_to_end_cli(tmp_path):
    torch.manual_seed(0)
    vae = SpectrogramVAE(width=1 / 64)
    ckpt = tmp_path / "vae.pt"
    torch.save({"config": vae.config(), "model": vae.state_dict()}, ckpt)
    data, model_dir, run = tmp_path / "data", tmp_path / "model", tmp_path / "run"
    make_dataset(data)
    model_dir.mkdir()
    (model_dir / "manifest.json").write_text(json.dumps(manifest_for(vae)))
    args = ["--checkpoint", str(ckpt), "--data", str(data), "--model-dir", str(model_dir), "--run", str(run),
            "--samples", "4", "--test-samples", "2", "--epochs", "1", "--k", "3,3,2,2", "--seed", "1",
            "--report-windows", "2"]
    clustering.main(args)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    general = manifest["clusters"]["general"]
    for layer in manifest["layers"]:
        cl = general[str(layer["index"])]
        flat = sorted(c for cluster in cl for c in cluster)
        assert flat == list(range(layer["channels"])), layer  # every channel in exactly one cluster
        assert all(cl) and len(cl) <= 3
    assert len(general["1"]) == 3  # 8 channels, k = 3
    assert common.read_cluster_yaml(model_dir / "clusters.yaml") == \
        {int(l): v for l, v in general.items()}
    entry = manifest["clustering"]
    assert entry["algorithm"] == "kmeans-lloyd-forgy" and entry["seed"] == 1
    assert entry["k"] == {"1": 3, "2": 3, "3": 2, "4": 1}  # layer 4 has one channel at width 1/64
    assert entry["provenance"]["samples"] == 4 and entry["provenance"]["epochs"] == {"1": 1, "2": 1, "3": 1, "4": 1}
    # each exported embedder equals the PyTorch CNN and takes any batch size
    for l, (c, h, w) in clustering.layer_shapes(vae).items():
        info = entry["embeddings"][str(l)]
        assert (info["height"], info["width"]) == (h, w)
        sess = ort.InferenceSession(str(model_dir / info["file"]))
        cnn = clustering.make_cnn(l, (c, h, w))
        cnn.load_state_dict(torch.load(run / f"embed.L{l}.pt", weights_only=False)["model"])
        cnn.eval()
        x = torch.randn(5, 1, h, w)
        got = sess.run(["embedding"], {"maps": x.numpy()})[0]
        np.testing.assert_allclose(got, cnn.embed(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert (run / "report.md").exists() and (run / "clusters-L1.png").exists()
    assert "| layer |" in (run / "report.md").read_text()
    log_text = (run / "clustering.log.txt").read_text()
    assert "layer 4 epoch 1" in log_text
    # resume: the checkpoints hold epoch 1; asking for 2 epochs trains only the second
    clustering.main(args[:-8] + ["--epochs", "2,2,2,1", "--k", "3,3,2,2", "--seed", "1", "--no-report", "--resume"])
    state = torch.load(run / "embed.L1.pt", weights_only=False)
    assert state["epoch"] == 2 and [h["epoch"] for h in state["history"]] == [1, 2]
    assert torch.load(run / "embed.L4.pt", weights_only=False)["epoch"] == 1


def test_resume_refuses_other_settings(tmp_path):
    maps = torch.randn(4, 3, 8, 33).half()
    cnn = EmbeddingCNN(8, 33, 3, 1)
    ck = tmp_path / "l1.pt"
    common.train_layer(1, cnn, maps[:3], maps[3:], 1, ck, progress=False, meta={"a": 1})
    with pytest.raises(ValueError, match="other settings"):
        common.train_layer(1, EmbeddingCNN(8, 33, 3, 1), maps[:3], maps[3:], 2, ck, resume=True,
                               progress=False, meta={"a": 2})


def test_per_clip_embeddings_are_the_mean_of_single_windows():
    torch.manual_seed(0)
    vae = SpectrogramVAE(width=1 / 64).eval()
    cnns = {l: clustering.make_cnn(l, s).eval() for l, s in clustering.layer_shapes(vae).items()}
    w = torch.rand(3, 1, 128, 513)
    both = clustering.mean_embeddings(vae, cnns, w, batch=2)
    single = [clustering.mean_embeddings(vae, cnns, w[i:i + 1]) for i in range(3)]
    for l in cnns:
        np.testing.assert_allclose(both[l], np.mean([s[l] for s in single], axis=0), rtol=1e-5, atol=1e-6)


def test_ablation_profiles_zero_for_no_channels_and_bands_cover_spectrum():
    from netbend_models.clustering import report as rep
    bands = rep.band_of_bin()
    assert bands[0] == 0 and bands[-1] == rep.N_BANDS - 1 and set(bands) == set(range(rep.N_BANDS))
    assert np.all(np.diff(bands) >= 0)
    torch.manual_seed(0)
    vae = SpectrogramVAE(width=1 / 64).eval()
    w = torch.rand(2, 1, 128, 513)
    none, every = rep.ablation_profiles(vae, w, 1, [[], list(range(8))])
    assert none["mean_abs_db"] == 0 and np.all(none["band_abs_db"] == 0)
    assert every["mean_abs_db"] > 0 and every["time_abs_db"].shape == (128,)
    assert every["band_mean_db"].shape == (rep.N_BANDS,)
