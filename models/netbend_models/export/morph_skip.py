"""Graph pass: compute the radius-3 disk of erode/dilate only when some selected channel needs it.

The morphology stages (bend.MorphologyStage) compute the dilations by the disks of radius 1, 2 and
3 in one chain and pick one per channel: Where(r == 3, r3, Where(r == 2, r2, r1)). The radius-3
part (two 1-D pools and a 5x5 pool of the maps, two Max, the outer Equal and Where) is about half
of the stage's work on the maps. This pass moves exactly the nodes that only feed that outer
Where into `If (max r == 3)`; the else branch passes Where(r == 2, r2, r1) on, which is what the
outer Where returns when no radius is 3. Same values either way, bit for bit.

Runs before neutral_skip, and names its nodes with the stage's prefix, so they move into the
stage's If (K > 0) with the rest of the stage.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MORPHOLOGY_STAGES = ("erode", "dilate")


def _constant_value(nodes: list, name: str):
    for n in nodes:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    return None


def skip_radius_three(graph: onnx.GraphProto, prefix: str) -> None:
    nodes = list(graph.node)
    stage = [n for n in nodes if n.name.startswith(prefix)]
    producer = {o: n for n in nodes for o in n.output}
    consumers: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    for o in graph.output:
        consumers.setdefault(o.name, []).append(None)

    wheres = [n for n in stage if n.op_type == "Where"]
    outer = [w for w in wheres if not any(c in wheres for c in consumers.get(w.output[0], []))]
    if len(wheres) != 2 or len(outer) != 1:
        raise ValueError(f"bend stage {prefix}: expected the radius choice as two nested Where nodes")
    outer = outer[0]
    inner = producer.get(outer.input[2])
    equal = producer.get(outer.input[0])
    if inner not in wheres or equal is None or equal.op_type != "Equal" or \
            _constant_value(nodes, equal.input[1]) != 3:
        raise ValueError(f"bend stage {prefix}: the outer Where is not Where(r == 3, r3, ...)")

    # Backward closure from the outer Where over nodes whose outputs feed only the closure; the
    # inner Where (the else value) stays outside.
    moved = [outer]
    grew = True
    while grew:
        grew = False
        for n in list(moved):
            for t in n.input:
                p = producer.get(t)
                if p is None or p in moved or p is inner or not p.name.startswith(prefix):
                    continue
                if all(c in moved for o in p.output for c in consumers.get(o, [])):
                    moved.append(p)
                    grew = True

    p = f"{prefix}radius3/"
    three = p + "three"
    graph.initializer.append(numpy_helper.from_array(np.array(3.0, np.float32), three))
    test = [helper.make_node("ReduceMax", [equal.input[0]], [p + "max"], keepdims=0, name=p + "ReduceMax"),
            helper.make_node("Equal", [p + "max", three], [p + "any"], name=p + "Equal")]
    out = outer.output[0]
    then_out, else_out = f"{out}.radius3", f"{out}.radius12"
    outer.output[0] = then_out
    value = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, None)  # noqa: E731
    order = [n for n in nodes if any(n is m for m in moved)]  # keep the graph's topological order
    branch = helper.make_node(
        "If", [p + "any"], [out], name=p + "If",
        then_branch=helper.make_graph(order, p + "then", [], [value(then_out)]),
        else_branch=helper.make_graph([helper.make_node("Identity", [inner.output[0]], [else_out],
                                                        name=p + "else/Identity")],
                                      p + "else", [], [value(else_out)]))
    rest = [n for n in nodes if not any(n is m for m in moved)]
    # The If goes after the last node producing something it reads (the inner Where, the radius,
    # the inputs of the moved nodes), which is before the first reader of the outer Where.
    needed = {i for m in moved for i in m.input} | {inner.output[0], equal.input[0]}
    cut = max((i for i, n in enumerate(rest) if set(n.output) & needed), default=-1) + 1
    graph.ClearField("node")
    graph.node.extend(rest[:cut] + test + [branch] + rest[cut:])


def skip_radius_three_everywhere(model: onnx.ModelProto, stage_prefixes: list[str]) -> onnx.ModelProto:
    for prefix in stage_prefixes:
        skip_radius_three(model.graph, prefix)
    return model
