"""What the clustering pipelines of every model kind share (vae.py, stylegan2.py, clip_clusters.py):
the per-layer CNN training, k-means per layer, and the outputs (embed.L{l}.onnx, manifest.json's
`clusters.general` and `clustering`, clusters.yaml)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from tqdm import tqdm

from .cnn import EMBEDDING_DIM, Embedder, EmbeddingCNN
from .kmeans import clusters_from_labels, kmeans

LEARNING_RATE, BETAS, BATCH = 1e-4, (0.9, 0.999), 100  # paper Sec. 4.2
OPSET = 20
log = logging.getLogger("netbend.clustering")


# ---------------------------------------------------------------------------------------------
# Training

def as_examples(maps: torch.Tensor, order: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Items order[i] = window * C + channel of maps [n, C, H, W] -> ([b, 1, H, W] float32, labels [b])."""
    c = maps.shape[1]
    win, ch = order // c, order % c
    return maps[win, ch].unsqueeze(1).float(), ch


@torch.no_grad()
def accuracy(cnn: EmbeddingCNN, maps: torch.Tensor, batch: int = BATCH) -> tuple[float, float]:
    """(top-1 accuracy, mean cross-entropy) of the CNN on every map of [n, C, H, W]."""
    cnn.eval()
    items = torch.arange(maps.shape[0] * maps.shape[1])
    correct, loss = 0, 0.0
    for i in range(0, len(items), batch):
        x, y = as_examples(maps, items[i:i + batch])
        logits = cnn(x)
        correct += int((logits.argmax(1) == y).sum())
        loss += float(F.cross_entropy(logits, y, reduction="sum"))
    return correct / len(items), loss / len(items)


def train_layer(layer: int, cnn: EmbeddingCNN, train_maps: torch.Tensor, test_maps: torch.Tensor,
                epochs: int, checkpoint: Path | None = None, resume: bool = False, seed: int = 0,
                batch: int = BATCH, progress: bool = True, meta: dict | None = None) -> list[dict]:
    """Softmax feature learning on one layer's maps; returns the per-epoch history.
    With `checkpoint`, state is saved after every epoch; `resume` continues from it when its
    `meta` (data and settings) matches."""
    opt = torch.optim.Adam(cnn.parameters(), lr=LEARNING_RATE, betas=BETAS)
    meta = dict(meta or {}, layer=layer, cnn=cnn.config(), batch=batch, seed=seed,
                train_maps=list(train_maps.shape), test_maps=list(test_maps.shape))
    history, start = [], 0
    if resume and checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state["meta"] != meta:
            raise ValueError(f"{checkpoint}: made with other settings or data ({state['meta']}), now {meta}; "
                             "remove it or run without --resume")
        cnn.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        history, start = state["history"], state["epoch"]
        log.info("layer %d: resumed at epoch %d from %s", layer, start, checkpoint)
    n_items = train_maps.shape[0] * train_maps.shape[1]
    for epoch in range(start, epochs):
        t0 = time.time()
        cnn.train()
        order = torch.randperm(n_items, generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        total, correct = 0.0, 0
        bar = tqdm(range(0, n_items, batch), desc=f"L{layer} epoch {epoch + 1}/{epochs}", disable=not progress,
                   leave=False)
        for i in bar:
            x, y = as_examples(train_maps, order[i:i + batch])
            logits = cnn(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
        test_acc, test_loss = accuracy(cnn, test_maps)
        history.append({"epoch": epoch + 1, "train_loss": total / n_items, "train_accuracy": correct / n_items,
                        "test_loss": test_loss, "test_accuracy": test_acc, "seconds": round(time.time() - t0, 2)})
        log.info("layer %d epoch %d: train loss %.4f acc %.3f, test loss %.4f acc %.3f (%.1f s)", layer, epoch + 1,
                 total / n_items, correct / n_items, test_loss, test_acc, time.time() - t0)
        if checkpoint is not None:
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"meta": meta, "model": cnn.state_dict(), "optimizer": opt.state_dict(),
                        "epoch": epoch + 1, "history": history}, tmp)
            tmp.replace(checkpoint)
    cnn.eval()
    return history


