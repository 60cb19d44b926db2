"""Feature clustering for the spectrogram VAE (Entropy 2022 Sec. 4; EvoMusArt 2021 Sec. 4).

  python -m netbend_models.clustering.vae --checkpoint CKPT --data DIR --model-dir DIR \
      [--samples N --test-samples M --epochs E|E1,E2,E3,E4 --k 5,5,4,4 --seed S --resume]

1. Activations: dataset windows (train split, N chosen with the seed) go through the VAE in eval
   mode (z = mu); forward hooks on `decoder.stages[l-1]` give layer l's maps [C, H, W] per window.
   Each map, labelled with its channel index, is one training example of layer l's CNN; M windows
   of the validation split (other tracks) are the held-out test set.
2. One EmbeddingCNN per layer (cnn.py; depth 1-4 for layers 1-4), softmax feature
   learning: cross-entropy, Adam lr 1e-4, betas (0.9, 0.999), batch 100. A checkpoint per layer
   and epoch in the run folder; --resume continues where it stopped.
3. General clusters: the mean bottleneck embedding of each feature over the N training windows,
   then k-means (kmeans.py: Lloyd, Forgy, SplitMix64 seed) with k per layer (5,5,4,4).
4. Writes into the model directory: manifest.json `clusters.general` and `clustering` (atomically),
   `embed.L{l}.onnx` (maps [N, 1, H, W] -> embedding [N, 10]) and `clusters.yaml` (the reference
   implementation's format). The run folder gets the log, checkpoints, report.json/.md and figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from tqdm import tqdm

from ..cli import parse_args_with_threads
from .cnn import EMBEDDING_DIM, Embedder, EmbeddingCNN, VAE_LAYER_DEPTHS
from .kmeans import clusters_from_labels, kmeans
from ..vae.model import SpectrogramVAE, load_checkpoint

DEFAULT_K = (5, 5, 4, 4)  # paper Table 1, "#Clusters"
LEARNING_RATE, BETAS, BATCH = 1e-4, (0.9, 0.999), 100  # paper Sec. 4.2
OPSET = 20
log = logging.getLogger("netbend.clustering")


# ---------------------------------------------------------------------------------------------
# Activations

def layer_shapes(vae: SpectrogramVAE) -> dict[int, tuple[int, int, int]]:
    """Layer index (1-4) -> (channels, height, width) of decoder.stages[l-1]'s output."""
    cfg = vae.config()
    return {l: (cfg["decoder_channels"][l - 1], *cfg["decoder_resolutions"][l - 1]) for l in VAE_LAYER_DEPTHS}


@contextmanager
def capture(vae: SpectrogramVAE, layers, edit=None):
    """Forward hooks on decoder.stages[l-1] that store each layer's output in the yielded dict.
    `edit(layer, output) -> output` may replace the output (ablation); what is stored is the
    unedited activation."""
    store: dict[int, torch.Tensor] = {}

    def hook_for(l):
        def hook(_module, _inp, out):
            store[l] = out.detach()
            return edit(l, out) if edit is not None else None
        return hook

    handles = [vae.decoder.stages[l - 1].register_forward_hook(hook_for(l)) for l in layers]
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def read_windows(data_dir: Path, split: str, indices: np.ndarray) -> torch.Tensor:
    """Windows `indices` of a dataset split as float32 [n, 1, 128, 513] (memory-mapped read)."""
    a = np.load(Path(data_dir) / f"{split}.npy", mmap_mode="r")
    return torch.from_numpy(np.asarray(a[np.sort(indices)], dtype=np.float32)).unsqueeze(1)


def report_windows_of(data_dir: Path, n: int, seed: int, clip: Path | None = None) -> torch.Tensor:
    """The windows the ablation report bends: `n` test-split windows, or every half-overlapping
    window of an audio clip (the engine's per-clip windows), as float32 [n, 1, 128, 513]."""
    if clip is None:
        return read_windows(data_dir, "test", pick_windows(data_dir, "test", n, seed))
    from ..data.audio import Normalisation
    from .clip_clusters import clip_windows, read_mono
    return torch.from_numpy(clip_windows(read_mono(Path(clip)), Normalisation(), 128)).unsqueeze(1)


def pick_windows(data_dir: Path, split: str, n: int, seed: int) -> np.ndarray:
    total = np.load(Path(data_dir) / f"{split}.npy", mmap_mode="r").shape[0]
    if n > total:
        raise ValueError(f"{data_dir}/{split}.npy has {total} windows, {n} requested")
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


