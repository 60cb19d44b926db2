"""k-means (Lloyd's method, Forgy initialisation) and cluster-quality helpers, in plain NumPy.

Written to be re-implemented bit-for-bit elsewhere (the Rust engine's per-clip clustering), so
every step is specified here:

Random numbers: SplitMix64 (state: u64 = seed; each draw: state += 0x9E3779B97F4A7C15 (wrapping),
z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
out = z ^ (z >> 31), all wrapping u64). `below(n)` = out % n.

Forgy: shuffle the point indices 0..n-1 with Fisher-Yates from the front (for i in 0..n-1:
j = i + below(n - i); swap(i, j)); walk the shuffled order and take a point as the next initial
centroid unless it equals (all coordinates) one already taken, until k are taken. Fewer than k
distinct points is an error.

Lloyd, all in float64: repeat at most max_iter (300) times: assign every point to the centroid of
least squared Euclidean distance (sum over dims of (x - c)^2; ties: lowest centroid index); stop
if the assignment equals the previous one; otherwise each centroid becomes the mean of its points.
A centroid left with no points takes the point farthest from its own (old) centroid, the j-th
empty cluster (ascending index) the j-th farthest point (descending distance, ties lowest point
index); that point's weight moves from its cluster's mean to the empty one (scikit-learn's rule).
If max_iter is reached, the points are assigned once more to the final centroids.

With the same initial centroids this equals scikit-learn's KMeans(init=..., n_init=1,
algorithm="lloyd", tol=0): same labels, centroids equal up to float rounding (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASK64 = (1 << 64) - 1
MAX_ITER = 300


class SplitMix64:
    def __init__(self, seed: int):
        self.state = int(seed) & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next_u64() % n


def forgy_indices(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of k distinct points chosen as initial centroids (module docstring)."""
    x = np.asarray(points, dtype=np.float64)
    n = len(x)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}] for {n} points, got {k}")
    order = list(range(n))
    rng = SplitMix64(seed)
    for i in range(n - 1):
        j = i + rng.below(n - i)
        order[i], order[j] = order[j], order[i]
    chosen: list[int] = []
    for i in order:
        if not any(np.array_equal(x[i], x[c]) for c in chosen):
            chosen.append(i)
            if len(chosen) == k:
                return np.array(chosen, dtype=np.int64)
    raise ValueError(f"only {len(chosen)} distinct points, cannot make {k} clusters")


def assign(points: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, squared distance of each point to its centroid); ties go to the lowest index."""
    d2 = ((points[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    labels = np.argmin(d2, axis=1)  # first minimum
    return labels, d2[np.arange(len(points)), labels]


def update(points: np.ndarray, labels: np.ndarray, old: np.ndarray) -> np.ndarray:
    k = len(old)
    sums = np.zeros_like(old)
    np.add.at(sums, labels, points)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        dist = ((points - old[labels]) ** 2).sum(axis=1)
        far = np.lexsort((np.arange(len(points)), -dist))[:len(empty)]
        for cluster, p in zip(empty, far):
            sums[labels[p]] -= points[p]
            counts[labels[p]] -= 1
            sums[cluster] = points[p]
            counts[cluster] = 1
    new = old.copy()
    filled = counts > 0
    new[filled] = sums[filled] / counts[filled, None]
    return new


@dataclass
class KMeansResult:
    labels: np.ndarray      # [n] int64
    centroids: np.ndarray   # [k, d] float64
    init_indices: np.ndarray  # [k] the Forgy points
    n_iter: int             # Lloyd updates done
    converged: bool
    inertia: float          # sum of squared distances to the assigned centroid


def lloyd(points: np.ndarray, init: np.ndarray, max_iter: int = MAX_ITER) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Lloyd iterations from the given initial centroids: (labels, centroids, n_iter, converged)."""
    x = np.asarray(points, dtype=np.float64)
    c = np.array(init, dtype=np.float64, copy=True)
    previous = None
    for it in range(max_iter):
        labels, _ = assign(x, c)
        if previous is not None and np.array_equal(labels, previous):
            return labels, c, it, True
        c = update(x, labels, c)
        previous = labels
    labels, _ = assign(x, c)
    return labels, c, max_iter, False


def kmeans(points: np.ndarray, k: int, seed: int = 0, max_iter: int = MAX_ITER) -> KMeansResult:
    """Lloyd's k-means with Forgy initialisation from `seed` (module docstring)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"points must be a finite [n, d] array, got shape {list(x.shape)}")
    init = forgy_indices(x, k, seed)
    labels, centroids, n_iter, converged = lloyd(x, x[init], max_iter)
    inertia = float(((x - centroids[labels]) ** 2).sum())
    return KMeansResult(labels.astype(np.int64), centroids, init, n_iter, converged, inertia)


def clusters_from_labels(labels: np.ndarray, k: int) -> list[list[int]]:
    """Cluster j = ascending indices of the points labelled j (empty clusters included)."""
    return [np.flatnonzero(np.asarray(labels) == j).tolist() for j in range(k)]


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Euclidean); a point alone in its cluster scores 0 (as scikit-learn)."""
    x = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    ids = np.unique(labels)
    if not 2 <= len(ids) <= len(x) - 1:
        raise ValueError(f"silhouette needs 2 <= clusters <= n - 1, got {len(ids)} clusters for {len(x)} points")
    dist = np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0))
    member = labels[:, None] == ids[None, :]               # [n, m]
    sizes = member.sum(axis=0)                              # [m]
    mean_to = dist @ member / sizes                         # mean distance to each cluster [n, m]
    own = np.argmax(member, axis=1)
    own_size = sizes[own]
    a = (dist @ member / np.maximum(sizes - 1, 1))[np.arange(len(x)), own]  # self-distance 0 is in the sum
    other = np.where(member, np.inf, mean_to).min(axis=1)
    s = np.where(own_size > 1, (other - a) / np.maximum(np.maximum(a, other), 1e-300), 0.0)
    return float(s.mean())


def adjusted_rand_index(labels_a, labels_b) -> float:
    """Hubert-Arabie adjusted Rand index from the pair confusion counts (exact integers)."""
    a, b = np.asarray(labels_a), np.asarray(labels_b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("labels must be two 1-d arrays of the same length")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    n = len(a)
    sum_sq = int((table.astype(object) ** 2).sum())
    rows = [int(v) for v in table.sum(axis=1)]
    cols = [int(v) for v in table.sum(axis=0)]
    tp = sum_sq - n
    fp = sum(v * v for v in cols) - sum_sq
    fn = sum(v * v for v in rows) - sum_sq
    tn = n * n - fp - fn - sum_sq
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def seed_stability(points: np.ndarray, k: int, seeds=range(10)) -> dict:
    """Mean and minimum pairwise ARI between k-means runs from different Forgy seeds."""
    runs = [kmeans(points, k, seed).labels for seed in seeds]
    aris = [adjusted_rand_index(runs[i], runs[j]) for i in range(len(runs)) for j in range(i + 1, len(runs))]
    return {"seeds": len(runs), "mean_ari": float(np.mean(aris)), "min_ari": float(np.min(aris))}
