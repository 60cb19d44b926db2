"""Graph pass: skip bend work that has nothing to do (K = 0) with ONNX `If` nodes.

A traced bend block is ~580 small ONNX nodes. With every K = 0 they compute on empty tensors and
the result is exact, but ONNX Runtime still pays a fixed cost per node, which made a neutral bend
graph ~35 % slower than the unbent model (models/README.md, "Bend graph"). This pass moves

- each stage's nodes into the `then` branch of an `If (K > 0)` whose `else` branch is Identity, and
- each block's nodes (its transposes and its stage Ifs) into an `If (any K > 0)` likewise,

so that a neutral block costs a few Shape/Greater nodes and one If, and an active block only runs
its active stages. The `else` branch passes the input tensor itself, so neutral stays bit-exact.

It relies on the TorchScript exporter's node names, which carry the module path
(`/blocks.0/stages.3/GridSample`); `wrap_in_if` checks that every group it moves has exactly one
tensor used outside it and fails loudly otherwise.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

ZERO = "netbend.zero_int64"


def _condition(graph: onnx.GraphProto, prefix: str, idx_inputs: list[str]) -> tuple[list, str]:
    """Nodes computing `sum of len(idx) > 0` as a one-element bool tensor."""
    nodes, shapes = [], []
    for n, name in enumerate(idx_inputs):
        shapes.append(f"{prefix}cond_shape_{n}")
        nodes.append(helper.make_node("Shape", [name], [shapes[-1]], name=f"{prefix}cond/Shape_{n}"))
    total = shapes[0]
    if len(shapes) > 1:
        total = f"{prefix}cond_k"
        nodes.append(helper.make_node("Concat", shapes, [f"{prefix}cond_all"], axis=0, name=f"{prefix}cond/Concat"))
        nodes.append(helper.make_node("ReduceSum", [f"{prefix}cond_all"], [total], keepdims=1,
                                      name=f"{prefix}cond/ReduceSum"))
    cond = f"{prefix}cond"
    nodes.append(helper.make_node("Greater", [total, ZERO], [cond], name=f"{prefix}cond/Greater"))
    return nodes, cond


def wrap_in_if(graph: onnx.GraphProto, prefix: str, idx_inputs: list[str], data_input) -> None:
    """Move the nodes named `prefix...` into `If (any idx non-empty) then <them> else Identity(data)`.

    data_input(group_nodes) -> name of the tensor the group would pass through unchanged."""
    nodes = list(graph.node)
    group = [n for n in nodes if n.name.startswith(prefix)]
    if not group:
        raise ValueError(f"no ONNX nodes named {prefix}*: the exporter's node names changed")
    in_group = {id(n) for n in group}
    produced = {o for n in group for o in n.output}
    used_outside = {i for n in nodes if id(n) not in in_group for i in n.input} | {o.name for o in graph.output}
    escaping = produced & used_outside
    if len(escaping) != 1:
        raise ValueError(f"nodes {prefix}* must have exactly one output used outside them, found {sorted(escaping)}")
    out = escaping.pop()
    data = data_input(group)

    then_out, else_out = f"{out}.then", f"{out}.else"
    for n in group:
        n.output[:] = [then_out if o == out else o for o in n.output]
    then_branch = helper.make_graph(group, f"{prefix}then", [],
                                    [helper.make_tensor_value_info(then_out, TensorProto.FLOAT, None)])
    else_branch = helper.make_graph([helper.make_node("Identity", [data], [else_out], name=f"{prefix}else/Identity")],
                                    f"{prefix}else", [],
                                    [helper.make_tensor_value_info(else_out, TensorProto.FLOAT, None)])
    cond_nodes, cond = _condition(graph, prefix, idx_inputs)
    if_node = helper.make_node("If", [cond], [out], name=f"{prefix}If", then_branch=then_branch,
                               else_branch=else_branch)
    # The If goes where the group's last node was: every tensor it reads is produced before that.
    last = max(i for i, n in enumerate(nodes) if id(n) in in_group)
    rebuilt = [n for n in nodes[:last] if id(n) not in in_group] + cond_nodes + [if_node] + \
        [n for n in nodes[last + 1:] if id(n) not in in_group]
    graph.ClearField("node")
    graph.node.extend(rebuilt)
    kept = [v for v in graph.value_info if v.name not in produced]
    graph.ClearField("value_info")
    graph.value_info.extend(kept)


def _scatter_data(group):
    """A stage writes back with ScatterND(data=stage input, ...): its data input is the pass-through."""
    scatters = [n for n in group if n.op_type == "ScatterND"]
    if len(scatters) != 1:
        raise ValueError(f"expected one ScatterND in a bend stage, found {len(scatters)}")
    return scatters[0].input[0]


def _first_input(group):
    """A block starts by transposing its input: that input is the pass-through."""
    transposes = [n for n in group if n.op_type == "Transpose"]
    if not transposes:
        raise ValueError("expected a bend block to start with a Transpose, found none")
    return transposes[0].input[0]


def skip_neutral_work(model: onnx.ModelProto, blocks: list[tuple[str, list[tuple[int, str]]]]) -> onnx.ModelProto:
    """blocks: [(node name prefix of the block, [(stage number, idx input name), ...])]."""
    graph = model.graph
    if ZERO not in {i.name for i in graph.initializer}:
        graph.initializer.append(helper.make_tensor(ZERO, TensorProto.INT64, [1], [0]))
    for block_prefix, stages in blocks:
        for number, idx in stages:
            wrap_in_if(graph, f"{block_prefix}stages.{number}/", [idx], _scatter_data)
        wrap_in_if(graph, block_prefix, [idx for _, idx in stages], _first_input)
    return model
