"""Feature clustering of a StyleGAN2 image model (clustering/stylegan2.py) on a tiny random one:
the clusters partition every layer, and the shipped ONNX pieces (decoder act.L{l} -> embed.L{l})
reproduce the embeddings the clusters were made from."""
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from netbend_models.clustering import stylegan2 as cs
from netbend_models.export import stylegan2 as export_stylegan2
from netbend_models.clustering.common import read_cluster_yaml
from netbend_models.export.stylegan2 import BentSynthesis, random_generator

torch.set_num_threads(1)


def test_table2_settings():
    # Entropy 2022 Table 2: 8x8 depth 1, 5 clusters, batch 500 ... 1024x1024 depth 8, 3 clusters, batch 10
    assert [cs.table2_depth(r) for r in (4, 8, 16, 64, 1024)] == [1, 1, 2, 4, 8]
    assert [cs.table2_k(r) for r in (8, 64, 128, 256, 512, 1024)] == [5, 5, 4, 4, 3, 3]
    assert [cs.table2_batch(r) for r in (8, 32, 64, 128, 256, 512, 1024)] == [500, 500, 200, 80, 50, 20, 10]


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def test_clusters_partition_layers_and_onnx_reproduces_embeddings(tmp_path):
    g = random_generator(16, 1 / 64, 16, seed=1)
    ckpt = tmp_path / "g.pt"
    torch.save({"g_ema": g.state_dict()}, ckpt)
    model = tmp_path / "model"
    export_stylegan2.main(["--checkpoint", str(ckpt), "--out", str(model)])
    samples = 3
    cs.run(ckpt, model, tmp_path / "run", samples=samples, test_samples=2, epochs=1, progress=False)
    m = json.loads((model / "manifest.json").read_text())
    general = m["clusters"]["general"]
    for layer in m["layers"]:
        cl = general[str(layer["index"])]
        assert sorted(c for cluster in cl for c in cluster) == list(range(layer["channels"]))
        assert len(cl) <= 5
    assert read_cluster_yaml(model / "clusters.yaml") == {int(l): v for l, v in general.items()}
    assert m["clustering"]["embeddings"]["5"]["depth"] == 2  # 16x16
    # decoder.onnx (neutral bends) -> act.L{l} -> embed.L{l}.onnx, averaged over the same seeds
    seeds = [cs.TRAIN_SEED_BASE + i for i in range(samples)]
    z, noises = g.sample_inputs(seeds)
    (w,) = session(model / "mapping.onnx").run(None, {"z": z.numpy()})
    bent = BentSynthesis(g, torch.tensor(m["stylegan2"]["mean_latent"]))
    feeds = {"w": np.repeat(w[:, None], g.n_latent, 1), "psi": np.ones(samples, np.float32),
             **{f"noise.L{l + 1}": n.numpy() for l, n in enumerate(noises)},
             **{k: v.numpy() for k, v in bent.neutral_inputs().items()}}
    outs = dict(zip([o.name for o in session(model / "decoder.onnx").get_outputs()],
                    session(model / "decoder.onnx").run(None, feeds)))
    saved = np.load(tmp_path / "run" / "embeddings.npz")
    for layer in m["layers"]:
        l = layer["index"]
        act = outs[f"act.L{l}"]
        b, c, h, w_ = act.shape
        (emb,) = session(model / f"embed.L{l}.onnx").run(None, {"maps": act.reshape(b * c, 1, h, w_)})
        np.testing.assert_allclose(emb.reshape(b, c, -1).astype(np.float64).mean(0), saved[f"L{l}"], atol=1e-4)
    # a checkpoint whose layers differ from the exported model's is refused
    other = tmp_path / "other.pt"
    torch.save({"g_ema": random_generator(16, 1 / 32, 16, seed=1).state_dict()}, other)
    with pytest.raises(ValueError, match="layers differ"):
        cs.run(other, model, tmp_path / "run2", samples=2, test_samples=1, epochs=1, progress=False)
