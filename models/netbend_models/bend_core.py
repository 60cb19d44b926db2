"""What every bend stage shares: gather the selected channels, transform, blend by mix, scatter.

Stages work on a channel-first activation [C, B, H, W] (see bend.py for why)."""
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


class ScatterMaps(torch.autograd.Function):
    """x [B, C, H, W] with channels idx (axis 1) replaced by values [B, K, H, W], exported as one
    ScatterND on (batch, channel) index pairs. Writing back on axis 1 spares the block the two
    transposes of the whole activation that a channel-first write-back needs (ONNX Runtime's CPU
    Transpose and ScatterND each copy their whole input; measured with ORT 1.31)."""

    @staticmethod
    def forward(ctx, x, idx, values):
        out = x.clone()
        out[:, idx] = values
        return out

    @staticmethod
    def symbolic(g, x, idx, values):
        def const(value):
            return g.op("Constant", value_t=torch.tensor(value, dtype=torch.int64))
        batch = g.op("Shape", x, start_i=0, end_i=1)                       # [1]: B
        rows = g.op("Range", const(0), g.op("Squeeze", batch, const([0])), const(1))
        size = g.op("Concat", batch, g.op("Shape", idx), const([1]), axis_i=0)   # [B, K, 1]
        b = g.op("Expand", g.op("Unsqueeze", rows, const([1, 2])), size)
        c = g.op("Expand", g.op("Unsqueeze", idx, const([0, 2])), size)
        pairs = g.op("Concat", b, c, axis_i=2)                            # [B, K, 2]
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
    stage's params/source/field. With K = 0 the gather is empty and the scatter writes nothing: an
    exact identity."""

    name = ""

    def forward(self, xt: torch.Tensor, rows: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor],
                *rest: torch.Tensor):
        sel = GatherRows.apply(xt, rows)
        bent = self.transform(xt, sel, *rest)
        return ScatterChannels.apply(xt, rows, blend(sel, bent, *weights))

    def transform(self, xt, sel, *rest):
        raise NotImplementedError
