"""Erosion/dilation stages vs scipy.ndimage grey morphology with a disk footprint.

Boundary: the stage ignores pixels outside the map (MaxPool pads with -inf), which is
scipy's mode='constant' with cval=-inf for dilation and +inf for erosion."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from netbend_models.bend import MorphologyStage


def disk(radius):
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return x * x + y * y <= radius * radius


@pytest.mark.parametrize("name", ["dilate", "erode"])
def test_morphology_matches_scipy_per_channel_radius(name):
    x = np.random.default_rng(3).standard_normal((1, 6, 9, 11)).astype(np.float32)
    idx = np.array([5, 0, 2], np.int64)
    radii = np.array([[1.0], [2.0], [3.0]], np.float32)
    mix = np.ones(3, np.float32)
    out = MorphologyStage(name)(torch.from_numpy(x), torch.from_numpy(idx),
                                torch.from_numpy(mix), torch.from_numpy(radii)).numpy()
    for k, c in enumerate(idx):
        r = int(radii[k, 0])
        if name == "dilate":
            ref = ndimage.grey_dilation(x[0, c], footprint=disk(r), mode="constant", cval=-np.inf)
        else:
            ref = ndimage.grey_erosion(x[0, c], footprint=disk(r), mode="constant", cval=np.inf)
        np.testing.assert_array_equal(out[0, c], ref)
    assert np.array_equal(out[:, [1, 3, 4]], x[:, [1, 3, 4]])
