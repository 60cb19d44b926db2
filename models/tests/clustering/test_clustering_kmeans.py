"""Lloyd + Forgy k-means against scikit-learn (same initial points), and the quality helpers
(silhouette, adjusted Rand index) against scikit-learn's."""
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from netbend_models.clustering import kmeans as km


def blobs(seed, n=120, d=10, centres=5, spread=1.0):
    rng = np.random.default_rng(seed)
    c = rng.normal(0, 4, (centres, d))
    return c[rng.integers(0, centres, n)] + rng.normal(0, spread, (n, d))


def sklearn_lloyd(x, init):
    return KMeans(n_clusters=len(init), init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(x)


@pytest.mark.parametrize("seed,k,spread", [(0, 5, 1.0), (1, 4, 3.0), (2, 5, 6.0), (3, 3, 0.5), (4, 8, 4.0)])
def test_kmeans_equals_sklearn_with_same_forgy_points(seed, k, spread):
    x = blobs(seed, spread=spread)
    ours = km.kmeans(x, k, seed=seed)
    ref = sklearn_lloyd(x, x[ours.init_indices])
    np.testing.assert_array_equal(ours.labels, ref.labels_)
    np.testing.assert_allclose(ours.centroids, ref.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert ours.converged
    assert ours.inertia == pytest.approx(ref.inertia_, rel=1e-12)


def test_uniform_data_128_points_equals_sklearn():
    # the shape of a real layer: 128 features, 10-d embeddings, no cluster structure at all
    x = np.random.default_rng(7).uniform(-1, 1, (128, 10))
    for seed in range(5):
        ours = km.kmeans(x, 5, seed=seed)
        ref = sklearn_lloyd(x, x[ours.init_indices])
        np.testing.assert_array_equal(ours.labels, ref.labels_)
        np.testing.assert_allclose(ours.centroids, ref.cluster_centers_, rtol=1e-12, atol=1e-12)


def test_empty_cluster_relocation_matches_sklearn():
    # the init centroid at 100 attracts nothing: it takes the point farthest from its centroid
    x = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [9.0]])
    init = np.array([[0.1], [5.0], [100.0]])
    labels, centroids, _, _ = km.lloyd(x, init)
    ref = sklearn_lloyd(x, init)
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_allclose(centroids, ref.cluster_centers_, atol=1e-12)
    assert sorted(np.bincount(labels, minlength=3).tolist()) == [1, 2, 3]


def test_splitmix64_reference_values():
    # first outputs for seed 1234567 from the public SplitMix64 reference (Vigna, splitmix64.c)
    rng = km.SplitMix64(1234567)
    assert [rng.next_u64() for _ in range(3)] == [6457827717110365317, 3203168211198807973,
                                                  9817491932198370423]


def test_forgy_picks_distinct_points_deterministically():
    x = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0], [3.0, 3.0]])
    idx = km.forgy_indices(x, 3, seed=0)
    assert len({tuple(x[i]) for i in idx}) == 3
    np.testing.assert_array_equal(idx, km.forgy_indices(x, 3, seed=0))
    with pytest.raises(ValueError, match="distinct"):
        km.forgy_indices(x, 4, seed=0)


def test_clusters_from_labels_partition():
    assert km.clusters_from_labels(np.array([1, 0, 1, 2]), 4) == [[1], [0, 2], [3], []]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_silhouette_equals_sklearn(seed):
    x = blobs(seed, n=60, spread=2.0)
    labels = km.kmeans(x, 4, seed=seed).labels
    labels[0] = 7  # a singleton cluster scores 0 in both
    assert km.silhouette(x, labels) == pytest.approx(silhouette_score(x, labels), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ari_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    b[:100] = a[:100]
    assert km.adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert km.adjusted_rand_index(a, a) == 1.0
    assert km.adjusted_rand_index(a, (a + 1) % 5) == 1.0  # label names do not matter
    assert km.adjusted_rand_index(np.zeros(5), np.zeros(5)) == adjusted_rand_score(np.zeros(5), np.zeros(5))
