"""Rebuild a train.py checkpoint from an exported spectrogram VAE model directory.

Training checkpoints (models/runs/, gitignored) do not survive from one machine to the next, while
the shipped paper-configuration model (models/vae-paper/, --arch vector) does. This turns a model directory back into a `last.pt` that
`python -m netbend_models.vae.train --resume` continues from:

    python -m netbend_models.vae.rebuild_checkpoint --model-dir vae-paper/ --data data/ --out runs/default/last.pt

What the ONNX files keep and what has to be recovered:
- decoder.onnx keeps every decoder parameter under its PyTorch name, batch-norm running statistics
  included (the bend blocks sit between the layers, so the exporter cannot fold batch norm into the
  transposed convolutions): copied as they are.
- encoder.onnx has batch norm folded into each Conv (weight and bias scaled by gamma / sigma, the
  statistics gone). The rebuilt encoder takes the folded Conv as its convolution and a batch norm
  that is the identity on the data: running mean mu and variance var measured per channel on the
  given windows (in layer order, each through the layers before it), weight sqrt(var + eps) and
  bias mu. In eval mode that batch norm returns its input (up to rounding), so the rebuilt model
  computes what the ONNX files compute; in training mode it normalises by the batch's own
  statistics, which on data like the windows it was measured on are close to mu and var, so
  training resumes where it stopped rather than from a jolt.
- The spatial model (manifest `latent_shape`; the default) has the same encoder layout and a
  decoder stage 1 of Conv + batch norm, which the exporter folds like the encoder's: it is
  rebuilt the same way, its batch norm made the identity on the encoder's mu of the windows.
- Adam's moments are not in the model. With the paper's betas (0, 0.99) Adam keeps no first moment
  at all, and the second moment forgets with a time constant of ~100 steps: a fresh optimiser state
  costs little. Epoch and step come from the manifest's training record.

Before writing, the rebuilt model is checked against the model directory itself (encoder `mu` and
the decoder's spectrogram with every bend neutral, run by onnxruntime); a directory whose graphs
are not this architecture is refused with the mismatch named.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from ..bend.inputs import neutral_bend_inputs
from ..cli import parse_args_with_threads, run_tool
from .train import RECIPES, load_split, synthetic_windows
from .model import DECODER_CHANNELS, STEM_SHAPE, SpatialSpectrogramVAE, SpectrogramVAE

# Largest |rebuilt - ONNX| accepted, in normalised units (values in [0, 1] for the spectrogram;
# mu is unbounded but of order 1). Float32 rounding of the folded batch norm stays far below.
TOLERANCE = 1e-3


def read_manifest(model_dir: Path) -> dict:
    path = model_dir / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{model_dir}: not a Netbend model directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if manifest.get("format") != "netbend-model" or manifest.get("kind") != "spectrogram-vae":
        raise ValueError(f"{path}: format {manifest.get('format')!r}, kind {manifest.get('kind')!r}; "
                         "only a netbend-model of kind 'spectrogram-vae' can be rebuilt into a checkpoint")
    return manifest


def initializers(path: Path) -> tuple[onnx.GraphProto, dict[str, np.ndarray]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing")
    graph = onnx.load(str(path)).graph
    return graph, {i.name: numpy_helper.to_array(i) for i in graph.initializer}


def width_of(manifest: dict, decoder_params: dict[str, np.ndarray], path: Path) -> float:
    """The width multiplier: the paper model's stem Linear has C0 * 4 * 17 outputs; the spatial
    model's stage 2 (a ConvTranspose2d, never folded) takes layer 1's C0 channels; C0 = 512 * width."""
    stem = decoder_params.get("decoder.stem.fc.weight")
    stage2 = decoder_params.get("decoder.stages.1.0.weight")
    if stem is not None:
        c0 = stem.shape[0] // (STEM_SHAPE[0] * STEM_SHAPE[1])
    elif manifest.get("latent_shape") and stage2 is not None and stage2.ndim == 4:
        c0 = stage2.shape[0]
    else:
        raise ValueError(f"{path}: neither 'decoder.stem.fc.weight' nor, with a latent_shape, "
                         "'decoder.stages.1.0.weight'; not a Netbend VAE decoder")
    width = c0 / DECODER_CHANNELS[0]
    recorded = manifest.get("training", {}).get("model", {}).get("width")
    if recorded is not None and abs(recorded - width) > 1e-9:
        raise ValueError(f"{path}: the stem has {c0} channels (width {width}), the manifest records width {recorded}")
    return width


def folds_decoder_stem(model: nn.Module) -> bool:
    """The spatial decoder's stage 1 is a Conv2d + BatchNorm, which the exporter folds into one
    Conv (the paper's stage 1 is a ConvTranspose2d, which it leaves alone)."""
    return model.arch == "spatial"


def load_decoder(model: SpectrogramVAE, graph: onnx.GraphProto, params: dict[str, np.ndarray], path: Path) -> None:
    state = model.decoder.state_dict()
    folded = folds_decoder_stem(model)
    for name in state:
        if name.endswith("num_batches_tracked"):
            continue  # not exported; only used when momentum is None
        if folded and name.startswith("stages.0."):
            continue  # the folded Conv, below
        stored = params.get(f"decoder.{name}")
        if stored is None:
            raise ValueError(f"{path}: no initializer 'decoder.{name}' (the decoder is not this architecture)")
        if tuple(stored.shape) != tuple(state[name].shape):
            raise ValueError(f"{path}: 'decoder.{name}' has shape {list(stored.shape)}, expected {list(state[name].shape)}")
        state[name] = torch.from_numpy(stored.copy())
    model.decoder.load_state_dict(state)
    if folded:
        load_conv(model.decoder.stages[0][0], next((n for n in graph.node if n.op_type == "Conv"), None), params,
                  path, "the decoder's stage-1 Conv")


def load_conv(conv: nn.Conv2d, node, params: dict[str, np.ndarray], path: Path, what: str) -> None:
    """A folded ONNX Conv's constant weight and bias onto `conv`."""
    if node is None or len(node.input) != 3 or node.input[1] not in params or node.input[2] not in params:
        raise ValueError(f"{path}: {what} has no constant weight and bias")
    weight, bias = params[node.input[1]], params[node.input[2]]
    if tuple(weight.shape) != tuple(conv.weight.shape):
        raise ValueError(f"{path}: {what} weight {list(weight.shape)}, expected {list(conv.weight.shape)}")
    conv.weight.data.copy_(torch.from_numpy(weight.copy()))
    conv.bias.data.copy_(torch.from_numpy(bias.copy()))


def load_encoder_convs(model: SpectrogramVAE, graph: onnx.GraphProto, params: dict[str, np.ndarray], path: Path) -> None:
    """The folded Conv weights in graph order onto the encoder's Conv2d modules, and to_latent."""
    convs = [m for m in model.encoder.convs if isinstance(m, nn.Conv2d)]
    # The spatial encoder's to_latent is a Conv too; it keeps its own initializer names.
    nodes = [n for n in graph.node if n.op_type == "Conv" and not n.input[1].startswith("to_latent.")]
    if len(nodes) != len(convs):
        raise ValueError(f"{path}: {len(nodes)} Conv nodes, the encoder has {len(convs)}")
    for k, (node, conv) in enumerate(zip(nodes, convs)):
        load_conv(conv, node, params, path, f"Conv {k + 1} ({node.name})")
    for name in ("weight", "bias"):
        stored = params.get(f"to_latent.{name}")
        target = getattr(model.encoder.to_latent, name)
        if stored is None or tuple(stored.shape) != tuple(target.shape):
            raise ValueError(f"{path}: initializer 'to_latent.{name}' missing or not of shape {list(target.shape)}")
        target.data.copy_(torch.from_numpy(stored.copy()))


@torch.no_grad()
def make_identity(norm: nn.BatchNorm2d, inputs) -> None:
    """`norm` becomes the identity on the batches `inputs` yields (module docstring)."""
    total = torch.zeros(norm.num_features, dtype=torch.float64)
    square = torch.zeros_like(total)
    count = 0
    for y in inputs:
        y = y.double()
        total += y.sum(dim=(0, 2, 3))
        square += (y * y).sum(dim=(0, 2, 3))
        count += y.shape[0] * y.shape[2] * y.shape[3]
    mean = total / count
    var = (square / count - mean * mean).clamp_min(0.0)
    norm.running_mean.copy_(mean.float())
    norm.running_var.copy_(var.float())
    norm.weight.copy_(torch.sqrt(var + norm.eps).float())
    norm.bias.copy_(mean.float())


@torch.no_grad()
def fit_identity_batch_norms(model: SpectrogramVAE, windows: torch.Tensor, batch: int = 32) -> None:
    """Each folded batch norm becomes the identity on `windows` (module docstring), layer by layer:
    the encoder's, then the spatial decoder's stage-1 one (on the encoder's mu of the windows)."""
    layers = list(model.encoder.convs)

    def through(upto: int):
        for i in range(0, len(windows), batch):
            y = windows[i:i + batch].float()
            for earlier in layers[:upto]:
                y = earlier(y)  # the batch norms before are already the identity (eval mode)
            yield y

    for k, layer in enumerate(layers):
        if isinstance(layer, nn.BatchNorm2d):
            make_identity(layer, through(k))
    if folds_decoder_stem(model):
        stem, conv = model.decoder.stem, model.decoder.stages[0][0]
        make_identity(model.decoder.stages[0][1],
                      (conv(stem(model.encoder(windows[i:i + batch].float())[0]))
                       for i in range(0, len(windows), batch)))


@torch.no_grad()
def mismatch(model: SpectrogramVAE, model_dir: Path, layers: list[dict], windows: torch.Tensor) -> dict[str, float]:
    """Largest |rebuilt - ONNX| of mu and of the decoded spectrogram (every bend neutral; `layers`:
    the manifest's) on `windows`."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    encoder = ort.InferenceSession(str(model_dir / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
    decoder = ort.InferenceSession(str(model_dir / "decoder.onnx"), options, providers=["CPUExecutionProvider"])
    x = windows.float()
    mu_onnx = encoder.run(["mu"], {"spectrogram": x.numpy()})[0]
    spec_onnx = decoder.run(["spectrogram"], {"z": mu_onnx, **neutral_bend_inputs(layers)})[0]
    model.eval()
    mu, _ = model.encoder(x)
    spec = model.decoder(torch.from_numpy(mu_onnx))
    return {"mu": float(np.abs(mu.numpy() - mu_onnx).max()), "spectrogram": float(np.abs(spec.numpy() - spec_onnx).max())}


def rebuild(model_dir: Path, windows: torch.Tensor) -> tuple[SpectrogramVAE, dict]:
    """(model in eval mode, checkpoint dict for train.py --resume)."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    decoder_graph_path = model_dir / manifest["graphs"]["decoder"]["file"]
    encoder_graph_path = model_dir / manifest["graphs"]["encoder"]["file"]
    decoder_graph, decoder_params = initializers(decoder_graph_path)
    encoder_graph, encoder_params = initializers(encoder_graph_path)
    width = width_of(manifest, decoder_params, decoder_graph_path)
    # The manifest's latent_shape [C, 8, 33] marks the spatial latent (docs/model-manifest.md).
    shape = manifest.get("latent_shape")
    if shape:
        model = SpatialSpectrogramVAE(width=width, latent_channels=int(shape[0]))
    else:
        model = SpectrogramVAE(width=width, latent_dim=int(manifest["latent_dim"]))
    load_decoder(model, decoder_graph, decoder_params, decoder_graph_path)
    load_encoder_convs(model, encoder_graph, encoder_params, encoder_graph_path)
    model.eval()
    fit_identity_batch_norms(model, windows)
    check = windows[np.linspace(0, len(windows) - 1, min(8, len(windows))).astype(int)]
    errors = mismatch(model, model_dir, manifest["layers"], check)
    if max(errors.values()) > TOLERANCE:
        raise ValueError(f"{model_dir}: the rebuilt model differs from its ONNX graphs (max |difference| "
                         f"{errors}, tolerance {TOLERANCE}); the directory is not this architecture")
    record = manifest.get("training", {}).get("model", {})
    _, lr, betas, _ = RECIPES[model.arch]
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)  # as train.py makes it
    checkpoint = {"config": model.config(), "model": model.state_dict(), "optimizer": optimiser.state_dict(),
                  "epoch": int(record.get("epoch") or 0), "step": int(record.get("step") or 0), "history": [],
                  "rebuilt_from": {"model_dir": str(model_dir), "name": manifest.get("name"),
                                   "batch_norm_windows": len(windows), "max_difference": errors}}
    return model, checkpoint


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-dir", type=Path, required=True, help="exported model directory (e.g. vae/)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="dataset folder (netbend_models.data.dataset): batch-norm statistics "
                                                  "from its training split")
    source.add_argument("--synthetic", type=int, help="N synthetic windows instead (tests)")
    p.add_argument("--windows", type=int, default=1024, help="windows, evenly spaced over the split, to measure on")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write (e.g. runs/default/last.pt)")
    p.add_argument("--force", action="store_true", help="replace an existing --out")
    args = parse_args_with_threads(p, argv, default_threads=2)
    if args.out.exists() and not args.force:
        p.error(f"{args.out} exists; pass --force to replace it")
    if args.data is not None:
        split = load_split(args.data, "train")
        pick = np.linspace(0, len(split) - 1, min(args.windows, len(split))).astype(int)
        windows = split[torch.from_numpy(pick)]
    else:
        windows = synthetic_windows(args.synthetic)
    _, checkpoint = rebuild(args.model_dir, windows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    torch.save(checkpoint, tmp)
    tmp.replace(args.out)
    print(f"wrote {args.out}: width {checkpoint['config']['width']}, epoch {checkpoint['epoch']}, "
          f"step {checkpoint['step']}; max |rebuilt - ONNX| {checkpoint['rebuilt_from']['max_difference']}")


if __name__ == "__main__":
    run_tool(main)
