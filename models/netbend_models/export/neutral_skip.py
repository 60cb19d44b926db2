"""Graph pass: skip bend work that has nothing to do (K = 0) with ONNX `If` nodes.

A traced bend block is ~580 small ONNX nodes. With every K = 0 they compute on empty tensors and
the result is exact, but ONNX Runtime still pays a fixed cost per node, which made a neutral bend
graph ~35 % slower than the unbent model (models/docs/export.md, "Bend graph"). This pass moves

- each stage's transform and blend into the `then` branch of an `If (K > 0)` whose `else` branch
  passes the (empty) selection on, and
- each block's nodes (gather, stage Ifs, write-back) into an `If (any K > 0)` likewise,

so that a neutral block costs a few Shape/Greater nodes and one If, and an active block only runs
its active stages. The `else` branch passes the input tensor itself, so neutral stays bit-exact.

It relies on the TorchScript exporter's node names, which carry the module path
(`/blocks.0/stages.3/GridSample`); every group it moves is checked to have exactly one tensor used
outside it, and the pass fails loudly otherwise.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

ZERO = "netbend.zero_int64"
# A stage whose transform and blend are at most this many nodes is not wrapped in an If: an If costs
# about as much to run (~10 us in ONNX Runtime 1.31 here) as a handful of small kernels on empty
# tensors, and costs that on top when the stage is active. Those are shuffle, the flips and the
# pointwise stages; the spatial and morphology stages (12-30 nodes) keep their If.
SMALL_STAGE_NODES = 8


def _condition(prefix: str, shapes: list[str] | None = None, idx_inputs: list[str] | None = None) -> tuple[list, str]:
    """Nodes computing `K > 0` as a one-element bool tensor: from the [1] shape of one idx
    (shapes), or for a whole block from Shape(Concat(every idx)) (idx_inputs), the total count in
    two small nodes (a ReduceSum over the stages' shapes was slower in profiles)."""
    nodes = []
    if idx_inputs is not None:
        nodes.append(helper.make_node("Concat", idx_inputs, [f"{prefix}cond_all"], axis=0, name=f"{prefix}cond/Concat"))
        nodes.append(helper.make_node("Shape", [f"{prefix}cond_all"], [f"{prefix}cond_k"], name=f"{prefix}cond/Shape"))
        total = f"{prefix}cond_k"
    elif shapes is not None and len(shapes) == 1:
        total = shapes[0]
    else:
        raise ValueError(f"{prefix}: a condition needs one idx shape or the block's idx inputs")
    cond = f"{prefix}cond"
    nodes.append(helper.make_node("Greater", [total, ZERO], [cond], name=f"{prefix}cond/Greater"))
    return nodes, cond


def wrap_in_if(graph: onnx.GraphProto, prefix: str, group: list, passthrough: str,
               shapes: list[str] | None = None, idx_inputs: list[str] | None = None) -> None:
    """Move `group` (nodes of graph) into `If (K > 0) then <group> else Identity(passthrough)`;
    K from `shapes` or `idx_inputs` as in _condition.

    The group must have exactly one output used outside it; the If takes over that name."""
    nodes = list(graph.node)
    in_group = {id(n) for n in group}
    used_outside = {i for n in nodes if id(n) not in in_group for i in n.input} | {o.name for o in graph.output}
    # The TorchScript exporter deduplicates equal constants across the whole graph, so a scalar
    # traced inside a block can also feed nodes elsewhere (seen in the StyleGAN2 decoder: a
    # block's int64 6 was the index of a w+ row). Such a Constant stays in the outer graph,
    # where the If's branches still see it.
    group = [n for n in group if not (n.op_type == "Constant" and set(n.output) & used_outside)]
    in_group = {id(n) for n in group}
    produced = {o for n in group for o in n.output}
    escaping = produced & used_outside
    if len(escaping) != 1:
        raise ValueError(f"nodes {prefix}* must have exactly one output used outside them, found {sorted(escaping)}")
    out = escaping.pop()

    then_out, else_out = f"{out}.then", f"{out}.else"
    for n in group:
        n.output[:] = [then_out if o == out else o for o in n.output]
    then_branch = helper.make_graph(group, f"{prefix}then", [],
                                    [helper.make_tensor_value_info(then_out, TensorProto.FLOAT, None)])
    else_branch = helper.make_graph(
        [helper.make_node("Identity", [passthrough], [else_out], name=f"{prefix}else/Identity")],
        f"{prefix}else", [], [helper.make_tensor_value_info(else_out, TensorProto.FLOAT, None)])
    cond_nodes, cond = _condition(prefix, shapes, idx_inputs)
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


def named(graph: onnx.GraphProto, prefix: str) -> list:
    group = [n for n in graph.node if n.name.startswith(prefix)]
    if not group:
        raise ValueError(f"no ONNX nodes named {prefix}*: the exporter's node names changed")
    return group


def wrap_stage(graph: onnx.GraphProto, prefix: str, idx_shape: str) -> None:
    """A stage is GatherND(x, rows) -> transform and blend -> ScatterND(x, rows, blended) (x: the
    block's working copy of the touched channels, rows: [K, 1] positions in it). The If tests the
    shape of the stage's own graph input idx (idx_shape).

    Only the middle goes into the If; its else passes the (empty) gathered maps on. GatherND and
    ScatterND stay outside, so the If outputs just the K blended maps rather than a copy of x."""
    group = named(graph, prefix)
    scatters = [n for n in group if n.op_type == "ScatterND"]
    if len(scatters) != 1:
        raise ValueError(f"expected one ScatterND in bend stage {prefix}, found {len(scatters)}")
    scatter = scatters[0]
    data, rows = scatter.input[0], scatter.input[1]
    gathers = [n for n in group if n.op_type == "GatherND" and list(n.input) == [data, rows]]
    if len(gathers) != 1:
        raise ValueError(f"bend stage {prefix}: expected one GatherND({data}, {rows})")
    outside = {id(scatter), id(gathers[0])}
    body = [n for n in group if id(n) not in outside]
    if sum(n.op_type != "Constant" for n in body) <= SMALL_STAGE_NODES:
        return
    wrap_in_if(graph, prefix, body, gathers[0].output[0], shapes=[idx_shape])


def wrap_block(graph: onnx.GraphProto, prefix: str, idx_inputs: list[str]) -> None:
    """A block is Gather (touched maps) -> stages -> ScatterND into its input x; x is the
    pass-through (the block-level ScatterND's data input)."""
    group = named(graph, prefix)
    stage_prefix = f"{prefix}stages."
    scatters = [n for n in group if n.op_type == "ScatterND" and not n.name.startswith(stage_prefix)]
    if len(scatters) != 1:
        raise ValueError(f"expected bend block {prefix} to end with one ScatterND, found {len(scatters)}")
    wrap_in_if(graph, prefix, group, scatters[0].input[0], idx_inputs=idx_inputs)


def share_shapes(graph: onnx.GraphProto, names: list[str], prefix: str) -> dict[str, str]:
    """One Shape node per name at the top of the graph; every other Shape of the same name in the
    graph is removed and its uses read the shared one (subgraphs may read outer values). The
    traced block takes Shape(idx) of every stage for its Split, and the conditions need them again:
    one node each instead of three."""
    shared, nodes = {}, []
    for n, name in enumerate(names):
        shared[name] = f"{prefix}K_{n}"
        # named inside the block: only the block's nodes read them, so they move into its If
        nodes.append(helper.make_node("Shape", [name], [shared[name]], name=f"{prefix}K/Shape_{n}"))
    renamed = {}
    kept = []
    for node in graph.node:
        if node.op_type == "Shape" and node.input[0] in shared and not node.attribute:
            renamed[node.output[0]] = shared[node.input[0]]
        else:
            kept.append(node)
    for node in kept:
        node.input[:] = [renamed.get(i, i) for i in node.input]
    graph.ClearField("node")
    graph.node.extend(nodes + kept)
    return shared


def skip_neutral_work(model: onnx.ModelProto, blocks: list[tuple[str, list[tuple[int, str]]]]) -> onnx.ModelProto:
    """blocks: [(node name prefix of the block, [(stage number, idx input name), ...])]."""
    graph = model.graph
    if ZERO not in {i.name for i in graph.initializer}:
        graph.initializer.append(helper.make_tensor(ZERO, TensorProto.INT64, [1], [0]))
    for block_prefix, stages in blocks:
        shapes = share_shapes(graph, [idx for _, idx in stages], block_prefix)
        for number, idx in stages:
            wrap_stage(graph, f"{block_prefix}stages.{number}/", shapes[idx])
        wrap_block(graph, block_prefix, [idx for _, idx in stages])
    return model
