"""Makes kmeans_sklearn.json, the fixture of engine/src/kmeans_tests.rs: scikit-learn's KMeans
(Lloyd, one init, tol=0) on fixed data from given initial centroids, as an independent reference
for the Rust k-means. The Forgy indices come from the Python pipeline's own draw
(netbend_models.clustering.kmeans.forgy_indices), which the Rust draw must reproduce exactly.

    PYTHONPATH=models OMP_NUM_THREADS=1 .venv/bin/python engine/tests/data/kmeans_reference.py

(run from /work/main/.venv in a worktree without .venv). Deterministic: re-running writes the
same file.
"""
import json
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from netbend_models.clustering.kmeans import SplitMix64, forgy_indices


def sklearn_fit(x, init):
    km = KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300)
    km.fit(x)
    return km.labels_.tolist(), km.cluster_centers_.ravel().tolist(), int(km.n_iter_)


rng = np.random.default_rng(20261125)
cases = []
# Blobs like per-feature embeddings: 128 points in 10-d around 5 centres, plus wider clouds.
for name, n, d, k, spread in [("blobs-128x10-k5", 128, 10, 5, 0.6), ("cloud-64x10-k5", 64, 10, 5, 3.0),
                              ("cloud-32x10-k4", 32, 10, 4, 2.0), ("small-16x3-k4", 16, 3, 4, 1.0)]:
    centres = rng.normal(0, 2, (k, d))
    x = centres[rng.integers(0, k, n)] + rng.normal(0, spread, (n, d))
    runs = []
    for seed in (0, 1, 12345):
        idx = forgy_indices(x, k, seed)
        labels, centroids, n_iter = sklearn_fit(x, x[idx])
        runs.append({"seed": seed, "forgy": idx.tolist(), "labels": labels, "centroids": centroids, "n_iter": n_iter})
    cases.append({"name": name, "dim": d, "k": k, "points": x.ravel().tolist(), "runs": runs})
# Duplicated points: Forgy must skip a point equal to one already taken.
x = np.repeat(rng.normal(0, 1, (6, 4)), 3, axis=0)
idx = forgy_indices(x, 5, 7)
labels, centroids, n_iter = sklearn_fit(x, x[idx])
cases.append({"name": "duplicates-18x4-k5", "dim": 4, "k": 5, "points": x.ravel().tolist(),
              "runs": [{"seed": 7, "forgy": idx.tolist(), "labels": labels, "centroids": centroids, "n_iter": n_iter}]})
# Empty clusters: two initial centroids far from every point (not Forgy) exercise the relocation rule.
x = rng.normal(0, 1, (40, 5))
init = np.vstack([x[:3], np.full((1, 5), 50.0), np.full((1, 5), -60.0)])
labels, centroids, n_iter = sklearn_fit(x, init)
cases.append({"name": "empty-clusters-40x5-k5", "dim": 5, "k": 5, "points": x.ravel().tolist(),
              "runs": [{"init": init.ravel().tolist(), "labels": labels, "centroids": centroids, "n_iter": n_iter}]})

g = SplitMix64(1234567)
doc = {"splitmix64_seed_1234567": [str(g.next_u64()) for _ in range(5)], "cases": cases}
out = Path(__file__).with_name("kmeans_sklearn.json")
out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
print(f"wrote {out}: {len(cases)} data sets, {sum(len(c['runs']) for c in cases)} runs")
