"""Export a trained SpectrogramVAE as a Netbend model directory (docs/bend-graph.md, docs/model-manifest.md).

    python -m netbend_models.export.vae --checkpoint CKPT --out DIR [--name NAME] [--description TEXT]
        [--training PROVENANCE.json] [--force]
    python -m netbend_models.export.vae --random-width W [--seed S] --out DIR ...   (test models)

writes DIR/encoder.onnx, DIR/decoder.onnx (bend blocks after decoder layers 1-4, `act.L{l}`
outputs, every bend input with a dynamic K) and DIR/manifest.json. The directory is assembled in a
temporary sibling and renamed into place, so a failed export leaves nothing half-written.

Exporter: the TorchScript exporter (`dynamo=False`, opset 20). Its bend-graph decoder ran faster
in onnxruntime than the dynamo exporter's (figures in models/docs/export.md, "Bend graph"); `exporter=`
selects either for measurements.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from ..cli import run_tool
from ..bend.block import BEND_INTERFACE_VERSION, STAGES, BendBlock
from ..data import audio
from ..vae import model as vae
from ..vae.model import N_BINS, N_FRAMES, SpectrogramVAE
from .common import (EXPORTERS, MANIFEST_FORMAT_VERSION, bend_dynamic_axes, example_bend_inputs, graph_io,
                     onnx_export, write_model_directory)

BENDABLE_LAYERS = 4  # decoder layers 1-4: the outputs of the first four transposed convolutions


def bendable_layers(model: SpectrogramVAE) -> list[dict]:
    """The manifest's `layers`: index (1-based), module path, channels, height, width, activation."""
    config = model.config()
    layers = []
    for i in range(BENDABLE_LAYERS):
        height, width = config["decoder_resolutions"][i]
        layers.append({"index": i + 1, "name": f"decoder.stages.{i}", "channels": config["decoder_channels"][i],
                       "height": height, "width": width, "activation": f"act.L{i + 1}"})
    return layers


class BentDecoder(nn.Module):
    """The decoder with a bend block after each bendable layer.

    forward(z, *bend_inputs) -> (spectrogram, act.L1, ..., act.L4); bend inputs in the order of
    `input_names()[1:]`. act.L{l} is layer l's activation as it enters its bend block."""

    def __init__(self, model: SpectrogramVAE):
        super().__init__()
        self.decoder = model.decoder
        self.layers = bendable_layers(model)
        self.blocks = nn.ModuleList(
            BendBlock(layer["index"], layer["channels"], layer["height"], layer["width"]) for layer in self.layers)
        self.arity = [len(block.input_names()) for block in self.blocks]

    def input_names(self) -> list[str]:
        return ["z"] + [name for block in self.blocks for name in block.input_names()]

    def output_names(self) -> list[str]:
        return ["spectrogram"] + [layer["activation"] for layer in self.layers]

    def forward(self, z: torch.Tensor, *bend_inputs: torch.Tensor):
        if len(bend_inputs) != sum(self.arity):
            raise ValueError(f"bent decoder takes z and {sum(self.arity)} bend inputs, got {len(bend_inputs)}")
        h = self.decoder.stem(z)
        activations, start = [], 0
        for i, stage in enumerate(self.decoder.stages):
            h = stage(h)
            if i < len(self.blocks):
                activations.append(h)
                h = self.blocks[i](h, *bend_inputs[start:start + self.arity[i]])
                start += self.arity[i]
        return (h, *activations)

    def neutral_inputs(self) -> dict[str, torch.Tensor]:
        return {name: t for block in self.blocks for name, t in block.neutral_inputs().items()}


def export_encoder(model: SpectrogramVAE, path: Path, exporter: str = "torchscript"):
    latent = ["B", model.latent_dim]
    onnx_export(model.encoder, (torch.rand(1, 1, N_FRAMES, N_BINS),), path, ["spectrogram"], ["mu", "logvar"],
                {"spectrogram": {0: "B"}, "mu": {0: "B"}, "logvar": {0: "B"}}, exporter,
                output_shapes={"mu": latent, "logvar": latent})


def export_decoder(model: SpectrogramVAE, path: Path, bend: bool = True, exporter: str = "torchscript"):
    """decoder.onnx with bend blocks (bend=True, the model interface) or without (reference/benchmark)."""
    z = torch.randn(1, model.latent_dim, generator=torch.Generator().manual_seed(0))
    shapes = {"spectrogram": ["B", 1, N_FRAMES, N_BINS]}
    if not bend:
        onnx_export(model.decoder, (z,), path, ["z"], ["spectrogram"],
                    {"z": {0: "B"}, "spectrogram": {0: "B"}}, exporter, shapes)
        return
    bent = BentDecoder(model)
    args = (z, *[t for block in bent.blocks for t in example_bend_inputs(block)])
    names_in, names_out = bent.input_names(), bent.output_names()
    axes = {"z": {0: "B"}, **{name: {0: "B"} for name in names_out}, **bend_dynamic_axes(names_in[1:])}
    for layer in bent.layers:
        shapes[layer["activation"]] = ["B", layer["channels"], layer["height"], layer["width"]]
    onnx_export(bent, args, path, names_in, names_out, axes, exporter, shapes,
                bend_blocks=[(f"/blocks.{i}/", block) for i, block in enumerate(bent.blocks)])


