"""Export a StyleGAN2 generator as a Netbend image model directory (docs/bend-graph.md, "Image
models"; docs/model-manifest.md).

    python -m netbend_models.export.stylegan2 --checkpoint G.pt --out DIR [--trust-checkpoint]
        [--name NAME] [--description TEXT] [--training PROVENANCE.json] [--force]
    python -m netbend_models.export.stylegan2 --random-init --size 256 [--width 1.0]
        [--style-dim 512] [--seed S] --out DIR       (benchmarks, tests)

writes DIR/mapping.onnx (z -> w), DIR/decoder.onnx (w+, psi, per-layer noise and bend inputs ->
image and the unbent activation of every layer) and DIR/manifest.json (with the mean latent).
Like the VAE's (vae.py), the directory is assembled in a temporary sibling and renamed into place.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import nn

from ..bend.block import BEND_INTERFACE_VERSION, STAGES, BendBlock
from ..cli import parse_args_with_threads, run_tool
from ..stylegan2.model import Generator, load_rosinality
from .common import (MANIFEST_FORMAT_VERSION, bend_dynamic_axes, example_bend_inputs, graph_io, onnx_export,
                     write_model_directory)

MEAN_LATENT_SAMPLES = 4096


class BentSynthesis(nn.Module):
    """The synthesis network with a bend block after every styled convolution.

    forward(w, psi, noise.L1..noise.Ln, *bend_inputs) -> (image, act.L1, ..., act.Ln), inputs in
    the order of `input_names()`. w is w+ [B, n_latent, D], truncated inside towards the mean
    latent by psi [B]; act.L{l} is layer l's activation as it enters its bend block."""

    def __init__(self, generator: Generator, mean_latent: torch.Tensor):
        super().__init__()
        self.generator = generator
        self.register_buffer("mean_latent", mean_latent.reshape(-1).float().clone())
        self.layers = [{**layer, "activation": f"act.L{layer['index']}"} for layer in generator.layers()]
        self.blocks = nn.ModuleList(
            BendBlock(layer["index"], layer["channels"], layer["height"], layer["width"]) for layer in self.layers)
        self.arity = [len(block.input_names()) for block in self.blocks]

    def noise_names(self) -> list[str]:
        return [f"noise.L{layer['index']}" for layer in self.layers]

    def input_names(self) -> list[str]:
        return ["w", "psi", *self.noise_names()] + [n for block in self.blocks for n in block.input_names()]

    def output_names(self) -> list[str]:
        return ["image"] + [layer["activation"] for layer in self.layers]

    def forward(self, w: torch.Tensor, psi: torch.Tensor, *rest: torch.Tensor):
        n = self.generator.num_layers
        noises, bend_inputs = list(rest[:n]), rest[n:]
        if len(bend_inputs) != sum(self.arity):
            raise ValueError(f"bent synthesis takes {sum(self.arity)} bend inputs, got {len(bend_inputs)}")
        starts = [sum(self.arity[:i]) for i in range(len(self.arity))]
        activations = []

        def bend(layer: int, h: torch.Tensor) -> torch.Tensor:
            activations.append(h)
            i = layer - 1
            return self.blocks[i](h, *bend_inputs[starts[i]:starts[i] + self.arity[i]])

        w = Generator.truncate(w, psi, self.mean_latent)
        return (self.generator.synthesis(w, noises, bend), *activations)

    def neutral_inputs(self) -> dict[str, torch.Tensor]:
        return {name: t for block in self.blocks for name, t in block.neutral_inputs().items()}


class Mapping(nn.Module):
    def __init__(self, generator: Generator):
        super().__init__()
        self.style = generator.style

    def forward(self, z):
        return self.style(z)


def export_mapping(generator: Generator, path: Path):
    z = torch.randn(1, generator.style_dim, generator=torch.Generator().manual_seed(0))
    onnx_export(Mapping(generator), (z,), path, ["z"], ["w"], {"z": {0: "B"}, "w": {0: "B"}},
                output_shapes={"w": ["B", generator.style_dim]})


def export_decoder(bent: BentSynthesis, path: Path):
    g = bent.generator
    z, noises = g.sample_inputs([0])
    with torch.no_grad():
        w = g.mapping(z).unsqueeze(1).expand(-1, g.n_latent, -1).contiguous()
    args = (w, torch.ones(1), *noises, *[t for block in bent.blocks for t in example_bend_inputs(block)])
    names_in, names_out = bent.input_names(), bent.output_names()
    axes = {"w": {0: "B"}, "psi": {0: "B"}, **{name: {0: "B"} for name in bent.noise_names()},
            **{name: {0: "B"} for name in names_out}, **bend_dynamic_axes(names_in[2 + g.num_layers:])}
    shapes = {"image": ["B", 3, g.size, g.size]}
    for layer in bent.layers:
        shapes[layer["activation"]] = ["B", layer["channels"], layer["height"], layer["width"]]
    onnx_export(bent, args, path, names_in, names_out, axes, output_shapes=shapes,
                bend_blocks=[(f"/blocks.{i}/", block) for i, block in enumerate(bent.blocks)])


