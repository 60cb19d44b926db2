"""Spatial bend stages (translate, scale, rotate): one bilinear affine sampler shared by the three.

Geometry is in pixels, as docs/bend-graph.md defines it: pixel (i, j) is row i (0 on top) and
column j, the centre is (ci, cj) = ((H - 1) / 2, (W - 1) / 2). Each stage gives, per selected
channel, the affine map from an output pixel to the source position it reads:

    src_i = a_ii * i + a_ij * j + b_i
    src_j = a_ji * i + a_jj * j + b_j

and the sampler reads the map bilinearly there, 0 outside (GridSample, align_corners = false,
zero padding). Working in pixels rather than GridSample's normalised [-1, 1] coordinates keeps a
rotation free of shear on non-square maps.

Every stage's coefficients are affine in a small feature vector of its params: (px, py) for
translate, (1/kx, 1/ky) for scale, (cos theta, sin theta) for rotate. So is GridSample's
normalised theta in the coefficients. The whole chain params -> theta is therefore one constant
matrix and offset, computed here in float64 once, and one MatMul + Add in the graph: a traced
elementwise version cost ~40 tiny ONNX nodes per stage, which ONNX Runtime pays for on every run.

Like the other stages, these work on the selected maps in channel-first layout [K, B, H, W],
which is GridSample's [N, C, H, W] with one grid per selected channel.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .core import Stage


def normalised_theta_map(height: int, width: int) -> np.ndarray:
    """[7, 6] matrix T with theta.flatten() = [a_ii, a_ij, b_i, a_ji, a_jj, b_j, 1] @ T.

    align_corners = false puts pixel p of an n-pixel axis at (2p + 1) / n - 1; GridSample's x is
    horizontal (j), y vertical (i). Substituting into the pixel-space map gives
      theta_x = [a_jj, a_ji H/W, (a_ji (H-1) + a_jj (W-1) + 2 b_j + 1) / W - 1]
      theta_y = [a_ij W/H, a_ii, (a_ij (W-1) + a_ii (H-1) + 2 b_i + 1) / H - 1]."""
    h, w = float(height), float(width)
    a_ii, a_ij, b_i, a_ji, a_jj, b_j, one = range(7)
    t = np.zeros((7, 6))
    t[a_jj, 0] = 1.0
    t[a_ji, 1] = h / w
    t[[a_ji, a_jj, b_j, one], 2] = [(h - 1) / w, (w - 1) / w, 2 / w, 1 / w - 1]
    t[a_ij, 3] = w / h
    t[a_ii, 4] = 1.0
    t[[a_ij, a_ii, b_i, one], 5] = [(w - 1) / h, (h - 1) / h, 2 / h, 1 / h - 1]
    return t


class AffineGridOf(torch.autograd.Function):
    """F.affine_grid(theta, size of sel), exported as one AffineGrid on Shape(sel) (torch's own
    export assembles the size from four Gathers and a Concat)."""

    @staticmethod
    def forward(ctx, theta, sel):
        if sel.shape[0] == 0:  # torch refuses an empty size; the ONNX op does not
            return sel.new_zeros(0, sel.shape[2], sel.shape[3], 2)
        return F.affine_grid(theta, list(sel.shape), align_corners=False)

    @staticmethod
    def symbolic(g, theta, sel):
        return g.op("AffineGrid", theta, g.op("Shape", sel), align_corners_i=0)


def affine_sample(sel: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Bilinear sample of sel [K, B, H, W] with GridSample's normalised theta [K, 2, 3], 0 outside."""
    grid = AffineGridOf.apply(theta, sel)
    return F.grid_sample(sel, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class AffineStage(Stage):
    """Base of the spatial stages. Subclasses give `features(params)` [K, F] and, in
    `coefficients()`, the [F + 1, 6] map from (features, 1) to (a_ii, a_ij, b_i, a_ji, a_jj, b_j)."""

    def __init__(self, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width
        self.ci, self.cj = (height - 1) / 2.0, (width - 1) / 2.0
        coefficients = np.asarray(self.coefficients(), dtype=np.float64)
        extended = np.zeros((coefficients.shape[0], 7))
        extended[:, :6] = coefficients
        extended[-1, 6] = 1.0  # the constant row carries the constant term of theta
        to_theta = extended @ normalised_theta_map(height, width)
        self.register_buffer("theta_matrix", torch.tensor(to_theta[:-1], dtype=torch.float32), persistent=False)
        self.register_buffer("theta_offset", torch.tensor(to_theta[-1], dtype=torch.float32), persistent=False)

    def transform(self, xt, sel, params):
        theta = (self.features(params) @ self.theta_matrix + self.theta_offset).reshape(-1, 2, 3)
        return affine_sample(sel, theta)

    def features(self, params):
        raise NotImplementedError

    def coefficients(self):
        raise NotImplementedError


class TranslateStage(AffineStage):
    """out[i, j] = in[i - py * H, j - px * W]; params (px, py) are fractions of the map size."""

    name = "translate"

    def features(self, params):
        return params  # px, py

    def coefficients(self):
        h, w = self.height, self.width
        #        a_ii a_ij  b_i  a_ji a_jj  b_j
        return [[0, 0, 0, 0, 0, -w],   # px
                [0, 0, -h, 0, 0, 0],   # py
                [1, 0, 0, 0, 1, 0]]    # 1


class ScaleStage(AffineStage):
    """out[i, j] = in[ci + (i - ci) / ky, cj + (j - cj) / kx]: magnify by (kx, ky) about the centre."""

    name = "scale"

    def features(self, params):
        return params.reciprocal()  # 1/kx, 1/ky

    def coefficients(self):
        ci, cj = self.ci, self.cj
        return [[0, 0, 0, 0, 1, -cj],  # 1/kx
                [1, 0, -ci, 0, 0, 0],  # 1/ky
                [0, 0, ci, 0, 0, cj]]  # 1


class RotateStage(AffineStage):
    """Rotation by theta degrees about the centre, counter-clockwise as displayed (row 0 on top).

    With u = i - ci, v = j - cj (v to the right, u downwards), the output reads the source at
    src_u = cos * u + sin * v, src_v = -sin * u + cos * v; at 90 degrees on a square map that is
    out[i, j] = in[j, W - 1 - i], which is np.rot90."""

    name = "rotate"

    def features(self, params):
        radians = params * (math.pi / 180.0)
        return torch.cat([torch.cos(radians), torch.sin(radians)], dim=1)

    def coefficients(self):
        ci, cj = self.ci, self.cj
        return [[1, 0, -ci, 0, 1, -cj],  # cos
                [0, 1, -cj, -1, 0, ci],  # sin
                [0, 0, ci, 0, 0, cj]]    # 1
