"""The bend block of docs/bend-graph.md (interface version 1) as PyTorch modules.

A `BendBlock` follows one bendable layer. It applies the 14 stages of the spec in their fixed
order; every stage reads its own graph inputs (`idx` [K] int64, `mix` [K], `params` [K, P] and,
for two stages, `source` or `field`), gathers the K selected channels, transforms them, blends
`(1 - mix) * sel + mix * f(sel)` and scatters them back. With K = 0 nothing is gathered and the
scatter writes nothing, so a neutral block is an exact identity.

Layout: the stages work channel-first, [N, B, H, W]. Then gathering channels is a Gather on axis
0, writing them back one ScatterND, and the selected maps [K, B, H, W] are already in the layout
GridSample and MaxPool want (K "images" of B channels, every batch item bent the same way). The
stages run on a compact copy of just the N channels the block touches, because ONNX Runtime's
ScatterND copies its whole input (measured with ORT 1.31): 14 write-backs into the full activation
would copy it 14 times. One GatherND on (batch, channel) pairs reads the touched maps straight
into the channel-first layout and one ScatterND on the same pairs writes them back at the end (no
Transpose of the maps either way).

The spatial stages (translate, scale, rotate) are in `affine.py`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .affine import RotateStage, ScaleStage, TranslateStage
from .core import GatherMaps, GatherRows, MapPairs, ScatterMaps, SplitLike, Stage, mix_weights, per_channel

BEND_INTERFACE_VERSION = 1

# The block's stages in application order with their parameter count P (docs/bend-graph.md).
STAGES = (
    ("shuffle", 0), ("translate", 2), ("scale", 2), ("rotate", 1), ("flip-h", 0), ("flip-v", 0),
    ("erode", 1), ("dilate", 1), ("scalar-multiply", 1), ("offset", 1), ("invert", 0),
    ("binary-thresh", 1), ("noise", 1), ("ablate", 0),
)
STAGE_NAMES = tuple(name for name, _ in STAGES)
STAGE_PARAM_COUNT = dict(STAGES)
# Inputs beyond idx/mix/params, named after what they hold.
STAGE_EXTRA_INPUT = {"shuffle": "source", "noise": "field"}


def stage_input_kinds(stage: str) -> list[str]:
    """Suffixes of a stage's graph inputs in graph order: idx, mix, [params], [source|field]."""
    if stage not in STAGE_PARAM_COUNT:
        raise ValueError(f"unknown bend stage {stage!r}; the stages are {list(STAGE_NAMES)}")
    kinds = ["idx", "mix"]
    if STAGE_PARAM_COUNT[stage] > 0:
        kinds.append("params")
    if stage in STAGE_EXTRA_INPUT:
        kinds.append(STAGE_EXTRA_INPUT[stage])
    return kinds


def block_input_names(layer: int) -> list[str]:
    """Graph input names of layer `layer`'s bend block, in graph order."""
    return [f"L{layer}.{stage}.{kind}" for stage in STAGE_NAMES for kind in stage_input_kinds(stage)]


class ShuffleStage(Stage):
    """Channel idx[k] takes the map of channel source[k] as it entered this stage."""

    name = "shuffle"

    def transform(self, xt, sel, source):
        return GatherRows.apply(xt, source)


class FlipStage(Stage):
    """flip-h reverses columns (W, frequency in the VAE), flip-v reverses rows (H, time)."""

    def __init__(self, name: str):
        super().__init__()
        if name not in ("flip-h", "flip-v"):
            raise ValueError(f"unknown reflection {name!r}; allowed: ['flip-h', 'flip-v']")
        self.name = name
        self.dim = 3 if name == "flip-h" else 2

    def transform(self, xt, sel):
        return sel.flip(self.dim)


MORPHOLOGY_RADII = (1, 2, 3)


