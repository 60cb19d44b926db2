"""Reflection stages vs np.flip on a channel subset."""

import numpy as np
import pytest
import torch

from netbend_models.bend import FlipStage


@pytest.mark.parametrize("name,axis", [("flip_h", 1), ("flip_v", 0)])
def test_flip_matches_numpy(name, axis):
    x = np.random.default_rng(2).standard_normal((1, 5, 4, 6)).astype(np.float32)
    idx = np.array([0, 3], np.int64)
    mix = np.array([1.0, 0.5], np.float32)
    out = FlipStage(name)(torch.from_numpy(x), torch.from_numpy(idx), torch.from_numpy(mix)).numpy()
    expected = x.copy()
    for k, c in enumerate(idx):
        expected[0, c] = x[0, c] + mix[k] * (np.flip(x[0, c], axis) - x[0, c])
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    assert np.array_equal(out[:, [1, 2, 4]], x[:, [1, 2, 4]])