# ---------------------------------------------------------------------------------------------
# Clusters

def cluster_layers(embeddings: dict[int, np.ndarray], k: dict[int, int], seed: int) -> dict[int, dict]:
    """k-means per layer: layer -> {"clusters": [[channels]...], "labels", "result"}. k is capped at the
    layer's feature count (tiny test models); empty clusters (possible only with duplicate
    embeddings) are dropped."""
    out = {}
    for l, e in embeddings.items():
        kl = min(k[l], len(e))
        if kl < k[l]:
            log.warning("layer %d: only %d features, so %d clusters instead of %d", l, len(e), kl, k[l])
        result = kmeans(e, kl, seed=seed)
        clusters = [c for c in clusters_from_labels(result.labels, kl) if c]
        if len(clusters) < kl:
            log.warning("layer %d: %d of %d clusters empty, dropped", l, kl - len(clusters), kl)
        out[l] = {"clusters": clusters, "labels": result.labels, "result": result}
    return out


# ---------------------------------------------------------------------------------------------
# Outputs: manifest, cluster file, ONNX

def validate_cluster_map(clusters: dict, channels: dict[int, int]) -> None:
    """Every channel of every given layer in exactly one non-empty cluster; no unknown layer."""
    for l, cl in clusters.items():
        l = int(l)
        if l not in channels:
            raise ValueError(f"clusters for layer {l}, which the model does not have (layers {sorted(channels)})")
        flat = [int(c) for cluster in cl for c in cluster]
        if any(len(cluster) == 0 for cluster in cl):
            raise ValueError(f"layer {l}: empty cluster")
        if sorted(flat) != list(range(channels[l])):
            dup = sorted({c for c in flat if flat.count(c) > 1})
            missing = sorted(set(range(channels[l])) - set(flat))
            outside = sorted(c for c in flat if not 0 <= c < channels[l])
            raise ValueError(f"layer {l} ({channels[l]} channels): every channel must be in exactly one "
                             f"cluster; duplicated {dup}, missing {missing}, outside {outside}")


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: readers see the old or the new file.
    Keeps an existing file's permissions (0644 for a new one)."""
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_manifest_clusters(manifest_path: Path, clusters: dict[int, list[list[int]]], name: str = "general",
                            clustering: dict | None = None) -> dict:
    """Set manifest.json's `clusters[name]` (and `clustering`, if given) atomically; the rest of the
    manifest is kept as it is. The map is checked against the manifest's `layers`. Returns the manifest."""
    manifest_path = Path(manifest_path)
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != "netbend-model":
        raise ValueError(f"{manifest_path}: not a Netbend manifest (format {manifest.get('format')!r})")
    channels = {int(layer["index"]): int(layer["channels"]) for layer in manifest.get("layers", [])}
    validate_cluster_map(clusters, channels)
    manifest.setdefault("clusters", {})[name] = {str(l): [sorted(int(c) for c in cl) for cl in v]
                                                 for l, v in sorted(clusters.items())}
    if clustering is not None:
        manifest["clustering"] = clustering
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_cluster_yaml(path: Path, clusters: dict[int, list[list[int]]]) -> None:
    """The reference implementation's cluster file: {layer: [{cluster_index, feature_index}, ...]},
    one entry per feature, in feature order."""
    doc = {}
    for l, cl in sorted(clusters.items()):
        entries = [(f, j) for j, cluster in enumerate(cl) for f in cluster]
        doc[int(l)] = [{"cluster_index": j, "feature_index": f} for f, j in sorted(entries)]
    atomic_write_text(path, yaml.safe_dump(doc, sort_keys=False))