def build_manifest(model: SpectrogramVAE, directory: Path, name: str, description: str,
                   normalisation: audio.Normalisation, training: dict | None) -> dict:
    """manifest.json as docs/model-manifest.md; graph names are read back from the written files."""
    manifest = {
        "format": "netbend-model",
        "format_version": MANIFEST_FORMAT_VERSION,
        "bend_interface": BEND_INTERFACE_VERSION,
        "kind": "spectrogram-vae",
        "name": name,
        "description": description,
        "latent_dim": model.latent_dim,
        **({"latent_shape": model.latent_shape()} if hasattr(model, "latent_shape") else {}),
        "signal": {"sample_rate": audio.SAMPLE_RATE, "n_fft": audio.N_FFT, "hop": audio.HOP,
                   "window": "hann-periodic", "bins": audio.N_BINS, "window_frames": audio.WINDOW_FRAMES},
        "normalisation": {"kind": normalisation.kind, "amin": normalisation.amin,
                          "db_min": normalisation.db_min, "db_max": normalisation.db_max},
        "graphs": {
            "encoder": {"file": "encoder.onnx", **graph_io(directory / "encoder.onnx")},
            "decoder": {"file": "decoder.onnx", **graph_io(directory / "decoder.onnx")},
        },
        "stages": [{"name": stage, "params": p} for stage, p in STAGES],
        "layers": bendable_layers(model),
        "clusters": {"general": {}},
    }
    if training is not None:
        manifest["training"] = training
    return manifest


def export_model(model: SpectrogramVAE, out_dir: Path, name: str = "default", description: str = "",
                 training: dict | None = None, normalisation: audio.Normalisation = audio.Normalisation(),
                 exporter: str = "torchscript", force: bool = False) -> Path:
    """Write the model directory out_dir atomically; returns out_dir. Refuses to replace an
    existing directory unless force (then the old one is removed only after the new one is complete)."""
    if not isinstance(model, (SpectrogramVAE, vae.SpatialSpectrogramVAE)):
        raise TypeError(f"export_model needs a SpectrogramVAE or SpatialSpectrogramVAE, got {type(model).__name__}")

    def write_graphs(directory: Path) -> dict:
        model.eval()  # batch norm uses its running statistics
        export_encoder(model, directory / "encoder.onnx", exporter)
        export_decoder(model, directory / "decoder.onnx", bend=True, exporter=exporter)
        return build_manifest(model, directory, name, description, normalisation, training)

    return write_model_directory(out_dir, force, write_graphs)


def random_model(width: float, seed: int = 0, latent_dim: int = 512) -> SpectrogramVAE:
    """A deterministic random-weight model (tests, benchmarks). Batch-norm running statistics are
    randomised too, so that an exporter which left batch norm in training mode would show."""
    torch.manual_seed(seed)
    return with_random_batch_norm_statistics(SpectrogramVAE(width=width, latent_dim=latent_dim), seed)


def with_random_batch_norm_statistics(model: nn.Module, seed: int) -> nn.Module:
    """`model` in eval mode with every batch norm's running statistics drawn from `seed + 1`."""
    g = torch.Generator().manual_seed(seed + 1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.copy_(0.1 * torch.randn(module.num_features, generator=g))
            module.running_var.copy_(0.5 + torch.rand(module.num_features, generator=g))
    return model.eval()


def load_checkpoint(path: Path) -> tuple[SpectrogramVAE, dict]:
    """A vae/train.py checkpoint -> (model in eval mode, checkpoint facts for the provenance)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        model = vae.load_checkpoint(path)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise ValueError(f"{path} is not a Netbend VAE checkpoint: {exc}") from exc
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    facts = {"checkpoint": path.name, "epoch": ckpt.get("epoch"), "step": ckpt.get("step"),
             "arch": model.arch, "width": model.width, "latent_dim": model.latent_dim,
             "n_params": model.config()["n_params"]}
    return model, facts


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="netbend_models.vae.train checkpoint (last.pt)")
    source.add_argument("--random-width", type=float, help="random weights of this width (test models)")
    p.add_argument("--seed", type=int, default=0, help="seed of --random-width weights")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--name", default="default")
    p.add_argument("--description", default="")
    p.add_argument("--training", type=Path, help="JSON file of training provenance for the manifest")
    p.add_argument("--exporter", choices=EXPORTERS, default="torchscript")
    p.add_argument("--force", action="store_true", help="replace an existing --out directory")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.checkpoint is not None:
        model, facts = load_checkpoint(args.checkpoint)
    else:
        model = random_model(args.random_width, args.seed)
        facts = {"random_weights_seed": args.seed, "width": model.width, "n_params": model.config()["n_params"]}
    training = {"model": facts}
    if args.training:
        training.update(json.loads(args.training.read_text()))
    out = export_model(model, args.out, args.name, args.description, training, exporter=args.exporter,
                       force=args.force)
    print(f"wrote {out}: " + ", ".join(f"{f.name} ({f.stat().st_size / 1e6:.1f} MB)" for f in sorted(out.iterdir())))


if __name__ == "__main__":
    run_tool(main)
