"""Feature clustering for StyleGAN2 image models (Entropy 2022 Sec. 4, Table 2), reusing the
spectrogram VAE's pipeline pieces (common.py: CNN training, k-means, manifest and cluster file).

  python -m netbend_models.clustering.stylegan2 --checkpoint G.pt --model-dir DIR
      [--run-dir runs/NAME-clusters] [--samples 64 --test-samples 16 --epochs 3 --seed 0
       --truncation 1.0 --resume]

1. Activations: `samples` images from seeds 1_000_000 + i (test: 2_000_000 + i, other images)
   through g_ema with every bend neutral; layer l's maps are the styled conv's output (what the
   exported decoder gives as act.L{l}). All of one layer's maps are held in memory (float16).
2. One EmbeddingCNN per layer, depth by resolution as Table 2 (8x8: 1, 16x16: 2, ..., 1024: 8;
   the 4x4 layer, which the paper could not bend, gets 1), trained with Table 2's batch sizes
   (500 up to 32 px, 200 at 64, 80 at 128, 50 at 256, 20 at 512, 10 at 1024).
3. General clusters: the mean embedding of each feature over the training samples, k-means with
   Table 2's k by resolution (5 up to 64 px, 4 at 128-256, 3 at 512-1024), capped at the channels.
4. Writes manifest.json `clusters.general` + `clustering`, embed.L{l}.onnx and clusters.yaml into
   the model directory (docs/model-manifest.md), log and checkpoints into the run directory.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..cli import run_tool
from .common import cluster_layers, file_digest, json_default, train_layer, write_clustering_outputs
from .cnn import EmbeddingCNN
from ..stylegan2.model import Generator, load_rosinality

TRAIN_SEED_BASE, TEST_SEED_BASE = 1_000_000, 2_000_000
log = logging.getLogger("netbend.clustering_stylegan2")


def table2_depth(resolution: int) -> int:
    return max(1, int(math.log2(resolution)) - 2)


def table2_k(resolution: int) -> int:
    return 5 if resolution <= 64 else 4 if resolution <= 256 else 3


def table2_batch(resolution: int) -> int:
    return {64: 200, 128: 80, 256: 50, 512: 20, 1024: 10}.get(resolution, 500 if resolution < 64 else 10)


@torch.no_grad()
def layer_activations(g: Generator, seeds: list[int], psi: float, mean: torch.Tensor, batch: int = 8,
                      dtype=torch.float16) -> dict[int, torch.Tensor]:
    """Layer l -> [n, C, H, W] unbent styled-conv outputs of the seeds' images."""
    out = {layer["index"]: [] for layer in g.layers()}
    for i in range(0, len(seeds), batch):
        for l, acts in iter_activations(g, seeds[i:i + batch], psi, mean).items():
            out[l].append(acts.to(dtype))
    return {l: torch.cat(v) for l, v in out.items()}


@torch.no_grad()
def iter_activations(g: Generator, seeds: list[int], psi: float, mean: torch.Tensor) -> dict[int, torch.Tensor]:
    z, noises = g.sample_inputs(seeds)
    w = g.mapping(z).unsqueeze(1).expand(-1, g.n_latent, -1)
    w = Generator.truncate(w, torch.full((len(seeds),), float(psi)), mean)
    store = {}

    def keep(layer, h):
        store[layer] = h
        return h

    g.synthesis(w, noises, keep)
    return store


@torch.no_grad()
def mean_embeddings(g: Generator, cnns: dict[int, EmbeddingCNN], seeds: list[int], psi: float,
                    mean: torch.Tensor, batch: int = 8) -> dict[int, np.ndarray]:
    """Layer l -> [C, 10] mean embedding of each feature over the seeds' images (float64 sums)."""
    sums = {}
    for cnn in cnns.values():
        cnn.eval()
    for i in range(0, len(seeds), batch):
        for l, a in iter_activations(g, seeds[i:i + batch], psi, mean).items():
            b, c, h, w = a.shape
            e = cnns[l].embed(a.reshape(b * c, 1, h, w)).reshape(b, c, -1).double().sum(0)
            sums[l] = e if l not in sums else sums[l] + e
    return {l: (s / len(seeds)).numpy() for l, s in sums.items()}


