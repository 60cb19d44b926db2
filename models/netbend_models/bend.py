"""Per-channel bend stages (PyTorch), the building blocks of the exported bend graph.

Each stage takes a dynamic channel index list `idx` [K] (int64, K may be 0), a per-channel
mix [K] in [0, 1] and per-channel params [K, P]. It gathers the K selected channels, applies
its transform, blends `(1 - mix) * sel + mix * f(sel)` and writes them back. With K = 0 nothing is
gathered, so the stage is an exact identity (the neutral path costs almost nothing).

Status: numerical stages (ablate, invert, multiply, offset, threshold), reflections
(flip_h, flip_v) and erode/dilate (disk radius 1..3). Affine (translate, scale, rotate),
noise and shuffle stages, the full block and the ONNX export are not written yet.
"""

import torch
import torch.nn.functional as F
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


def _blend(sel: torch.Tensor, bent: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """(1 - mix) * sel + mix * bent: exactly sel at mix 0 and exactly bent at mix 1 (finite values),
    unlike sel + mix * (bent - sel), which rounds at mix 1."""
    m = mix.reshape(1, -1, 1, 1)
    return sel * (1.0 - m) + bent * m


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
        blended = _blend(sel, bent, mix)
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
        blended = _blend(sel, bent, mix)
        return x.index_copy(1, idx, blended)


# A disk x^2 + y^2 <= r^2 on the integer grid is the union of these rectangles (kh, kw):
# r=1: the plus (3x1, 1x3); r=2: 3x3 plus the 5-long arms; r=3: 5x5 plus the 7-long arms.
DISK_RECTANGLES = {1: [(3, 1), (1, 3)], 2: [(3, 3), (5, 1), (1, 5)], 3: [(5, 5), (7, 1), (1, 7)]}


def disk_dilate(sel: torch.Tensor, radius: int) -> torch.Tensor:
    """Grey dilation of every map in sel [B, K, H, W] by a disk; outside the map counts as -inf."""
    out = None
    for kh, kw in DISK_RECTANGLES[radius]:
        pooled = F.max_pool2d(sel, (kh, kw), stride=1, padding=(kh // 2, kw // 2))
        out = pooled if out is None else torch.maximum(out, pooled)
    return out


class MorphologyStage(nn.Module):
    """Erosion or dilation with a per-channel disk radius params[:, 0] in {1, 2, 3}.

    All three radii are computed on the selected channels and chosen per channel with Where,
    because a pooling kernel size cannot be a graph input. Erosion is -dilate(-x).
    """

    def __init__(self, name: str):
        super().__init__()
        if name not in ("erode", "dilate"):
            raise ValueError(f"unknown morphology {name!r}; allowed: ['dilate', 'erode']")
        self.sign = -1.0 if name == "erode" else 1.0

    def forward(self, x, idx, mix, params):
        sel = x.index_select(1, idx)
        radius = torch.cat([params[:, :1], torch.ones(1, 1, dtype=params.dtype)]).reshape(1, -1, 1, 1)
        # ORT's MaxPool rejects a zero-channel input, so with K = 0 the stage would fail; one
        # padding channel (sliced off below) keeps the pooled tensor non-empty.
        signed = torch.cat([sel, torch.zeros_like(x[:, :1])], dim=1) * self.sign
        bent = disk_dilate(signed, 1)
        bent = torch.where(radius == 2, disk_dilate(signed, 2), bent)
        bent = torch.where(radius == 3, disk_dilate(signed, 3), bent) * self.sign
        bent = bent[:, :-1]
        blended = _blend(sel, bent, mix)
        return x.index_copy(1, idx, blended)
