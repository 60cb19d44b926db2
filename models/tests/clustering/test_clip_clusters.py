"""clustering/clip_clusters.py: the window layout of `netbend render` (the Rust side is compared with this
module end to end in tests/tests/clusters.rs) and the per-clip pipeline on the shipped model."""
from pathlib import Path

import numpy as np
from netbend_models.data.audio import Normalisation, normalise, stft
from netbend_models.clustering.clip_clusters import clip_clusters
from netbend_models.clustering.clip_windows import clip_windows
from netbend_models.clustering.common import validate_cluster_map

ROOT = Path(__file__).resolve().parents[3]


def test_windows_cover_every_frame_twice_with_silence_padding():
    norm = Normalisation()
    signal = np.random.default_rng(0).normal(0, 0.1, 44_100).astype(np.float32)
    spec = normalise(np.abs(stft(signal)), norm).astype(np.float32)
    t = spec.shape[0]
    w = clip_windows(signal, norm, 128)
    assert w.shape == ((t + 63) // 64 + 1, 128, 513)
    # Window k starts at padded frame 64 k, real frame 64 (k - 1): window 0 is half silence.
    assert np.all(w[0, :64] == 0.0) and np.array_equal(w[0, 64:], spec[:64])
    for k in range(1, w.shape[0]):
        start = 64 * (k - 1)
        real = spec[start:start + 128]
        assert np.array_equal(w[k, :len(real)], real)
        assert np.all(w[k, len(real):] == 0.0)
    # Every real frame appears in exactly two windows (the second half of k - 1, the first of k).
    assert (w.shape[0] - 1) * 64 >= t


def test_shipped_model_clusters_of_the_drum_break_partition_every_layer():
    clusters, embeddings = clip_clusters(ROOT / "models/vae", ROOT / "tests/data/drum_break.flac", seed=0)
    channels = {l: e.shape[0] for l, e in embeddings.items()}
    assert channels == {1: 128, 2: 64, 3: 32, 4: 16}
    validate_cluster_map(clusters, channels)
    assert [len(c) for c in clusters.values()] == [5, 5, 4, 4]
