"""ONNX nodes: bilinear sampling of maps on one axis-aligned grid, one axis after the other.

ONNX Runtime's CPU GridSample costs mostly per grid point, not per sampled map (ORT 1.31: one
64x257 grid takes ~190 us whether it samples 1 map or 2). Translate and scale are axis-aligned:
the source column depends only on the output column and the source row only on the output row,
and bilinear interpolation with zero padding factorises into a linear interpolation along the
rows followed by one along the columns. So, for a theta shared by all selected maps
(shared_grid.py), this samples

- along W with GridSample on every row as a 1-row image: a grid of W points instead of H x W
  (theta [[a, 0, c], [0, 0, 0]] on a height-1 image, whose one row sits at y = 0 exactly), then
- along H with two row Gathers and their weights, from the same source rows GridSample would
  compute (AffineGrid of [[e, 0, f], [0, 0, 0]] over H points gives the normalised rows, then
  GridSample's own unnormalisation, ((y + 1) H - 1) / 2); rows outside the map weigh 0.

The values are GridSample's up to float rounding (the 2-D kernel multiplies the four weights in
another order). Measured at 64x257 (2 maps): ~80 us instead of ~230 us; at 32x129 ~45 vs ~75;
below ~2000 points per map the extra ~30 small nodes cost more than they save, hence
SEPARABLE_MIN_POINTS.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEPARABLE_MIN_POINTS = 2048  # H x W from which the separable sampler is used (see above)

# theta [1, 2, 3] flattened is [a, b, c, d, e, f]; index 6 reads an appended 0.
_ZERO = 6
_THETA_COLUMNS = [[[0, _ZERO, 2], [_ZERO, _ZERO, _ZERO]]]  # x_src = a x + c
_THETA_ROWS = [[[4, _ZERO, 5], [_ZERO, _ZERO, _ZERO]]]     # y_src = e y + f


def separable_sample_nodes(graph: onnx.GraphProto, p: str, maps: str, theta0: str, size: str, out: str,
                           height: int, width: int, grid_attrs: dict, sample_attrs: dict) -> list:
    """Nodes computing `out` [K, B, H, W]: the maps `maps` (same shape, `size` its Shape) sampled
    bilinearly on the axis-aligned theta `theta0` [1, 2, 3]. Constants go into graph's
    initializers, named with the prefix p."""

    def const(name, value):
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), p + "const/" + name))
        return p + "const/" + name

    def node(op, inputs, name, **attrs):
        return helper.make_node(op, inputs, [p + name], name=p + name, **attrs)

    one, two = const("one", np.float32(1.0)), const("two", np.float32(2.0))
    rows_len = const("rows_len", np.float32(height))
    first_row, last_row = const("first_row", np.float32(0.0)), const("last_row", np.float32(height - 1))
    zero_f = const("zero_f", np.zeros(1, np.float32))
    flat_rows = const("flat_rows", np.array([height], np.int64))
    return [
        # the two 1-D thetas
        node("Reshape", [theta0, const("flat", np.array([6], np.int64))], "flat"),
        node("Concat", [p + "flat", zero_f], "flat0", axis=0),
        node("Gather", [p + "flat0", const("columns_idx", np.array(_THETA_COLUMNS, np.int64))], "theta_w", axis=0),
        node("Gather", [p + "flat0", const("rows_idx", np.array(_THETA_ROWS, np.int64))], "theta_h", axis=0),
        # along W: every row of every map as a 1-row image, [1, K B H, 1, W]
        node("Reshape", [maps, const("as_rows", np.array([1, -1, 1, width], np.int64))], "rows"),
        node("AffineGrid", [p + "theta_w", const("w_size", np.array([1, 1, 1, width], np.int64))], "grid_w",
             **grid_attrs),
        node("GridSample", [p + "rows", p + "grid_w"], "along_w", **sample_attrs),
        node("Reshape", [p + "along_w", size], "maps_w"),
        # along H: source rows y [H, 1] as GridSample computes them
        node("AffineGrid", [p + "theta_h", const("h_size", np.array([1, 1, 1, height], np.int64))], "grid_h",
             **grid_attrs),
        node("Gather", [p + "grid_h", const("x_component", np.array(0, np.int64))], "y_norm", axis=3),
        node("Reshape", [p + "y_norm", const("column", np.array([height, 1], np.int64))], "y_n"),
        node("Add", [p + "y_n", one], "y_1"),
        node("Mul", [p + "y_1", rows_len], "y_h"),
        node("Sub", [p + "y_h", one], "y_2"),
        node("Div", [p + "y_2", two], "y"),
        node("Floor", [p + "y"], "y0"),
        node("Sub", [p + "y", p + "y0"], "dy"),
        node("Sub", [one, p + "dy"], "w0_all"),
        node("Add", [p + "y0", one], "y1"),
        # rows outside the map: clamped for the Gather, weight 0 (zero padding)
        node("Clip", [p + "y0", first_row, last_row], "c0"),
        node("Clip", [p + "y1", first_row, last_row], "c1"),
        node("Equal", [p + "c0", p + "y0"], "in0"),
        node("Equal", [p + "c1", p + "y1"], "in1"),
        node("Cast", [p + "in0"], "in0_f", to=TensorProto.FLOAT),
        node("Cast", [p + "in1"], "in1_f", to=TensorProto.FLOAT),
        node("Mul", [p + "w0_all", p + "in0_f"], "w0"),
        node("Mul", [p + "dy", p + "in1_f"], "w1"),
        node("Reshape", [p + "c0", flat_rows], "c0_flat"),
        node("Reshape", [p + "c1", flat_rows], "c1_flat"),
        node("Cast", [p + "c0_flat"], "i0", to=TensorProto.INT64),
        node("Cast", [p + "c1_flat"], "i1", to=TensorProto.INT64),
        node("Gather", [p + "maps_w", p + "i0"], "g0", axis=2),
        node("Gather", [p + "maps_w", p + "i1"], "g1", axis=2),
        node("Mul", [p + "g0", p + "w0"], "p0"),
        node("Mul", [p + "g1", p + "w1"], "p1"),
        helper.make_node("Add", [p + "p0", p + "p1"], [out], name=p + "out"),
    ]