def _pool(maps: torch.Tensor, kh: int, kw: int) -> torch.Tensor:
    """Max over a kh x kw window, ignoring positions outside the map (MaxPool pads with -inf)."""
    return F.max_pool2d(maps, (kh, kw), stride=1, padding=(kh // 2, kw // 2))


def disk_dilations(maps: torch.Tensor) -> list[torch.Tensor]:
    """Grey dilations of every map in [N, C, H, W] by the disks di^2 + dj^2 <= r^2, r = 1, 2, 3.

    On the integer grid: disk 1 is the plus (3x1 and 1x3); disk 2 = plus (+) plus (the diamond
    |di| + |dj| <= 2); disk 3 = plus (+) disk 2 (the diamond of 3) plus the 5x5 square. Dilations
    compose as Minkowski sums, and on a rectangular map every offset of a diamond is reached through
    pixels inside the map, so this chain equals the direct disk dilation exactly (max is exact)."""
    def plus(m):
        return torch.maximum(_pool(m, 3, 1), _pool(m, 1, 3))

    r1 = plus(maps)
    r2 = plus(r1)
    r3 = torch.maximum(plus(r2), _pool(maps, 5, 5))
    return [r1, r2, r3]


class MorphologyStage(Stage):
    """Erosion or dilation with a per-channel disk radius round(params[:, 0]), clamped to 1..3.

    All three radii are computed on the selected maps (one chain, see disk_dilations) and chosen
    per map with Where, because a pooling kernel size cannot be a graph input. Erosion is
    -dilate(-x); its outer negation is folded into the blend (a Sub instead of a Neg and an Add).

    ONNX Runtime rejects a MaxPool over an empty tensor. The exported TorchScript graph runs this
    stage only when K > 0 (neutral_skip's If); a graph without that If (the dynamo exporter's, only
    measured) sets `pad_empty`, which appends one map (channel 0, sliced off again) so that the
    pools never see K = 0. It costs three nodes and two copies of the maps, hence not by default."""

    pad_empty = False

    def __init__(self, name: str):
        super().__init__()
        if name not in ("erode", "dilate"):
            raise ValueError(f"unknown morphology {name!r}; allowed: ['dilate', 'erode']")
        self.name = name
        self.erode = name == "erode"

    def blended(self, xt, sel, weights, params):
        if not self.erode:
            return super().blended(xt, sel, weights, params)
        m, keep = weights
        return sel * keep - self.dilation(xt, sel, params) * m  # (1 - mix) x + mix (-dilate(-x))

    def transform(self, xt, sel, params):
        bent = self.dilation(xt, sel, params)
        return -bent if self.erode else bent

    def dilation(self, xt, sel, params):
        """dilate(sel), or for erosion dilate(-sel) (the erosion is its negative); `xt` pads an
        empty selection with one map (pad_empty, the dynamo exporter)."""
        radius = torch.round(params[:, :1]).clamp(MORPHOLOGY_RADII[0], MORPHOLOGY_RADII[-1])
        maps = sel
        if self.pad_empty:
            radius = torch.cat([radius, torch.ones(1, 1, dtype=params.dtype)])
            maps = torch.cat([sel, xt[:1]], dim=0)
        radius = radius.reshape(-1, 1, 1, 1)
        if self.erode:
            maps = -maps
        r1, r2, r3 = disk_dilations(maps)
        bent = torch.where(radius == 3, r3, torch.where(radius == 2, r2, r1))
        if self.pad_empty:
            bent = bent[:-1]
        return bent


class PointwiseStage(Stage):
    """Transforms of single activation values (paper Sec. 5.1 plus offset).

    FUNCTIONS is f(x) as the spec defines it. The graph evaluates BLENDED instead: the blend
    (1 - m) x + m f(x) rewritten per transform into an algebraically equal form with one or two
    passes over the maps instead of four (Mul for f, two Mul and an Add for the blend), still exact
    at m = 0 and m = 1: e.g. scalar-multiply x ((1 - m) + m p), ablate x (1 - m)."""

    FUNCTIONS = {
        "scalar-multiply": lambda sel, params: sel * per_channel(params),
        "offset": lambda sel, params: sel + per_channel(params),
        "invert": lambda sel: 1.0 - sel,
        # paper eq. (1): 1 if x >= t else 0
        "binary-thresh": lambda sel, params: (sel >= per_channel(params)).to(sel.dtype),
        "ablate": lambda sel: sel * 0.0,
    }
    # (sel, m, keep, *params) -> (1 - m) sel + m f(sel), with (m, keep) = mix_weights(mix)
    BLENDED = {
        "scalar-multiply": lambda sel, m, keep, params: sel * (keep + m * per_channel(params)),
        "offset": lambda sel, m, keep, params: sel + m * per_channel(params),
        "invert": lambda sel, m, keep: sel * (keep - m) + m,                # (1 - 2m) x + m
        "binary-thresh": lambda sel, m, keep, params:
            sel * keep + torch.where(sel >= per_channel(params), m, 0.0),
        "ablate": lambda sel, m, keep: sel * keep,
    }

    def __init__(self, name: str):
        super().__init__()
        if name not in self.FUNCTIONS:
            raise ValueError(f"unknown pointwise transform {name!r}; allowed: {sorted(self.FUNCTIONS)}")
        self.name = name

    def transform(self, xt, sel, *params):
        return self.FUNCTIONS[self.name](sel, *params)

    def blended(self, xt, sel, weights, *params):
        return self.BLENDED[self.name](sel, *weights, *params)


class NoiseStage(Stage):
    """x + sigma * field: the caller supplies the standard normal field [K, H, W] (no RNG in the graph).
    Blended as x + (mix sigma) field: two passes over the maps instead of five."""

    name = "noise"

    def transform(self, xt, sel, params, field):
        return sel + per_channel(params) * field.unsqueeze(1)

    def blended(self, xt, sel, weights, params, field):
        m, _ = weights
        return sel + (m * per_channel(params)) * field.unsqueeze(1)


def make_stage(name: str, height: int, width: int) -> Stage:
    if name == "shuffle":
        return ShuffleStage()
    if name == "translate":
        return TranslateStage(height, width)
    if name == "scale":
        return ScaleStage(height, width)
    if name == "rotate":
        return RotateStage(height, width)
    if name in ("flip-h", "flip-v"):
        return FlipStage(name)
    if name in ("erode", "dilate"):
        return MorphologyStage(name)
    if name == "noise":
        return NoiseStage()
    return PointwiseStage(name)


class BendBlock(nn.Module):
    """The bend block of layer `layer` (1-based) for activations [B, channels, height, width].

    forward(x, *inputs) takes the block's inputs in the order of `input_names()`."""

    def __init__(self, layer: int, channels: int, height: int, width: int):
        super().__init__()
        if layer < 1 or min(channels, height, width) < 1:
            raise ValueError(f"bend block needs layer >= 1 and a positive shape, got layer {layer}, "
                             f"[{channels}, {height}, {width}]")
        self.layer, self.channels, self.height, self.width = layer, channels, height, width
        self.stages = nn.ModuleList(make_stage(name, height, width) for name in STAGE_NAMES)
        self.arity = [len(stage_input_kinds(name)) for name in STAGE_NAMES]

    def input_names(self) -> list[str]:
        return block_input_names(self.layer)

    def forward(self, x: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != sum(self.arity):
            raise ValueError(f"bend block L{self.layer} takes {sum(self.arity)} inputs "
                             f"({self.input_names()}), got {len(inputs)}")
        stage_inputs, start = [], 0
        for n in self.arity:
            stage_inputs.append(list(inputs[start:start + n]))
            start += n
        inputs_by_stage = [list(args) for args in stage_inputs]  # the graph inputs, kept as given
        # The stages work on a compact copy of just the channels they touch (every idx and the
        # shuffle sources), so each stage's write-back copies those maps rather than the whole
        # activation (ONNX Runtime's ScatterND copies its input); one write-back at the end.
        shuffle_source = stage_inputs[0][2]
        touched = [stage_inputs[0][0], shuffle_source] + [args[0] for args in stage_inputs[1:]]
        channels, position = torch.unique(torch.cat(touched), sorted=True, return_inverse=True)
        # The touched maps channel-first, read and written back at the same (batch, channel) pairs.
        pairs = MapPairs.apply(x, channels)
        work = GatherMaps.apply(x, pairs)
        # idx (and the shuffle source) as positions [K, 1] in `work`
        local = SplitLike.apply(position.unsqueeze(1), *touched)
        stage_inputs[0][2] = local[1]
        for args, positions in zip(stage_inputs, local[:1] + local[2:]):
            args[0] = positions
        # mix and 1 - mix of every stage made at once, then split per stage
        idx = [args[0] for args in inputs_by_stage]
        m, keep = mix_weights(torch.cat([args[1] for args in inputs_by_stage]))
        for args, weights in zip(stage_inputs, zip(SplitLike.apply(m, *idx), SplitLike.apply(keep, *idx))):
            args[1] = weights
        for stage, args in zip(self.stages, stage_inputs):
            work = stage(work, *args)
        return ScatterMaps.apply(x, pairs, work)

    def neutral_inputs(self) -> dict[str, torch.Tensor]:
        """K = 0 for every stage: the block is an exact identity."""
        out = {}
        for name in self.input_names():
            stage, kind = name.split(".")[1:]
            if kind == "idx" or kind == "source":
                out[name] = torch.zeros(0, dtype=torch.int64)
            elif kind == "mix":
                out[name] = torch.zeros(0)
            elif kind == "params":
                out[name] = torch.zeros(0, STAGE_PARAM_COUNT[stage])
            else:  # field
                out[name] = torch.zeros(0, self.height, self.width)
        return out
