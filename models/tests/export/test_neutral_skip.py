"""The neutral_skip graph pass: structure of what it writes, and a loud failure when the exported
node names do not have the shape it relies on."""
import onnx
import pytest
from onnx import TensorProto, helper

from netbend_models.export.neutral_skip import skip_neutral_work, wrap_in_if


def test_exported_decoder_has_one_if_per_block_and_per_large_stage(tiny_vae):
    """Every block in an If; inside, the stages with large bodies (translate, scale, rotate, erode,
    dilate: block order 1, 2, 3, 6, 7) in their own If, the small ones unwrapped."""
    _, out = tiny_vae
    graph = onnx.load(str(out / "decoder.onnx")).graph
    block_ifs = [n for n in graph.node if n.op_type == "If"]
    assert [n.name for n in block_ifs] == [f"/blocks.{i}/If" for i in range(4)]
    for i, block in enumerate(block_ifs):
        then_branch = next(a.g for a in block.attribute if a.name == "then_branch")
        assert [n.name for n in then_branch.node if n.op_type == "If"] == \
            [f"/blocks.{i}/stages.{s}/If" for s in (1, 2, 3, 6, 7)]
        # one write-back per stage into the block's working copy, one into the activation
        assert sum(n.op_type == "ScatterND" for n in then_branch.node) == 15


def test_group_with_two_escaping_outputs_is_refused():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="/g/Relu"),
             helper.make_node("Neg", ["a"], ["b"], name="/g/Neg"),
             helper.make_node("Add", ["a", "b"], ["y"], name="/out/Add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    with pytest.raises(ValueError, match="exactly one output"):
        wrap_in_if(graph, "/g/", nodes[:2], "x", shapes=["x"])


def test_missing_block_names_are_reported():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="/other/Relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    with pytest.raises(ValueError, match="node names changed"):
        skip_neutral_work(helper.make_model(graph), [("/blocks.0/", [(0, "L1.shuffle.idx")])])
