"""StyleGAN2 image-model speed in onnxruntime, side by side (one image, batch 1):

- unbent:  the synthesis network exported without bend blocks (same w+, psi, noise inputs),
- neutral: the bend-graph decoder with every stage at K = 0,
- active:  every one of the 14 stages on 1 channel, and on C/8 channels, of every layer.

    python -m netbend_models.bench.stylegan2 --random-init --size 256 [--width 1.0] [--style-dim 512]
    python -m netbend_models.bench.stylegan2 --checkpoint G.pt [--trust-checkpoint]
        [--reps 10] [--threads 1]

Timing follows vae.py (interleaved repetitions, medians of wall and process CPU time).
Peak resident memory of the process is printed at the end (it includes the exports).

The sessions run without onnxruntime's memory pattern: with it, the second run of a graph
allocates the planned block on top of the arena the first run grew, and each new set of input
shapes (neutral K = 0, then K > 0) plans another. At 1024 px one decoder went from 4.5 GB after
its first run to 7.1 GB after its second, and the four interleaved cases of the two sessions
passed 14 GB; without the pattern it stays at 4.5 GB and was no slower (models/docs/stylegan2.md).
"""
from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from ..bend.inputs import active_bend_inputs, neutral_bend_inputs
from ..cli import run_tool
from ..export.common import onnx_export
from ..export.stylegan2 import BentSynthesis, export_decoder, random_generator
from ..stylegan2.model import Generator, load_rosinality
from .common import interleaved_medians, print_table, session


class PlainSynthesis(nn.Module):
    """The decoder's inputs without bend blocks: w, psi, noise.L* -> image."""

    def __init__(self, generator: Generator, mean: torch.Tensor):
        super().__init__()
        self.generator = generator
        self.register_buffer("mean", mean)

    def forward(self, w, psi, *noises):
        return self.generator.synthesis(Generator.truncate(w, psi, self.mean), list(noises))


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path)
    source.add_argument("--random-init", action="store_true")
    p.add_argument("--trust-checkpoint", action="store_true")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--style-dim", type=int, default=512)
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.checkpoint:
        g = load_rosinality(args.checkpoint, trust=args.trust_checkpoint)[0]
    else:
        g = random_generator(args.size, args.width, args.style_dim)
    mean = g.mean_latent(256)
    bent = BentSynthesis(g, mean).eval()
    print(f"StyleGAN2 {g.size} px, {g.config()['n_params'] / 1e6:.2f} M params, {g.num_layers} layers; "
          f"onnxruntime {ort.__version__}, {args.threads} intra-op threads, {args.reps} reps")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        z, noises = g.sample_inputs([0])
        with torch.no_grad():
            w = g.mapping(z).unsqueeze(1).expand(-1, g.n_latent, -1).contiguous()
        names = ["w", "psi", *bent.noise_names()]
        onnx_export(PlainSynthesis(g, mean).eval(), (w, torch.ones(1), *noises), tmp / "unbent.onnx", names,
                    ["image"], {n: {0: "B"} for n in names + ["image"]})
        export_decoder(bent, tmp / "decoder.onnx")
        unbent = session(tmp / "unbent.onnx", args.threads, memory_pattern=False)
        decoder = session(tmp / "decoder.onnx", args.threads, memory_pattern=False)
        base = {"w": w.numpy(), "psi": np.full(1, 0.7, np.float32),
                **{n: t.numpy() for n, t in zip(bent.noise_names(), noises)}}
        neutral, one = neutral_bend_inputs(bent.layers), active_bend_inputs(bent.layers, channels=1)
        eighth = active_bend_inputs(bent.layers)
        medians = interleaved_medians({
            "unbent export": lambda: unbent.run(["image"], base),
            "bend graph, all neutral": lambda: decoder.run(["image"], {**base, **neutral}),
            "bend graph, 14 stages on 1 channel of every layer": lambda: decoder.run(["image"], {**base, **one}),
            "bend graph, 14 stages on C/8 channels of every layer": lambda: decoder.run(["image"], {**base, **eighth}),
        }, args.reps, warmup=2)
    print_table(f"One {g.size} px image (image output only)", medians, "unbent export")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    run_tool(main)
