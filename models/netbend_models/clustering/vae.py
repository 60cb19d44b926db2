"""Feature clustering for the spectrogram VAE (Entropy 2022 Sec. 4; EvoMusArt 2021 Sec. 4).

  python -m netbend_models.clustering.vae --checkpoint CKPT --data DIR --model-dir DIR \
      [--samples N --test-samples M --epochs E|E1,E2,E3,E4 --k 5,5,4,4 --seed S --resume]

1. Activations: dataset windows (train split, N chosen with the seed) go through the VAE in eval
   mode (z = mu); forward hooks on `decoder.stages[l-1]` (vae_activations.py) give layer l's maps
   [C, H, W] per window. Each map, labelled with its channel index, is one training example of
   layer l's CNN; M windows of the validation split (other tracks) are the held-out test set.
2. One EmbeddingCNN per layer (cnn.py; depth 1-4 for layers 1-4), softmax feature
   learning (common.train_layer): cross-entropy, Adam lr 1e-4, betas (0.9, 0.999), batch 100. A
   checkpoint per layer and epoch in the run folder; --resume continues where it stopped.
3. General clusters: the mean bottleneck embedding of each feature over the N training windows,
   then k-means (kmeans.py: Lloyd, Forgy, SplitMix64 seed) with k per layer (5,5,4,4).
4. Writes (common.write_clustering_outputs) into the model directory: manifest.json
   `clusters.general` and `clustering` (atomically), `embed.L{l}.onnx` (maps [N, 1, H, W] ->
   embedding [N, 10]) and `clusters.yaml` (the reference implementation's format). The run
   folder gets the log, checkpoints, report.json/.md and figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from ..cli import parse_args_with_threads, run_tool
from ..data.audio import Normalisation
from ..vae.model import SpectrogramVAE, load_checkpoint
from .clip_windows import clip_windows, read_mono
from .cnn import EmbeddingCNN, VAE_LAYER_DEPTHS
from .common import (BATCH, BETAS, LEARNING_RATE, cluster_layers, file_digest, json_default, parse_epochs, parse_k,
                     train_layer, write_clustering_outputs)
from .report import markdown_report, plot_layer, quality_report
from .vae_activations import activations, capture

DEFAULT_K = (5, 5, 4, 4)  # paper Table 1, "#Clusters"
log = logging.getLogger("netbend.clustering")


# ---------------------------------------------------------------------------------------------
# Activations

def layer_shapes(vae: SpectrogramVAE) -> dict[int, tuple[int, int, int]]:
    """Layer index (1-4) -> (channels, height, width) of decoder.stages[l-1]'s output."""
    cfg = vae.config()
    return {l: (cfg["decoder_channels"][l - 1], *cfg["decoder_resolutions"][l - 1]) for l in VAE_LAYER_DEPTHS}


def read_windows(data_dir: Path, split: str, indices: np.ndarray) -> torch.Tensor:
    """Windows `indices` of a dataset split as float32 [n, 1, 128, 513] (memory-mapped read)."""
    a = np.load(Path(data_dir) / f"{split}.npy", mmap_mode="r")
    return torch.from_numpy(np.asarray(a[np.sort(indices)], dtype=np.float32)).unsqueeze(1)


def report_windows_of(data_dir: Path, n: int, seed: int, clip: Path | None = None) -> torch.Tensor:
    """The windows the ablation report bends: `n` test-split windows, or every half-overlapping
    window of an audio clip (the engine's per-clip windows), as float32 [n, 1, 128, 513]."""
    if clip is None:
        return read_windows(data_dir, "test", pick_windows(data_dir, "test", n, seed))
    return torch.from_numpy(clip_windows(read_mono(Path(clip)), Normalisation(), 128)).unsqueeze(1)


def pick_windows(data_dir: Path, split: str, n: int, seed: int) -> np.ndarray:
    total = np.load(Path(data_dir) / f"{split}.npy", mmap_mode="r").shape[0]
    if n > total:
        raise ValueError(f"{data_dir}/{split}.npy has {total} windows, {n} requested")
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


# ---------------------------------------------------------------------------------------------
# Training

def make_cnn(layer: int, shape) -> EmbeddingCNN:
    c, h, w = shape
    return EmbeddingCNN(h, w, c, VAE_LAYER_DEPTHS[layer])


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


# ---------------------------------------------------------------------------------------------
# The whole pipeline

def run(checkpoint: Path, data: Path, model_dir: Path, run_dir: Path, samples: int = 64, test_samples: int = 16,
        epochs: int | str | dict = 3, k: dict[int, int] | None = None, seed: int = 0, resume: bool = False,
        report_windows: int = 32, report: bool = True, progress: bool = True, figures_dir: Path | None = None,
        embedding_windows: int | None = None, report_clip: Path | None = None) -> dict:
    """Steps 1-4 of the module docstring (and the quality report); returns a summary dict."""
    t_start = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_sha = file_digest(checkpoint)  # before loading: vae/train.py may rewrite the file later
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
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=json_default) + "\n")
    log.info("done in %.1f s: %s", timing["total_s"], json.dumps(timing))
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True, help="SpectrogramVAE checkpoint (vae/train.py)")
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
    run_tool(main)
