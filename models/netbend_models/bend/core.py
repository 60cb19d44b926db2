"""What every bend stage shares: gather the selected channels, transform, blend by mix, scatter.

Stages work on a channel-first activation [C, B, H, W] (see block.py for why)."""
from __future__ import annotations

import torch
from torch import nn


def mix_weights(mix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mix, 1 - mix) shaped [K, 1, 1, 1] for `blend`. BendBlock makes them once for all its stages
    (one Reshape and one Sub per block instead of per stage: ONNX Runtime pays per node)."""
    m = mix.reshape(-1, 1, 1, 1)
    return m, 1.0 - m


def blend(sel: torch.Tensor, bent: torch.Tensor, m: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(1 - mix) * sel + mix * bent per selected channel (axis 0), with (m, keep) = mix_weights(mix):
    exactly sel at mix 0 and exactly bent at mix 1 for finite values, unlike
    sel + mix * (bent - sel), which rounds at mix 1."""
    return sel * keep + bent * m


def per_channel(params: torch.Tensor, column: int = 0) -> torch.Tensor:
    """params[:, column] shaped [K, 1, 1, 1] to broadcast over the selected maps [K, B, H, W]."""
    if params.shape[1] == 1:  # one Reshape node instead of a Gather and a Reshape
        return params.reshape(-1, 1, 1, 1)
    return params[:, column].reshape(-1, 1, 1, 1)


class GatherRows(torch.autograd.Function):
    """xt[rows[:, 0]] for rows [K, 1], exported as one GatherND: the [K, 1] positions then serve
    the stage's GatherND and its ScatterND alike, without an Unsqueeze per stage."""

    @staticmethod
    def forward(ctx, xt, rows):
        return xt.index_select(0, rows[:, 0])

    @staticmethod
    def symbolic(g, xt, rows):
        return g.op("GatherND", xt, rows).setType(xt.type())


class ScatterChannels(torch.autograd.Function):
    """xt with rows rows[:, 0] (axis 0; rows [K, 1]) replaced by values. Exported as one ScatterND:
    torch's own index_put export adds four shape nodes per stage, which ONNX Runtime pays for on
    every run."""

    @staticmethod
    def forward(ctx, xt, rows, values):
        return torch.index_put(xt, (rows[:, 0],), values)

    @staticmethod
    def symbolic(g, xt, rows, values):
        return g.op("ScatterND", xt, rows, values).setType(xt.type())


class MapPairs(torch.autograd.Function):
    """(batch, channel) index pairs [N, B, 2] of the maps of channels idx [N] in x [B, C, H, W]:
    pairs[n, b] = (b, idx[n]). With them one GatherND reads the maps channel-first, [N, B, H, W]
    (the layout the stages work in), and one ScatterND writes them back from that layout: no
    Transpose of the maps either way (ONNX Runtime's CPU Transpose copies; measured with ORT 1.31)."""

    @staticmethod
    def forward(ctx, x, idx):
        b = torch.arange(x.shape[0]).reshape(1, -1).expand(idx.shape[0], -1)
        c = idx.reshape(-1, 1).expand(-1, x.shape[0])
        return torch.stack([b, c], dim=2)

    @staticmethod
    def symbolic(g, x, idx):
        def const(value):
            return g.op("Constant", value_t=torch.tensor(value, dtype=torch.int64))
        batch = g.op("Shape", x, start_i=0, end_i=1)                       # [1]: B
        rows = g.op("Range", const(0), g.op("Squeeze", batch, const([0])), const(1))
        size = g.op("Concat", g.op("Shape", idx), batch, const([1]), axis_i=0)   # [N, B, 1]
        b = g.op("Expand", g.op("Unsqueeze", rows, const([0, 2])), size)
        c = g.op("Expand", g.op("Unsqueeze", idx, const([1, 2])), size)
        return g.op("Concat", b, c, axis_i=2)                             # [N, B, 2]


class GatherMaps(torch.autograd.Function):
    """x[pairs[n, b, 0], pairs[n, b, 1]] for MapPairs: the maps channel-first [N, B, H, W], one GatherND."""

    @staticmethod
    def forward(ctx, x, pairs):
        return x[pairs[..., 0], pairs[..., 1]]

    @staticmethod
    def symbolic(g, x, pairs):
        return g.op("GatherND", x, pairs)


class ScatterMaps(torch.autograd.Function):
    """x [B, C, H, W] with the maps at MapPairs `pairs` replaced by values [N, B, H, W], one ScatterND."""

    @staticmethod
    def forward(ctx, x, pairs, values):
        out = x.clone()
        out[pairs[..., 0], pairs[..., 1]] = values
        return out

    @staticmethod
    def symbolic(g, x, pairs, values):
        return g.op("ScatterND", x, pairs, values).setType(x.type())


class SplitLike(torch.autograd.Function):
    """Split a 1-D tensor into consecutive pieces as long as each of `like` (axis 0), exported as
    one Split on Concat(Shape(...)) instead of a Slice with offset arithmetic per piece."""

    @staticmethod
    def forward(ctx, values, *like):
        return tuple(torch.split(values, [t.shape[0] for t in like]))

    @staticmethod
    def symbolic(g, values, *like):
        sizes = g.op("Concat", *[g.op("Shape", t) for t in like], axis_i=0)
        return g.op("Split", values, sizes, axis_i=0, outputs=len(like))


class Stage(nn.Module):
    """Gather the rows `rows` [K, 1] (positions on axis 0), transform, blend, write back
    (GatherND and ScatterND in ONNX).

    `weights` is mix_weights(mix). Subclasses implement `transform(xt, sel, *rest)`; `rest` are the
    stage's params/source/field. A stage whose f is cheap may instead override `blended(xt, sel,
    weights, *rest)` with an algebraically equal form of the blend that makes fewer passes over the
    maps (each pass over the selected maps costs about as much as the op itself; ONNX has no fused
    lerp), still exact at mix 0 and mix 1. With K = 0 the gather is empty and the scatter writes
    nothing: an exact identity."""

    name = ""

    def forward(self, xt: torch.Tensor, rows: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor],
                *rest: torch.Tensor):
        sel = GatherRows.apply(xt, rows)
        return ScatterChannels.apply(xt, rows, self.blended(xt, sel, weights, *rest))

    def blended(self, xt, sel, weights, *rest):
        return blend(sel, self.transform(xt, sel, *rest), *weights)

    def transform(self, xt, sel, *rest):
        raise NotImplementedError
