"""Spatial bend stages (translate, scale, rotate): one bilinear affine sampler shared by the three.

Geometry is in pixels, as docs/bend-graph.md defines it: pixel (i, j) is row i (0 on top) and
column j, the centre is (ci, cj) = ((H - 1) / 2, (W - 1) / 2). Each stage gives, per selected
channel, the affine map from an output pixel to the source position it reads:

    src_i = a_ii * i + a_ij * j + b_i
    src_j = a_ji * i + a_jj * j + b_j

and the sampler reads the map bilinearly there, 0 outside (GridSample, align_corners = false,
zero padding). Working in pixels rather than GridSample's normalised [-1, 1] coordinates keeps a
rotation free of shear on non-square maps.

Like the other stages, these work on the selected maps in channel-first layout [K, B, H, W],
which is GridSample's [N, C, H, W] with one grid per selected channel.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .bend_core import Stage


def affine_sample(sel: torch.Tensor, rows, height: int, width: int) -> torch.Tensor:
    """Bilinear sample of sel [K, B, H, W] at the per-channel source positions given by
    rows = ((a_ii, a_ij, b_i), (a_ji, a_jj, b_j)), each coefficient a [K] tensor.

    The pixel-space map is rewritten for GridSample's normalised coordinates (align_corners =
    false puts pixel p of an n-pixel axis at x = (2p + 1) / n - 1, x horizontal, y vertical), so
    that one AffineGrid builds the grid: far fewer ONNX nodes than building it elementwise."""
    (a_ii, a_ij, b_i), (a_ji, a_jj, b_j) = rows
    h, w = float(height), float(width)
    theta_x = [a_jj, a_ji * (h / w), (a_ji * (h - 1.0) + a_jj * (w - 1.0) + 2.0 * b_j + 1.0) / w - 1.0]
    theta_y = [a_ij * (w / h), a_ii, (a_ij * (w - 1.0) + a_ii * (h - 1.0) + 2.0 * b_i + 1.0) / h - 1.0]
    theta = torch.stack([torch.stack(theta_x, dim=1), torch.stack(theta_y, dim=1)], dim=1)  # [K, 2, 3]
    grid = F.affine_grid(theta, [sel.shape[0], sel.shape[1], height, width], align_corners=False)
    return F.grid_sample(sel, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class AffineStage(Stage):
    """Base of the spatial stages: `rows(params)` gives the per-channel affine source map."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width
        self.ci, self.cj = (height - 1) / 2.0, (width - 1) / 2.0

    def transform(self, xt, sel, params):
        return affine_sample(sel, self.rows(params), self.height, self.width)

    def rows(self, params):
        raise NotImplementedError


class TranslateStage(AffineStage):
    """out[i, j] = in[i - py * H, j - px * W]; params (px, py) are fractions of the map size."""

    name = "translate"

    def rows(self, params):
        px, py = params[:, 0], params[:, 1]
        one, zero = torch.ones_like(px), torch.zeros_like(px)
        return (one, zero, -py * self.height), (zero, one, -px * self.width)


class ScaleStage(AffineStage):
    """out[i, j] = in[ci + (i - ci) / ky, cj + (j - cj) / kx]: magnify by (kx, ky) about the centre."""

    name = "scale"

    def rows(self, params):
        inv_kx, inv_ky = 1.0 / params[:, 0], 1.0 / params[:, 1]
        zero = torch.zeros_like(inv_kx)
        return (inv_ky, zero, self.ci - self.ci * inv_ky), (zero, inv_kx, self.cj - self.cj * inv_kx)


class RotateStage(AffineStage):
    """Rotation by theta degrees about the centre, counter-clockwise as displayed (row 0 on top).

    With u = i - ci, v = j - cj (v to the right, u downwards), the output reads the source at
    src_u = cos * u + sin * v, src_v = -sin * u + cos * v; at 90 degrees on a square map that is
    out[i, j] = in[j, W - 1 - i], which is np.rot90."""

    name = "rotate"

    def rows(self, params):
        theta = params[:, 0] * (math.pi / 180.0)
        c, s = torch.cos(theta), torch.sin(theta)
        ci, cj = self.ci, self.cj
        return (c, s, ci - c * ci - s * cj), (-s, c, cj + s * ci - c * cj)
