"""Bend inputs as onnxruntime feeds (NumPy), from a manifest's `layers`: every stage neutral
(K = 0), or every stage active on some channels (the benchmarks' active configurations)."""
from __future__ import annotations

import numpy as np

from .block import STAGE_NAMES, STAGE_PARAM_COUNT

# A typical value per stage for the active configuration (radius 2, 20 degrees, ...).
ACTIVE_PARAMS = {"translate": [0.1, -0.05], "scale": [0.8, 1.25], "rotate": [20.0], "erode": [2.0],
                 "dilate": [2.0], "scalar-multiply": [1.5], "offset": [0.1], "binary-thresh": [0.0],
                 "noise": [0.3]}


def neutral_bend_inputs(layers) -> dict[str, np.ndarray]:
    """Every stage of every layer empty (K = 0): the model unbent."""
    feeds = {}
    for layer in layers:
        l, h, w = layer["index"], layer["height"], layer["width"]
        for stage in STAGE_NAMES:
            feeds[f"L{l}.{stage}.idx"] = np.zeros(0, np.int64)
            feeds[f"L{l}.{stage}.mix"] = np.zeros(0, np.float32)
            if STAGE_PARAM_COUNT[stage]:
                feeds[f"L{l}.{stage}.params"] = np.zeros((0, STAGE_PARAM_COUNT[stage]), np.float32)
        feeds[f"L{l}.shuffle.source"] = np.zeros(0, np.int64)
        feeds[f"L{l}.noise.field"] = np.zeros((0, h, w), np.float32)
    return feeds


def active_bend_inputs(layers, fraction: float = 1 / 8, channels: int | None = None,
                       seed: int = 0, distinct: bool = False) -> dict[str, np.ndarray]:
    """Every stage of every layer on `channels` or else max(1, C * fraction) random channels,
    mix in [0.5, 1]. The channels of a stage share its ACTIVE_PARAMS (as one config entry's
    channels do), or with `distinct` each gets its own (ACTIVE_PARAMS times 0.5..1.5), as when
    entries with different parameters merge into one stage; the spatial stages then sample one
    grid per channel instead of one shared grid (export/shared_grid.py)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for layer in layers:
        l, c, h, w = layer["index"], layer["channels"], layer["height"], layer["width"]
        k = min(c, channels) if channels else max(1, int(c * fraction))
        for stage in STAGE_NAMES:
            feeds[f"L{l}.{stage}.idx"] = rng.choice(c, k, replace=False).astype(np.int64)
            feeds[f"L{l}.{stage}.mix"] = rng.uniform(0.5, 1.0, k).astype(np.float32)
            if STAGE_PARAM_COUNT[stage]:
                params = np.tile(np.float32(ACTIVE_PARAMS[stage]), (k, 1))
                if distinct:
                    params *= np.linspace(0.5, 1.5, k, dtype=np.float32)[:, None] if k > 1 else 1
                feeds[f"L{l}.{stage}.params"] = params
        feeds[f"L{l}.shuffle.source"] = rng.choice(c, k, replace=False).astype(np.int64)
        feeds[f"L{l}.noise.field"] = rng.standard_normal((k, h, w)).astype(np.float32)
    return feeds
