"""Numerical bend stages vs independent NumPy formulas (paper Sec. 5.1)."""

import numpy as np
import pytest
import torch

from netbend_models.bend import NumericStage

REFERENCE = {
    "ablate": lambda x, p: np.zeros_like(x),
    "invert": lambda x, p: 1.0 - x,
    "multiply": lambda x, p: x * p,
    "offset": lambda x, p: x + p,
    "threshold": lambda x, p: np.where(x >= p, 1.0, 0.0).astype(x.dtype),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_stage_matches_numpy_on_subset(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 6, 5, 7)).astype(np.float32)
    idx = np.array([4, 1], dtype=np.int64)
    mix = np.array([1.0, 0.25], dtype=np.float32)
    params = np.array([[0.3], [-1.5]], dtype=np.float32)
    out = NumericStage(name)(torch.from_numpy(x), torch.from_numpy(idx),
                             torch.from_numpy(mix), torch.from_numpy(params)).numpy()
    expected = x.copy()
    for k, c in enumerate(idx):
        f = REFERENCE[name](x[0, c], params[k, 0])
        expected[0, c] = x[0, c] + mix[k] * (f - x[0, c])
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    untouched = [c for c in range(6) if c not in idx]
    assert np.array_equal(out[:, untouched], x[:, untouched])


def test_empty_selection_is_bit_exact_identity():
    x = torch.randn(1, 4, 3, 3)
    empty = torch.zeros(0, dtype=torch.int64)
    out = NumericStage("multiply")(x, empty, torch.zeros(0), torch.zeros(0, 1))
    assert torch.equal(out, x)
