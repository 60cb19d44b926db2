"""Cluster quality: CNN accuracy, silhouette, seed stability, and what ablating each cluster does.

Ablation: for every cluster of layer l, a forward hook on decoder.stages[l-1] sets the cluster's
channels to 0 while the VAE autoencodes held-out windows (eval, z = mu). The change of the output,
in dB (normalised values x (db_max - db_min)), is summarised
- per frequency band: 8 log-spaced bands from bin 1 (43 Hz) to Nyquist (bin 0 joins the first),
  signed mean and mean absolute change;
- over time: mean |change| per frame, and its Pearson correlation with the unablated output's
  onset strength (positive spectral flux) per window: > 0 means the cluster acts on transients;
- against chance: the same for random partitions of the layer's channels with the same cluster
  sizes; "spread" is the mean pairwise total-variation distance between the clusters' normalised
  band profiles (0: all clusters change the same bands; 1: disjoint bands).
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import audio
from .vae_activations import capture
from .kmeans import seed_stability, silhouette

N_BANDS = 8


def band_edges_hz(n_bands: int = N_BANDS) -> np.ndarray:
    nyquist = audio.SAMPLE_RATE / 2
    return np.geomspace(audio.SAMPLE_RATE / audio.N_FFT, nyquist, n_bands + 1)


def band_of_bin(n_bands: int = N_BANDS) -> np.ndarray:
    """[513] band index of each bin (log-spaced bands; bin 0 in band 0)."""
    freqs = np.arange(audio.N_BINS) * audio.SAMPLE_RATE / audio.N_FFT
    edges = band_edges_hz(n_bands)
    return np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, n_bands - 1)


def _profile(delta_db: np.ndarray, base: np.ndarray, bands: np.ndarray, n_bands: int) -> dict:
    """delta_db, base: [n, 128, 513]."""
    absd = np.abs(delta_db)
    band_mean = np.array([delta_db[..., bands == b].mean() for b in range(n_bands)])
    band_abs = np.array([absd[..., bands == b].mean() for b in range(n_bands)])
    per_frame = absd.mean(axis=2)                                    # [n, 128]
    flux = np.maximum(np.diff(base, axis=1), 0).sum(axis=2)          # [n, 127]: onset strength of frames 1..
    corrs = []
    for f, d in zip(flux, per_frame[:, 1:]):
        if f.std() > 0 and d.std() > 0:
            corrs.append(float(np.corrcoef(f, d)[0, 1]))
    return {"band_mean_db": band_mean, "band_abs_db": band_abs, "time_abs_db": per_frame.mean(axis=0),
            "mean_abs_db": float(absd.mean()), "onset_corr": float(np.mean(corrs)) if corrs else float("nan")}


def _tv_spread(profiles: list[np.ndarray]) -> float:
    p = [x / x.sum() if x.sum() > 0 else x for x in profiles]
    d = [0.5 * np.abs(p[i] - p[j]).sum() for i in range(len(p)) for j in range(i + 1, len(p))]
    return float(np.mean(d)) if d else 0.0


@torch.no_grad()
def autoencode(vae, windows: torch.Tensor, batch: int = 16) -> tuple[torch.Tensor, np.ndarray]:
    """(mu [n, latent], unbent output [n, 128, 513]) of the windows, eval mode."""
    vae.eval()
    mu = torch.cat([vae.encoder(windows[i:i + batch])[0] for i in range(0, len(windows), batch)])
    base = torch.cat([vae.decoder(mu[i:i + batch]) for i in range(0, len(mu), batch)])[:, 0].numpy()
    return mu, base


@torch.no_grad()
def ablation_profiles(vae, windows: torch.Tensor, layer: int, clusters: list[list[int]],
                      norm: audio.Normalisation = audio.Normalisation(), n_bands: int = N_BANDS,
                      batch: int = 16, encoded=None) -> list[dict]:
    """One profile (see _profile) per channel set in `clusters`, on the given windows
    (`encoded`: autoencode()'s result for them, to skip recomputing it)."""
    vae.eval()
    span = norm.db_max - norm.db_min
    bands = band_of_bin(n_bands)
    mu, base = encoded if encoded is not None else autoencode(vae, windows, batch)
    out = []
    for channels in clusters:
        idx = torch.as_tensor(channels, dtype=torch.long)

        def ablate(_l, x):
            x = x.clone()
            x[:, idx] = 0
            return x

        with capture(vae, [layer], edit=ablate):
            bent = torch.cat([vae.decoder(mu[i:i + batch]) for i in range(0, len(mu), batch)])[:, 0].numpy()
        out.append(_profile((bent - base) * span, base * span, bands, n_bands))
    return out


def quality_report(vae, embeddings: dict[int, np.ndarray], result: dict[int, dict], histories: dict[int, list],
                   windows: torch.Tensor, seed: int = 0, random_partitions: int = 3) -> dict:
    """Everything the README's cluster-quality section reports, per layer."""
    rng = np.random.default_rng(seed)
    encoded = autoencode(vae, windows)
    layers = {}
    for l, r in result.items():
        e, labels, clusters = embeddings[l], r["labels"], r["clusters"]
        k = len(clusters)
        last = histories[l][-1] if histories.get(l) else {}
        profiles = ablation_profiles(vae, windows, l, clusters, encoded=encoded)
        sizes = [len(c) for c in clusters]
        random_spreads = []
        for _ in range(random_partitions):
            perm = rng.permutation(len(e))
            groups = np.split(perm, np.cumsum(sizes)[:-1])
            random_spreads.append(_tv_spread([p["band_abs_db"] for p in
                                              ablation_profiles(vae, windows, l, [g.tolist() for g in groups],
                                                                encoded=encoded)]))
        layers[str(l)] = {
            "layer": l, "channels": len(e), "k": k, "sizes": sizes, "clusters": clusters,
            "test_accuracy": last.get("test_accuracy"), "train_accuracy": last.get("train_accuracy"),
            "chance": 1.0 / len(e), "epochs": last.get("epoch"),
            "silhouette": silhouette(e, labels) if 2 <= k <= len(e) - 1 else None,
            "stability": seed_stability(e, r["result"].centroids.shape[0], seeds=range(10)),
            "band_edges_hz": band_edges_hz().tolist(),
            "ablation": profiles,
            "band_spread": _tv_spread([p["band_abs_db"] for p in profiles]),
            "band_spread_random": float(np.mean(random_spreads)),
            "windows": len(windows),
        }
    return {"layers": layers}


def _fmt(v, spec=".3f"):
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def markdown_report(rep: dict) -> str:
    lines = ["| layer | channels | k | sizes | test acc (chance) | silhouette | ARI over 10 seeds (mean / min) | "
             "band spread (random partition) |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, r in rep["layers"].items():
        st = r["stability"]
        lines.append(f"| {key} | {r['channels']} | {r['k']} | {', '.join(map(str, r['sizes']))} | "
                     f"{_fmt(r['test_accuracy'])} ({_fmt(r['chance'])}) | {_fmt(r['silhouette'])} | "
                     f"{st['mean_ari']:.2f} / {st['min_ari']:.2f} | {r['band_spread']:.3f} "
                     f"({r['band_spread_random']:.3f}) |")
    for key, r in rep["layers"].items():
        edges = r["band_edges_hz"]
        heads = [f"{edges[b]:.0f}-{edges[b + 1]:.0f}" for b in range(len(edges) - 1)]
        lines += ["", f"Layer {key}: ablating each cluster, signed mean change per band (dB; Hz bands), mean |change| "
                  f"and its correlation with onsets, over {r['windows']} windows of {rep.get('source', 'the test split')}.", "",
                  "| cluster | size | " + " | ".join(heads) + " | mean abs dB | onset corr |",
                  "| --- | --- | " + " | ".join("---" for _ in heads) + " | --- | --- |"]
        for j, (c, p) in enumerate(zip(r["clusters"], r["ablation"])):
            lines.append(f"| {j} | {len(c)} | " + " | ".join(f"{v:+.2f}" for v in p["band_mean_db"]) +
                         f" | {p['mean_abs_db']:.2f} | {_fmt(p['onset_corr'], '+.2f')} |")
    return "\n".join(lines) + "\n"


def plot_layer(r: dict, path, title_suffix: str = "") -> None:
    """One small PNG per layer: band-change heat map (clusters x bands) and |change| over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    prof = r["ablation"]
    m = np.array([p["band_mean_db"] for p in prof])
    edges = r["band_edges_hz"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 2.8), dpi=80, gridspec_kw={"width_ratios": [1.1, 1]})
    lim = max(float(np.abs(m).max()), 1e-6)
    im = a.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    a.set_xticks(range(len(edges) - 1))
    a.set_xticklabels([f"{edges[i] / 1000:.1f}k" if edges[i] >= 1000 else f"{edges[i]:.0f}"
                       for i in range(len(edges) - 1)], fontsize=7)
    a.set_yticks(range(len(prof)))
    a.set_yticklabels([f"c{j} ({s})" for j, s in enumerate(r["sizes"])], fontsize=7)
    a.set_xlabel("band (lower edge, Hz)", fontsize=8)
    a.set_title(f"L{r['layer']}: mean change when ablated (dB)", fontsize=9)
    fig.colorbar(im, ax=a, fraction=0.05)
    for j, p in enumerate(prof):
        b.plot(p["time_abs_db"], lw=1, label=f"c{j} (onset r {p['onset_corr']:+.2f})")
    b.set_xlabel("frame in window", fontsize=8)
    b.set_ylabel("mean |change| (dB)", fontsize=8)
    b.set_title("over time" + title_suffix, fontsize=9)
    b.tick_params(labelsize=7)
    b.legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
