"""What both exporters (vae.py, stylegan2.py) share: tracing a module with bend blocks to ONNX with
either exporter and the graph passes, the bend inputs' example values and dynamic axes, and writing a
model directory atomically."""
from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Callable

import onnx
import torch
from torch import nn

from ..bend.block import STAGE_NAMES, STAGE_PARAM_COUNT, BendBlock, MorphologyStage
from .morph_skip import MORPHOLOGY_STAGES, skip_radius_three_everywhere
from .neutral_skip import skip_neutral_work
from .shared_grid import SPATIAL_STAGES, share_grids

MANIFEST_FORMAT_VERSION = 1
OPSET = 20
EXPORTERS = ("torchscript", "dynamo")


def example_bend_inputs(block: BendBlock) -> list[torch.Tensor]:
    """Valid non-empty bend inputs to trace a block with (K = min(2, C); values don't matter)."""
    k = min(2, block.channels)
    g = torch.Generator().manual_seed(0)
    inputs = []
    for name in block.input_names():
        stage, kind = name.split(".")[1:]
        if kind == "idx":
            inputs.append(torch.arange(k, dtype=torch.int64))
        elif kind == "source":
            inputs.append(torch.arange(k - 1, -1, -1, dtype=torch.int64))
        elif kind == "mix":
            inputs.append(torch.full((k,), 0.5))
        elif kind == "params":
            inputs.append(torch.ones(k, STAGE_PARAM_COUNT[stage]))
        else:  # field
            inputs.append(torch.randn(k, block.height, block.width, generator=g))
    return inputs


def bend_dynamic_axes(names: list[str]) -> dict:
    """K (axis 0) of every bend input is dynamic, one symbol per stage: `L{l}.{stage}.K`."""
    return {name: {0: name.rsplit(".", 1)[0] + ".K"} for name in names}


def onnx_export(module: nn.Module, args: tuple, path: Path, input_names, output_names, dynamic_axes,
                exporter: str = "torchscript", output_shapes: dict | None = None, bend_blocks=None):
    """Export with either exporter; both write one self-contained .onnx file at opset 20.

    output_shapes ({name: [dim, ...]}, a dim an int or a symbol) replaces what the exporter inferred,
    which can be a made-up symbol for a static size (e.g. `Slicemu_dim_1` for mu's 512).
    bend_blocks ([(node name prefix, BendBlock)]): TorchScript graphs get the shared_grid, morph_skip
    and neutral_skip passes (the dynamo exporter names nodes differently; its graphs are measured as
    they come)."""
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown exporter {exporter!r}; allowed: {list(EXPORTERS)}")
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about Python ints taken from shapes; every shape used that way is
        # static (layer sizes), the dynamic ones (B, K) only flow through tensor ops.
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                              input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes)
        else:
            # No neutral_skip pass for this graph: stages run with K = 0, so the pools need their
            # padding map (bend.MorphologyStage.pad_empty).
            for stage in module.modules():
                if isinstance(stage, MorphologyStage):
                    stage.pad_empty = True
            # torch.export names dynamic dims itself and maps them by the forward signature,
            # (first, *rest) for every module exported here.
            dims = [{axis: torch.export.Dim.DYNAMIC for axis in dynamic_axes.get(name, {})}
                    for name in input_names]
            dynamic_shapes = (dims[0],) if len(args) == 1 else (dims[0], tuple(dims[1:]))
            program = torch.onnx.export(module, args, dynamo=True, opset_version=OPSET,
                                        input_names=input_names, output_names=output_names,
                                        dynamic_shapes=dynamic_shapes, optimize=True)
            program.save(str(path), external_data=False)
    model = onnx.load(str(path))
    if output_shapes:
        for output in model.graph.output:
            if output.name in output_shapes:
                set_shape(output, output_shapes[output.name])
    if bend_blocks and exporter == "torchscript":
        share_grids(model, [(f"{prefix}stages.{STAGE_NAMES.index(stage)}/", stage, block.height, block.width)
                            for prefix, block in bend_blocks for stage in SPATIAL_STAGES])
        skip_radius_three_everywhere(model, [f"{prefix}stages.{STAGE_NAMES.index(stage)}/"
                                             for prefix, _ in bend_blocks for stage in MORPHOLOGY_STAGES])
        skip_neutral_work(model, [(prefix, [(s, f"L{block.layer}.{stage}.idx") for s, stage in enumerate(STAGE_NAMES)])
                                  for prefix, block in bend_blocks])
    if output_shapes or bend_blocks:
        onnx.save(model, str(path))
    onnx.checker.check_model(model)
    got_in = [i.name for i in model.graph.input]
    got_out = [o.name for o in model.graph.output]
    if got_in != list(input_names) or got_out != list(output_names):
        raise RuntimeError(f"{path}: exported names differ from the spec: inputs {got_in}, outputs {got_out}")


def set_shape(value_info, dims):
    shape = value_info.type.tensor_type.shape
    shape.ClearField("dim")
    for d in dims:
        if isinstance(d, str):
            shape.dim.add().dim_param = d
        else:
            shape.dim.add().dim_value = int(d)


def export_bend_block(block: BendBlock, path: Path, exporter: str = "torchscript"):
    """One bend block alone (input `x`, output `y`): for testing transforms on arbitrary activations."""
    x = torch.randn(1, block.channels, block.height, block.width)
    names = block.input_names()
    onnx_export(block, (x, *example_bend_inputs(block)), path, ["x", *names], ["y"],
                {"x": {0: "B"}, "y": {0: "B"}, **bend_dynamic_axes(names)}, exporter, bend_blocks=[("/", block)])


def graph_io(path: Path) -> dict:
    model = onnx.load(str(path), load_external_data=False)
    return {"inputs": [i.name for i in model.graph.input], "outputs": [o.name for o in model.graph.output]}


def write_model_directory(out_dir: Path, force: bool, write_graphs: Callable[[Path], dict]) -> Path:
    """Assemble a model directory in a temporary sibling of out_dir and rename it into place, so a
    failed export leaves nothing half-written; returns out_dir. write_graphs(directory) writes the
    graph files into the temporary directory and returns the manifest, which goes to manifest.json.
    Refuses to replace an existing out_dir unless force (then the old one is removed only after the
    new one is complete)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} exists; pass force=True (--force) to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        manifest = write_graphs(tmp)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