def build_manifest(bent: BentSynthesis, directory: Path, name: str, description: str,
                   mean_source: str, training: dict | None) -> dict:
    g = bent.generator
    manifest = {
        "format": "netbend-model",
        "format_version": MANIFEST_FORMAT_VERSION,
        "bend_interface": BEND_INTERFACE_VERSION,
        "kind": "stylegan2",
        "name": name,
        "description": description,
        "latent_dim": g.style_dim,
        "image": {"height": g.size, "width": g.size, "channels": 3, "range": [-1.0, 1.0]},
        "stylegan2": {
            "n_latent": g.n_latent,
            "n_mlp": g.n_mlp,
            "channels": {str(r): c for r, c in sorted(g.channels.items())},
            "mean_latent": [float(v) for v in bent.mean_latent],
            "mean_latent_source": mean_source,
            "noise": [{"input": n, "layer": layer["index"], "height": layer["height"], "width": layer["width"]}
                      for n, layer in zip(bent.noise_names(), bent.layers)],
        },
        "graphs": {
            "mapping": {"file": "mapping.onnx", **graph_io(directory / "mapping.onnx")},
            "decoder": {"file": "decoder.onnx", **graph_io(directory / "decoder.onnx")},
        },
        "stages": [{"name": stage, "params": p} for stage, p in STAGES],
        "layers": bent.layers,
        "clusters": {"general": {}},
    }
    if training is not None:
        manifest["training"] = training
    return manifest


def mean_latent_for(generator: Generator, stored: torch.Tensor | None) -> tuple[torch.Tensor, str]:
    if stored is not None:
        if stored.numel() != generator.style_dim:
            raise ValueError(f"checkpoint latent_avg has {stored.numel()} values, the mapping makes {generator.style_dim}")
        return stored, "checkpoint latent_avg"
    return generator.mean_latent(MEAN_LATENT_SAMPLES, seed=0), \
        f"mean of the mapping over {MEAN_LATENT_SAMPLES} z drawn by torch.Generator seed 0"


def export_model(generator: Generator, out_dir: Path, mean_latent: torch.Tensor | None = None,
                 name: str = "stylegan2", description: str = "", training: dict | None = None,
                 force: bool = False) -> Path:
    """Write the image model directory out_dir atomically (see common.write_model_directory)."""

    def write_graphs(directory: Path) -> dict:
        generator.eval()
        mean, mean_source = mean_latent_for(generator, mean_latent)
        bent = BentSynthesis(generator, mean).eval()
        export_mapping(generator, directory / "mapping.onnx")
        export_decoder(bent, directory / "decoder.onnx")
        return build_manifest(bent, directory, name, description, mean_source, training)

    return write_model_directory(out_dir, force, write_graphs)


def random_generator(size: int, width: float = 1.0, style_dim: int = 512, n_mlp: int = 8,
                     channel_multiplier: int = 2, seed: int = 0) -> Generator:
    """Deterministic random weights. The noise strengths and biases, zero at initialisation, get
    random values too, so that a wrong noise or bias path would show in tests."""
    torch.manual_seed(seed)
    g = Generator(size, style_dim=style_dim, n_mlp=n_mlp, channel_multiplier=channel_multiplier, width=width)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for conv in g.styled_convs():
            conv.noise.weight.copy_(0.5 * torch.randn(1, generator=gen))
            conv.activate.bias.copy_(0.2 * torch.randn(conv.activate.bias.shape, generator=gen))
    return g.eval()


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="rosinality stylegan2-pytorch checkpoint (.pt with g_ema)")
    source.add_argument("--random-init", action="store_true", help="random weights (benchmarks, tests)")
    p.add_argument("--trust-checkpoint", action="store_true",
                   help="allow unpickling non-tensor objects (rosinality train.py checkpoints hold argparse args)")
    p.add_argument("--size", type=int, default=256, help="--random-init: output resolution")
    p.add_argument("--width", type=float, default=1.0, help="--random-init: channel scale of config F")
    p.add_argument("--style-dim", type=int, default=512, help="--random-init: latent width")
    p.add_argument("--channel-multiplier", type=int, default=2, help="--random-init: config F's multiplier")
    p.add_argument("--seed", type=int, default=0, help="--random-init: weight seed")
    p.add_argument("--out", type=Path, required=True, help="model directory to write")
    p.add_argument("--name", default="stylegan2")
    p.add_argument("--description", default="")
    p.add_argument("--training", type=Path, help="JSON file of training provenance for the manifest")
    p.add_argument("--force", action="store_true", help="replace an existing --out directory")
    args = parse_args_with_threads(p, argv)
    if args.checkpoint is not None:
        generator, stored_mean, facts = load_rosinality(args.checkpoint, trust=args.trust_checkpoint)
    else:
        generator = random_generator(args.size, args.width, args.style_dim, channel_multiplier=args.channel_multiplier,
                                     seed=args.seed)
        stored_mean, facts = None, {"random_weights_seed": args.seed, **generator.config()}
    training = {"model": facts}
    if args.training:
        training.update(json.loads(args.training.read_text()))
    out = export_model(generator, args.out, stored_mean, args.name, args.description, training, force=args.force)
    print(f"wrote {out}: " + ", ".join(f"{f.name} ({f.stat().st_size / 1e6:.1f} MB)" for f in sorted(out.iterdir())))


if __name__ == "__main__":
    run_tool(main)