def read_cluster_yaml(path: Path) -> dict[int, list[list[int]]]:
    """Inverse of write_cluster_yaml: layer -> clusters (cluster_index order) of ascending features."""
    doc = yaml.safe_load(Path(path).read_text()) or {}
    out = {}
    for l, entries in doc.items():
        k = 1 + max(int(e["cluster_index"]) for e in entries)
        cl = [[] for _ in range(k)]
        for e in entries:
            cl[int(e["cluster_index"])].append(int(e["feature_index"]))
        out[int(l)] = [sorted(c) for c in cl]
    return out


def export_embedder(cnn: EmbeddingCNN, path: Path) -> None:
    """ONNX: input `maps` [N, 1, H, W] float32 -> output `embedding` [N, 10]; N dynamic."""
    cnn.eval()
    x = torch.zeros(2, 1, cnn.height, cnn.width)
    tmp = Path(path).with_suffix(".tmp.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Embedder(cnn), (x,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["maps"], output_names=["embedding"],
                          dynamic_axes={"maps": {0: "N"}, "embedding": {0: "N"}})
    import onnx
    onnx.checker.check_model(onnx.load(str(tmp)))
    os.replace(tmp, path)


def clustering_entry(cnns: dict[int, EmbeddingCNN], k: dict[int, int], seed: int, provenance: dict) -> dict:
    """The manifest's `clustering` object (docs/model-manifest.md)."""
    return {
        "algorithm": "kmeans-lloyd-forgy",
        "rng": "splitmix64",
        "seed": seed,
        "max_iter": 300,
        "k": {str(l): k[l] for l in sorted(cnns)},  # as used: capped at the layer's feature count
        "embedding_dim": EMBEDDING_DIM,
        "embeddings": {str(l): {"file": f"embed.L{l}.onnx", "input": "maps", "output": "embedding",
                                "height": cnn.height, "width": cnn.width, "depth": cnn.depth}
                       for l, cnn in sorted(cnns.items())},
        "provenance": provenance,
    }


def write_clustering_outputs(model_dir: Path, run_dir: Path, cnns: dict[int, EmbeddingCNN], result: dict[int, dict],
                             embeddings: dict[int, np.ndarray], seed: int, provenance: dict) -> None:
    """Step 4 of vae.py's docstring for any model kind: embed.L{l}.onnx, manifest.json's
    `clusters.general` and `clustering`, and clusters.yaml into the model directory; the mean
    embeddings (embeddings.npz) into the run directory. result is cluster_layers' output."""
    for l, cnn in cnns.items():
        export_embedder(cnn, model_dir / f"embed.L{l}.onnx")
    clusters = {l: r["clusters"] for l, r in result.items()}
    k_used = {l: r["result"].centroids.shape[0] for l, r in result.items()}
    write_manifest_clusters(model_dir / "manifest.json", clusters, "general",
                            clustering_entry(cnns, k_used, seed, provenance))
    write_cluster_yaml(model_dir / "clusters.yaml", clusters)
    np.savez(run_dir / "embeddings.npz", **{f"L{l}": e for l, e in embeddings.items()})


# ---------------------------------------------------------------------------------------------
# Command-line values and provenance

def parse_k(text: str, layers) -> dict[int, int]:
    values = [int(v) for v in str(text).split(",")]
    if len(values) != len(layers) or any(v < 2 for v in values):
        raise ValueError(f"--k needs {len(layers)} integers >= 2 (one per layer), got {text!r}")
    return dict(zip(layers, values))


def parse_epochs(text, layers) -> dict[int, int]:
    """"E" (every layer) or "E1,E2,..." (one per layer) -> layer -> epochs."""
    values = [int(v) for v in str(text).split(",")]
    if len(values) == 1:
        values = values * len(layers)
    if len(values) != len(layers) or any(v < 1 for v in values):
        raise ValueError(f"--epochs needs one integer >= 1 or {len(layers)} of them, got {text!r}")
    return dict(zip(layers, values))


def json_default(o):
    """json.dumps' `default` for NumPy values."""
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    return str(o)


def file_digest(path: Path) -> str:
    """The first 16 hex digits of the file's SHA-256 (provenance)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]

