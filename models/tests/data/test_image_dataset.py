"""data/image_dataset.py without the emoji font (CI does not have it): the glyph-to-square step and the
missing-font message."""
import io

import numpy as np
import pytest
from PIL import Image

from netbend_models.data import image_dataset


def png(rgba: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def test_glyph_is_centred_on_white_and_resized():
    # a 20 x 40 (h x w) glyph: opaque red left half, transparent right half
    rgba = np.zeros((20, 40, 4), np.uint8)
    rgba[:, :20] = [255, 0, 0, 255]
    out = image_dataset.to_square(png(rgba), 8)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    # 40 x 40 canvas: rows 0-9 and 30-39 are white padding, rows 10-29 the glyph
    np.testing.assert_array_equal(out[0], 255)
    np.testing.assert_array_equal(out[-1], 255)
    np.testing.assert_array_equal(out[4, 0], [255, 0, 0])  # middle row, left: red
    np.testing.assert_array_equal(out[4, -1], [255, 255, 255])  # middle row, right: transparent -> white


def test_tiny_glyphs_are_skipped():
    assert image_dataset.to_square(png(np.full((4, 4, 4), 255, np.uint8)), 8) is None


def test_missing_font_names_the_debian_package(tmp_path):
    with pytest.raises(SystemExit, match="fonts-noto-color-emoji"):
        image_dataset.build(tmp_path / "out", font=tmp_path / "missing.ttf")