@torch.no_grad()
def activations(vae: SpectrogramVAE, windows: torch.Tensor, layers, batch: int = 16,
                dtype=torch.float16) -> dict[int, torch.Tensor]:
    """Layer l -> [n, C, H, W] activations of the windows (eval mode, z = mu), stored as `dtype`."""
    vae.eval()
    out = {l: [] for l in layers}
    with capture(vae, layers) as store:
        for i in range(0, len(windows), batch):
            vae(windows[i:i + batch])
            for l in layers:
                out[l].append(store[l].to(dtype))
    return {l: torch.cat(v) for l, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Training

def make_cnn(layer: int, shape) -> EmbeddingCNN:
    c, h, w = shape
    return EmbeddingCNN(h, w, c, VAE_LAYER_DEPTHS[layer])


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
# Embeddings and clusters

@torch.no_grad()
def mean_embeddings(vae: SpectrogramVAE, cnns: dict[int, EmbeddingCNN], windows: torch.Tensor,
                    batch: int = 8) -> dict[int, np.ndarray]:
    """Layer l -> [C, 10] mean bottleneck embedding of each feature over the windows (paper eq. 6).
    With one window (or one clip's windows) this is the per-clip ("on the fly") embedding."""
    vae.eval()
    for cnn in cnns.values():
        cnn.eval()
    sums = {l: None for l in cnns}
    with capture(vae, list(cnns)) as store:
        for i in range(0, len(windows), batch):
            vae(windows[i:i + batch])
            for l, cnn in cnns.items():
                a = store[l]
                b, c, h, w = a.shape
                e = cnn.embed(a.reshape(b * c, 1, h, w)).reshape(b, c, -1).double().sum(0)
                sums[l] = e if sums[l] is None else sums[l] + e
    return {l: (s / len(windows)).numpy() for l, s in sums.items()}


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
    """Step 4 of the module docstring for any model kind: embed.L{l}.onnx, manifest.json's
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
# The whole pipeline

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


def run(checkpoint: Path, data: Path, model_dir: Path, run_dir: Path, samples: int = 64, test_samples: int = 16,
        epochs: int | str | dict = 3, k: dict[int, int] | None = None, seed: int = 0, resume: bool = False,
        report_windows: int = 32, report: bool = True, progress: bool = True, figures_dir: Path | None = None,
        embedding_windows: int | None = None, report_clip: Path | None = None) -> dict:
    """Steps 1-4 of the module docstring (and the quality report); returns a summary dict."""
    t_start = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_sha = _file_digest(checkpoint)  # before loading: vae/train.py may rewrite the file later
    vae = load_checkpoint(checkpoint)
    shapes = layer_shapes(vae)
    layers = sorted(shapes)
    k = k or dict(zip(layers, DEFAULT_K))
    epochs = epochs if isinstance(epochs, dict) else parse_epochs(epochs, layers)
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path}: missing; export the model first (netbend_models.export.vae)")
    manifest_channels = {int(x["index"]): int(x["channels"]) for x in json.loads(manifest_path.read_text())["layers"]}
    if manifest_channels != {l: s[0] for l, s in shapes.items()}:
        raise ValueError(f"{manifest_path}: layer channels {manifest_channels} differ from the checkpoint's "
                         f"{ {l: s[0] for l, s in shapes.items()} }")
    train_idx = pick_windows(data, "train", samples, seed)
    test_idx = pick_windows(data, "validation", test_samples, seed)
    train_w, test_w = read_windows(data, "train", train_idx), read_windows(data, "validation", test_idx)
    t0 = time.time()
    train_acts, test_acts = activations(vae, train_w, layers), activations(vae, test_w, layers)
    timing = {"activations_s": round(time.time() - t0, 1)}
    log.info("activations of %d train + %d test windows in %.1f s", samples, test_samples, timing["activations_s"])
    cnns, histories = {}, {}
    meta = {"checkpoint_sha": checkpoint_sha, "train_windows": train_idx.tolist(),
            "test_windows": test_idx.tolist()}
    for l in layers:
        t0 = time.time()
        torch.manual_seed(seed * 100 + l)
        cnns[l] = make_cnn(l, shapes[l])
        histories[l] = train_layer(l, cnns[l], train_acts[l], test_acts[l], epochs[l], run_dir / f"embed.L{l}.pt",
                                   resume, seed, progress=progress, meta=meta)
        timing[f"train_L{l}_s"] = round(time.time() - t0, 1)
        timing[f"train_L{l}_s_per_epoch"] = round(float(np.mean([h["seconds"] for h in histories[l]])), 1)
    del train_acts, test_acts
    t0 = time.time()
    emb_w = train_w if not embedding_windows else train_w[:embedding_windows]
    embeddings = mean_embeddings(vae, cnns, emb_w)
    result = cluster_layers(embeddings, k, seed)
    timing["embed_and_cluster_s"] = round(time.time() - t0, 1)
    clusters = {l: r["clusters"] for l, r in result.items()}
    provenance = {"checkpoint": str(checkpoint), "checkpoint_sha256_16": checkpoint_sha, "data": str(data),
                  "samples": samples, "test_samples": test_samples, "embedding_windows": len(emb_w),
                  "epochs": {str(l): e for l, e in epochs.items()}, "batch": BATCH,
                  "optimizer": {"name": "adam", "lr": LEARNING_RATE, "betas": list(BETAS)},
                  "test_accuracy": {str(l): histories[l][-1]["test_accuracy"] for l in layers},
                  "wall_seconds": round(time.time() - t_start, 1)}
    write_clustering_outputs(model_dir, run_dir, cnns, result, embeddings, seed, provenance)
    summary = {"clusters": {str(l): c for l, c in clusters.items()}, "timing": timing, "provenance": provenance,
               "history": {str(l): h for l, h in histories.items()}}
    if report:
        from .report import quality_report, markdown_report, plot_layer
        t0 = time.time()
        rep = quality_report(vae, embeddings, result, histories, report_windows_of(data, report_windows, seed,
                                                                                   report_clip), seed=seed)
        rep["source"] = str(report_clip) if report_clip else f"{report_windows} test-split windows"
        timing["report_s"] = round(time.time() - t0, 1)
        rep["timing"] = timing
        summary["report"] = rep
        (run_dir / "report.md").write_text(markdown_report(rep))
        figs = figures_dir or run_dir
        figs.mkdir(parents=True, exist_ok=True)
        for l in layers:
            plot_layer(rep["layers"][str(l)], figs / f"clusters-L{l}.png", title_suffix=f" ({checkpoint.name})")
    timing["total_s"] = round(time.time() - t_start, 1)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default) + "\n")
    log.info("done in %.1f s: %s", timing["total_s"], json.dumps(timing))
    return summary


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    return str(o)


def _file_digest(path: Path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m netbend_models.clustering.vae", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True, help="SpectrogramVAE checkpoint (netbend_models.vae.train)")
    p.add_argument("--data", type=Path, required=True, help="dataset folder (netbend_models.data.dataset)")
    p.add_argument("--model-dir", type=Path, required=True, help="exported model directory with manifest.json")
    p.add_argument("--run", type=Path, default=Path(__file__).resolve().parents[2] / "runs" / "clustering",
                   help="work folder: CNN checkpoints, log, report, figures")
    p.add_argument("--samples", type=int, default=64, help="training windows (paper: 1000)")
    p.add_argument("--test-samples", type=int, default=16, help="held-out windows, validation split (paper: 100)")
    p.add_argument("--epochs", default="3", help="E for every layer, or E1,E2,E3,E4 (paper: 100)")
    p.add_argument("--k", default=",".join(map(str, DEFAULT_K)), help="clusters per layer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-windows", type=int, default=32, help="test-split windows for the ablation report")
    p.add_argument("--report-clip", type=Path, help="audio file whose windows the ablation report bends "
                   "(instead of --report-windows test-split windows), e.g. ../tests/data/drum_break.flac")
    p.add_argument("--no-report", action="store_true")
    p.add_argument("--figures", type=Path, help="where the per-layer PNGs go (default: the run folder)")
    p.add_argument("--resume", action="store_true", help="continue the per-layer CNN checkpoints in --run")
    a = parse_args_with_threads(p, argv)
    a.run.mkdir(parents=True, exist_ok=True)
    handlers = [logging.FileHandler(a.run / "clustering.log.txt"), logging.StreamHandler()]
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    if not (a.data / "READY").exists():
        p.error(f"{a.data} is not a finished dataset folder (no READY file)")
    try:
        k = parse_k(a.k, list(VAE_LAYER_DEPTHS))
        epochs = parse_epochs(a.epochs, list(VAE_LAYER_DEPTHS))
    except ValueError as e:
        p.error(str(e))
    log.info("clustering: %s", vars(a))
    try:
        summary = run(a.checkpoint, a.data, a.model_dir, a.run, a.samples, a.test_samples, epochs, k, a.seed,
                      a.resume, a.report_windows, not a.no_report, figures_dir=a.figures,
                      report_clip=a.report_clip)
    finally:
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()
    if "report" in summary:
        print((a.run / "report.md").read_text())
    print(json.dumps(summary["timing"], indent=1))


if __name__ == "__main__":
    main()