def run(checkpoint: Path, model_dir: Path, run_dir: Path, samples: int = 64, test_samples: int = 16,
        epochs: int = 3, seed: int = 0, psi: float = 1.0, resume: bool = False, progress: bool = True,
        trust: bool = False) -> dict:
    t_start = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    digest = file_digest(checkpoint)
    g, _, _ = load_rosinality(checkpoint, trust=trust)
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path}: missing; export the model first (netbend_models.export.stylegan2)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("kind") != "stylegan2":
        raise ValueError(f"{manifest_path}: kind {manifest.get('kind')!r}, not a StyleGAN2 model")
    layers = {l["index"]: l for l in g.layers()}
    if [(x["index"], x["channels"]) for x in manifest["layers"]] != [(l, x["channels"]) for l, x in layers.items()]:
        raise ValueError(f"{manifest_path}: layers differ from the checkpoint's; export this checkpoint first")
    mean = torch.tensor(manifest["stylegan2"]["mean_latent"], dtype=torch.float32)
    train_seeds = [TRAIN_SEED_BASE + i for i in range(samples)]
    test_seeds = [TEST_SEED_BASE + i for i in range(test_samples)]
    train_acts = layer_activations(g, train_seeds, psi, mean)
    test_acts = layer_activations(g, test_seeds, psi, mean)
    meta = {"checkpoint_sha": digest, "samples": samples, "test_samples": test_samples, "psi": psi}
    cnns, histories = {}, {}
    for l, layer in layers.items():
        torch.manual_seed(seed * 100 + l)
        res = layer["height"]
        cnns[l] = EmbeddingCNN(res, res, layer["channels"], table2_depth(res))
        histories[l] = train_layer(l, cnns[l], train_acts[l], test_acts[l], epochs, run_dir / f"embed.L{l}.pt",
                                   resume, seed, batch=table2_batch(res), progress=progress, meta=meta)
    del train_acts, test_acts
    embeddings = mean_embeddings(g, cnns, train_seeds, psi, mean)
    k = {l: table2_k(layer["height"]) for l, layer in layers.items()}
    result = cluster_layers(embeddings, k, seed)
    clusters = {l: r["clusters"] for l, r in result.items()}
    provenance = {"checkpoint": str(checkpoint), "checkpoint_sha256_16": digest, "samples": samples,
                  "test_samples": test_samples, "train_seeds": f"{TRAIN_SEED_BASE}..{TRAIN_SEED_BASE + samples - 1}",
                  "test_seeds": f"{TEST_SEED_BASE}..{TEST_SEED_BASE + test_samples - 1}", "psi": psi,
                  "epochs": epochs, "batch": {str(l): table2_batch(x["height"]) for l, x in layers.items()},
                  "test_accuracy": {str(l): histories[l][-1]["test_accuracy"] for l in layers},
                  "wall_seconds": round(time.time() - t_start, 1)}
    write_clustering_outputs(model_dir, run_dir, cnns, result, embeddings, seed, provenance)
    summary = {"clusters": {str(l): c for l, c in clusters.items()}, "provenance": provenance,
               "history": {str(l): h for l, h in histories.items()}}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=json_default) + "\n")
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--trust-checkpoint", action="store_true")
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--run-dir", type=Path)
    p.add_argument("--samples", type=int, default=64)
    p.add_argument("--test-samples", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--truncation", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    run_dir = args.run_dir or Path("runs") / f"{args.model_dir.name}-clusters"
    summary = run(args.checkpoint, args.model_dir, run_dir, args.samples, args.test_samples, args.epochs, args.seed,
                  args.truncation, args.resume, trust=args.trust_checkpoint)
    print(json.dumps({"clusters": {l: len(c) for l, c in summary["clusters"].items()},
                      "test_accuracy": summary["provenance"]["test_accuracy"]}))


if __name__ == "__main__":
    run_tool(main)
