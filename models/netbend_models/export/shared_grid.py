"""Graph pass: one sampling grid for a spatial stage whose selected channels share one transform.

ONNX Runtime's CPU GridSample spends most of its time per grid point, not per sampled channel
(ORT 1.31, one 64x257 map per grid vs eight maps on one grid: 1.8 ms vs 0.4 ms for eight maps).
The spatial stages (translate, scale, rotate; bend/affine.py) sample each selected map on its own
grid, [K, B, H, W] with K grids, because every channel may have its own parameters. A config
entry, though, applies one parameter set to all the channels it selects, so most stages run K
copies of the same grid.

This pass wraps each spatial stage's AffineGrid + GridSample in `If (every theta equals theta[0])`:
the then branch samples all K * B maps as the channels of one image on theta[0]'s grid; the else
branch is the original per-channel sampling. Equal thetas give equal grids (AffineGrid computes
every grid from its own theta the same way), so the two branches give the same result; the
branch only changes the cost. Stages whose channels carry different parameters take the else
branch. The pass runs before neutral_skip, and names its nodes with the stage's prefix so that
they move into the stage's If (K > 0) with the rest of the stage.

On large maps the shared branch of the axis-aligned stages (translate, scale) samples one axis
after the other instead (separable_sample.py), which is cheaper still; rotate keeps the 2-D grid.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .separable_sample import SEPARABLE_MIN_POINTS, separable_sample_nodes

SPATIAL_STAGES = ("translate", "scale", "rotate")
AXIS_ALIGNED_STAGES = ("translate", "scale")  # source row from the row alone, column from the column


def _only(nodes: list, op_type: str, prefix: str):
    found = [n for n in nodes if n.op_type == op_type and n.name.startswith(prefix)]
    if len(found) != 1:
        raise ValueError(f"expected one {op_type} in bend stage {prefix}, found {len(found)}: "
                         "the exporter's node names or the stage changed")
    return found[0]


def share_grid(graph: onnx.GraphProto, prefix: str, separable: tuple[int, int] | None = None) -> None:
    """Wrap the stage `prefix`'s AffineGrid + GridSample (its only ones) as described above;
    separable = (H, W) samples the shared branch axis by axis (an axis-aligned stage on H x W maps)."""
    nodes = list(graph.node)
    grid_node = _only(nodes, "AffineGrid", prefix)
    sample = _only(nodes, "GridSample", prefix)
    theta, size = grid_node.input
    maps, grid = sample.input
    if grid != grid_node.output[0]:
        raise ValueError(f"bend stage {prefix}: GridSample does not read the AffineGrid's grid")
    out = sample.output[0]
    p = f"{prefix}shared/"

    def const(name, value):
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), p + name))
        return p + name

    first = const("first", np.array([0], np.int64))
    zero = const("zero", np.array(0, np.float32))
    test = [
        helper.make_node("Gather", [theta, first], [p + "theta0"], axis=0, name=p + "Gather"),
        helper.make_node("Sub", [theta, p + "theta0"], [p + "diff"], name=p + "Sub"),
        helper.make_node("Abs", [p + "diff"], [p + "abs"], name=p + "Abs"),
        helper.make_node("ReduceMax", [p + "abs"], [p + "max"], keepdims=0, name=p + "ReduceMax"),
        # NaN parameters compare unequal: the per-channel branch, as before this pass
        helper.make_node("Equal", [p + "max", zero], [p + "same"], name=p + "Equal"),
    ]
    attrs = {a.name: helper.get_attribute_value(a) for a in sample.attribute}
    grid_attrs = {a.name: helper.get_attribute_value(a) for a in grid_node.attribute}
    then_out, else_out = f"{out}.shared", f"{out}.per_channel"
    if separable is not None:
        shared = separable_sample_nodes(graph, p + "separable/", maps, p + "theta0", size, then_out,
                                        *separable, grid_attrs, attrs)
    else:
        # [1, K * B, H, W]: Reshape's 0 copies the input's H and W
        one_image = const("one_image", np.array([1, -1, 0, 0], np.int64))
        shared = [
            helper.make_node("Reshape", [maps, one_image], [p + "image"], name=p + "then/Reshape"),
            helper.make_node("Shape", [p + "image"], [p + "image_size"], name=p + "then/Shape"),
            helper.make_node("AffineGrid", [p + "theta0", p + "image_size"], [p + "grid"],
                             name=p + "then/AffineGrid", **grid_attrs),
            helper.make_node("GridSample", [p + "image", p + "grid"], [p + "sampled"], name=p + "then/GridSample",
                             **attrs),
            helper.make_node("Reshape", [p + "sampled", size], [then_out], name=p + "then/Reshape_back"),
        ]
    sample.output[0] = else_out
    value = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)  # noqa: E731
    branch = helper.make_node(
        "If", [p + "same"], [out], name=p + "If",
        then_branch=helper.make_graph(shared, p + "then", [], [value(then_out)]),
        else_branch=helper.make_graph([grid_node, sample], p + "else", [], [value(else_out)]))
    at = nodes.index(sample)
    rebuilt = [n for n in nodes[:at] if n is not grid_node] + test + [branch] + nodes[at + 1:]
    graph.ClearField("node")
    graph.node.extend(rebuilt)


def share_grids(model: onnx.ModelProto, stages: list[tuple[str, str, int, int]]) -> onnx.ModelProto:
    """stages: [(node name prefix of a spatial stage, its stage name, map height, map width)]."""
    for prefix, stage, height, width in stages:
        separable = stage in AXIS_ALIGNED_STAGES and height * width >= SEPARABLE_MIN_POINTS
        share_grid(model.graph, prefix, (height, width) if separable else None)
    return model
