"""Per-clip clustering "on the fly" (Entropy 2022 Sec. 4, first approach) on an exported model
directory, with onnxruntime: the Python reference of `netbend clusters` (engine/src/clip_clusters.rs).

  python -m netbend_models.clustering.clip_clusters --model DIR --in clip.wav --out clusters.yaml \
      [--k 5,5,4,4] [--seed N] [--embeddings emb.npz]

Steps (docs/model-manifest.md, "Per-clip clustering"):
1. audio read as float32, mixed to mono (mean of the channels), resampled to 44.1 kHz; STFT and
   db-minmax normalisation with the manifest's constants (data/audio.py); windows of 128 frames every
   64 frames, 64 frames of the normalised value of silence in front and as many at the end as
   make every frame lie in exactly two windows (as `netbend render` cuts them; clip_windows.py);
2. encoder -> mu -> decoder with every bend stage empty (K = 0): the unbent `act.L{l}` [B, C, H, W];
3. each map as a 1-channel image [B * C, 1, H, W], raw float32 values, through embed.L{l}.onnx;
4. per feature, the float64 mean of its float32 embeddings over all windows;
5. common.cluster_layers: k-means (Lloyd, Forgy, SplitMix64 seed) per layer, k capped at the
   layer's channels, empty clusters dropped; written with common.write_cluster_yaml.
Only the exported model is needed (no checkpoint, no torch).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..cli import run_tool
from ..bend.inputs import neutral_bend_inputs
from ..data.audio import Normalisation
from .clip_windows import clip_windows, read_mono
from .common import cluster_layers, parse_k, write_cluster_yaml

BATCH = 8


def session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def mean_embeddings(model_dir: Path, windows: np.ndarray, threads: int = 1) -> dict[int, np.ndarray]:
    """Layer -> [C, D] float64 mean embedding of each feature over the windows (steps 2-4)."""
    manifest = json.loads((model_dir / "manifest.json").read_text())
    clustering = manifest.get("clustering")
    if not clustering:
        raise ValueError(f"{model_dir}/manifest.json has no `clustering` record (no embedding CNNs)")
    enc = session(model_dir / manifest["graphs"]["encoder"]["file"], threads)
    dec = session(model_dir / manifest["graphs"]["decoder"]["file"], threads)
    layers = [int(l["index"]) for l in manifest["layers"]]
    acts = {int(l["index"]): l["activation"] for l in manifest["layers"]}
    emb = {l: clustering["embeddings"][str(l)] for l in layers}
    embedders = {l: session(model_dir / emb[l]["file"], threads) for l in layers}
    neutral = neutral_bend_inputs(manifest["layers"])
    sums = {l: None for l in layers}
    for start in range(0, len(windows), BATCH):
        batch = windows[start:start + BATCH]
        mu = enc.run(["mu"], {"spectrogram": batch[:, None]})[0]
        maps = dec.run([acts[l] for l in layers], dict(neutral, z=mu))
        for l, a in zip(layers, maps):
            b, c, h, w = a.shape
            e = embedders[l].run([emb[l]["output"]], {emb[l]["input"]: a.reshape(b * c, 1, h, w)})[0]
            s = e.reshape(b, c, -1).astype(np.float64).sum(axis=0)
            sums[l] = s if sums[l] is None else sums[l] + s
    return {l: s / len(windows) for l, s in sums.items()}


def clip_clusters(model_dir: Path, audio: Path, k: dict[int, int] | None = None, seed: int | None = None,
                  threads: int = 1) -> tuple[dict[int, list[list[int]]], dict[int, np.ndarray]]:
    """(layer -> clusters, layer -> mean embeddings) of one clip."""
    model_dir = Path(model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    n = manifest["normalisation"]
    norm = Normalisation(amin=n["amin"], db_min=n["db_min"], db_max=n["db_max"])
    windows = clip_windows(read_mono(Path(audio)), norm, int(manifest["signal"]["window_frames"]))
    embeddings = mean_embeddings(model_dir, windows, threads)
    c = manifest["clustering"]
    k = k or {int(l): int(v) for l, v in c["k"].items()}
    seed = int(c["seed"]) if seed is None else seed
    result = cluster_layers(embeddings, k, seed)
    return {l: r["clusters"] for l, r in result.items()}, embeddings


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, required=True, help="exported model directory with embedding CNNs")
    p.add_argument("--in", dest="audio", type=Path, required=True, help="audio clip")
    p.add_argument("--out", type=Path, required=True, help="cluster file to write (reference format)")
    p.add_argument("--k", help="clusters per layer, e.g. 5,5,4,4 [default: the manifest's clustering.k]")
    p.add_argument("--seed", type=int, help="k-means seed [default: the manifest's clustering.seed]")
    p.add_argument("--embeddings", type=Path, help="also save the mean embeddings (npz, one array L{l} per layer)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    k = None
    if a.k:
        layers = [int(l["index"]) for l in json.loads((a.model / "manifest.json").read_text())["layers"]]
        try:
            k = parse_k(a.k, layers)
        except ValueError as e:
            p.error(str(e))
    clusters, embeddings = clip_clusters(a.model, a.audio, k, a.seed, a.threads)
    write_cluster_yaml(a.out, clusters)
    if a.embeddings:
        np.savez(a.embeddings, **{f"L{l}": e for l, e in embeddings.items()})
    print(f"wrote {a.out}: " + ", ".join(f"L{l} {len(c)} clusters" for l, c in clusters.items()))


if __name__ == "__main__":
    run_tool(main)
