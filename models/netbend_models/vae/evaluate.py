"""Reconstruction quality of a spectrogram VAE on held-out tracks, against a trivial baseline.

  python -m netbend_models.vae.evaluate --checkpoint runs/default/last.pt --data data/ [--split test]

Metrics are computed on magnitudes (normalised values mapped back through docs/signal.md's
db-minmax inverse), per window, then averaged over the windows of each source (music, drums):
- spectral convergence  SC  = ||S - S_hat||_F / ||S||_F
- log-spectral distance LSD = mean over frames of sqrt(mean over bins of (20 log10(S / S_hat))^2), dB
The baseline predicts the training split's per-bin mean spectrum (mean normalised value per bin)
for every frame: a model that does worse has learnt nothing about the input.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..cli import run_tool
from ..data import audio
from .model import SpectrogramVAE, load_checkpoint


def spectral_convergence(reference: np.ndarray, estimate: np.ndarray) -> float:
    """||S - S_hat||_F / ||S||_F over the last two axes (one window)."""
    return float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Mean over frames (axis 0) of the RMS over bins of the dB difference."""
    diff_db = 20.0 * np.log10(reference / estimate)
    return float(np.mean(np.sqrt(np.mean(diff_db ** 2, axis=-1))))


def per_bin_mean(train_windows: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """Mean normalised value of each bin over all frames of all training windows, [513]."""
    total = np.zeros(train_windows.shape[-1], dtype=np.float64)
    for i in range(0, len(train_windows), chunk):
        total += train_windows[i:i + chunk].astype(np.float64).sum(axis=(0, 1))
    return total / (len(train_windows) * train_windows.shape[1])


def source_of(track_name: str) -> str:
    return "drums" if track_name.startswith("drums/") else "music"


@torch.no_grad()
def evaluate(model: SpectrogramVAE, data_dir: Path, split: str = "test", batch: int = 32,
             norm: audio.Normalisation = audio.Normalisation(), progress: bool = True) -> dict:
    windows = np.load(data_dir / f"{split}.npy", mmap_mode="r")
    owners = np.load(data_dir / f"{split}_track.npy")
    tracks = json.loads((data_dir / "split.json").read_text())["tracks"][split]
    baseline_values = per_bin_mean(np.load(data_dir / "train.npy", mmap_mode="r"))
    baseline = audio.denormalise(np.broadcast_to(baseline_values, windows.shape[1:]), norm)
    model.eval()
    rows = {"model": {}, "baseline": {}}
    for i in tqdm(range(0, len(windows), batch), desc=f"evaluating {split}", disable=not progress):
        x = torch.from_numpy(np.asarray(windows[i:i + batch], dtype=np.float32)).unsqueeze(1)
        recon = model(x)[0].squeeze(1).numpy()
        for k in range(len(x)):
            source = source_of(tracks[owners[i + k]]["name"])
            reference = audio.denormalise(x[k, 0].numpy(), norm)
            for name, estimate in (("model", audio.denormalise(recon[k], norm)), ("baseline", baseline)):
                sc = spectral_convergence(reference, estimate)
                lsd = log_spectral_distance(reference, estimate)
                for key in (source, "all"):
                    rows[name].setdefault(key, []).append((sc, lsd))
    result = {"split": split, "windows": int(len(windows)),
              "tracks": sorted({t["name"] for t in tracks})}
    for name, per_source in rows.items():
        result[name] = {key: {"windows": len(v), "spectral_convergence": float(np.mean([r[0] for r in v])),
                              "log_spectral_distance_db": float(np.mean([r[1] for r in v]))}
                        for key, v in per_source.items()}
    return result


def markdown_table(result: dict) -> str:
    lines = ["| source | windows | SC model | SC baseline | LSD model (dB) | LSD baseline (dB) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key in sorted(result["model"], key=lambda k: (k == "all", k)):
        m, b = result["model"][key], result["baseline"][key]
        lines.append(f"| {key} | {m['windows']} | {m['spectral_convergence']:.3f} | "
                     f"{b['spectral_convergence']:.3f} | {m['log_spectral_distance_db']:.2f} | "
                     f"{b['log_spectral_distance_db']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="dataset folder (netbend_models.data.dataset)")
    p.add_argument("--split", default="test", choices=["test", "validation"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the figures here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if not (a.data / "READY").exists():
        p.error(f"{a.data} is not a finished dataset folder (no READY file)")
    result = evaluate(load_checkpoint(a.checkpoint), a.data, a.split)
    print(markdown_table(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    run_tool(main)
