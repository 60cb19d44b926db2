"""Per-channel bend stages (PyTorch), the building blocks of the exported bend graph.

Each stage takes a dynamic channel index list `idx` [K] (int64, K may be 0), a per-channel
mix [K] in [0, 1] and per-channel params [K, P]. It gathers the K selected channels, applies
its transform, blends `sel + mix * (f(sel) - sel)` and writes them back. With K = 0 nothing is
gathered, so the stage is an exact identity (the neutral path costs almost nothing).

Status: numerical stages (ablate, invert, multiply, offset, threshold) and reflections
(flip_h, flip_v). Affine, morphological, noise and shuffle stages and the ONNX export are not
written yet.
"""

import torch
from torch import nn

# Number of params each numerical transform reads from its [K, P] params tensor.
NUMERIC_PARAM_COUNT = {"ablate": 0, "invert": 0, "multiply": 1, "offset": 1, "threshold": 1}


def _numeric(name: str, sel: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Apply a numerical transform to sel [B, K, H, W]; params [K, P] broadcast per channel."""
    p = params[:, :1].reshape(1, -1, 1, 1) if params.shape[1] > 0 else None
    if name == "ablate":
        return sel * 0.0
    if name == "invert":
        return 1.0 - sel
    if name == "multiply":
        return sel * p
    if name == "offset":
        return sel + p
    if name == "threshold":  # paper eq. (1): 1 if x >= t else 0
        return (sel >= p).to(sel.dtype)
    raise ValueError(f"unknown numerical transform {name!r}; allowed: {sorted(NUMERIC_PARAM_COUNT)}")


class NumericStage(nn.Module):
    """One numerical transform applied to the channels listed in idx, blended by mix."""

    def __init__(self, name: str):
        super().__init__()
        if name not in NUMERIC_PARAM_COUNT:
            raise ValueError(f"unknown numerical transform {name!r}; allowed: {sorted(NUMERIC_PARAM_COUNT)}")
        self.name = name

    def forward(self, x, idx, mix, params):
        sel = x.index_select(1, idx)
        bent = _numeric(self.name, sel, params)
        blended = sel + mix.reshape(1, -1, 1, 1) * (bent - sel)
        return x.index_copy(1, idx, blended)


class FlipStage(nn.Module):
    """Reflection of the selected maps [H, W]: flip_h reverses columns (W), flip_v rows (H)."""

    def __init__(self, name: str):
        super().__init__()
        if name not in ("flip_h", "flip_v"):
            raise ValueError(f"unknown reflection {name!r}; allowed: ['flip_h', 'flip_v']")
        self.dim = 3 if name == "flip_h" else 2

    def forward(self, x, idx, mix):
        sel = x.index_select(1, idx)
        bent = sel.flip(self.dim)
        blended = sel + mix.reshape(1, -1, 1, 1) * (bent - sel)
        return x.index_copy(1, idx, blended)
