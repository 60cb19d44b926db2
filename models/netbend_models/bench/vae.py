"""Bend-graph overhead: one window through encoder + decoder in onnxruntime, side by side:

- unbent:  the same model's decoder exported without bend blocks,
- neutral: the bend-graph decoder with every stage at K = 0,
- active:  the bend-graph decoder with every one of the 14 stages on 1 channel, and on C/8
           channels, of every layer (C/8: 1.75 C channel transforms per layer); the C/8 case
           once with one parameter set per stage (one config entry per stage) and once with
           different parameters on every channel.

    python -m netbend_models.bench.vae --checkpoint CKPT | --width W [--seed S]
        [--reps 40] [--threads 2] [--exporters] [--compare DECODER] [--bind] [--save-model DIR]

Repetitions are interleaved (unbent, neutral, active, unbent, ... in rotating order) so that load
from other jobs hits all configurations alike; the table shows medians of wall time and of process
CPU time, with ratios to unbent.
--exporters also compares the TorchScript and dynamo exporters on the bend-graph decoder alone.
--bind feeds every decoder through an onnxruntime IOBinding whose bend inputs are bound once before
the timing: Python's per-input conversion in `InferenceSession.run` (a few us for each of the 156
bend inputs, measured ~0.3-0.45 ms per run here, the same in every bent configuration) is then
not timed, only the graph and ONNX Runtime's own handling of its inputs.
--save-model DIR only writes the model directory (manifest, encoder, bend-graph decoder) with its
decoder without bend blocks as DIR/decoder-unbent.onnx, for the same comparison through the Rust
engine: `netbend bench --model DIR --unbent-decoder DIR/decoder-unbent.onnx`.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..bend.inputs import active_bend_inputs, neutral_bend_inputs
from ..cli import run_tool
from ..export.vae import bendable_layers, export_decoder, export_encoder, export_model, load_checkpoint, random_model
from ..vae.model import N_BINS, N_FRAMES
from .common import interleaved_medians, print_table, session


def main(argv=None):
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path)
    source.add_argument("--width", type=float, help="random weights of this width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reps", type=int, default=40)
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    p.add_argument("--exporters", action="store_true", help="also compare TorchScript and dynamo exporters")
    p.add_argument("--compare", type=Path, metavar="DECODER",
                   help="also run this bend-graph decoder.onnx (e.g. exported by older code from the same "
                        "checkpoint or --random-width/--seed) on the same inputs, side by side")
    p.add_argument("--bind", action="store_true",
                   help="bind the bend inputs once (IOBinding): time the graph without Python's per-input conversion")
    p.add_argument("--save-model", type=Path, metavar="DIR",
                   help="only write the model directory and DIR/decoder-unbent.onnx (for `netbend bench "
                        "--unbent-decoder`), measure nothing")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    model = load_checkpoint(args.checkpoint)[0] if args.checkpoint else random_model(args.width, args.seed)
    layers = bendable_layers(model)
    if args.save_model:
        export_model(model, args.save_model, name="bench", description="netbend_models.bench.vae --save-model")
        export_decoder(model, args.save_model / "decoder-unbent.onnx", bend=False)
        print(f"wrote {args.save_model} and {args.save_model / 'decoder-unbent.onnx'}")
        return
    print(f"model: width {model.width}, {model.config()['n_params'] / 1e6:.2f} M params; "
          f"onnxruntime {ort.__version__}, {args.threads} intra-op threads, {args.reps} reps"
          + (", inputs bound once (IOBinding)" if args.bind else ""))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        export_encoder(model, tmp / "encoder.onnx")
        export_decoder(model, tmp / "unbent.onnx", bend=False)
        export_decoder(model, tmp / "bent.onnx", bend=True)
        encoder, unbent, bent = (session(tmp / f, args.threads) for f in ("encoder.onnx", "unbent.onnx", "bent.onnx"))
        window = np.random.default_rng(1).random((1, 1, N_FRAMES, N_BINS)).astype(np.float32)
        neutral, active = neutral_bend_inputs(layers), active_bend_inputs(layers)
        active_one = active_bend_inputs(layers, channels=1)
        active_distinct = active_bend_inputs(layers, distinct=True)

        def autoencode(decoder, bend_inputs):
            if args.bind:
                binding = decoder.io_binding()
                for name, value in bend_inputs.items():
                    binding.bind_cpu_input(name, value)
                binding.bind_output("spectrogram")

                def run_bound():
                    binding.bind_cpu_input("z", encoder.run(["mu"], {"spectrogram": window})[0])
                    decoder.run_with_iobinding(binding)
                    return binding.copy_outputs_to_cpu()[0]
                return run_bound

            def run():
                mu = encoder.run(["mu"], {"spectrogram": window})[0]
                return decoder.run(["spectrogram"], {"z": mu, **bend_inputs})[0]
            return run

        configurations = {
            "all neutral": neutral,
            "all 14 stages active on 1 channel of every layer": active_one,
            "all 14 stages active on C/8 channels of every layer": active,
            "C/8, every channel with its own parameters": active_distinct,
        }
        decoders = {"bend graph": bent}
        if args.compare:
            decoders[f"{args.compare}"] = session(args.compare, args.threads)
        if args.compare:  # the comparison means something only if both graphs compute the same
            z = np.random.default_rng(3).standard_normal((1, model.latent_dim)).astype(np.float32)
            for label, feeds in configurations.items():
                a, b = (d.run(["spectrogram"], {"z": z, **feeds})[0] for d in decoders.values())
                print(f"{label}: max |bend graph - {args.compare}| = {float(np.abs(a - b).max()):.3g}")
        runs = {"unbent export": autoencode(unbent, {})}
        for label, feeds in configurations.items():
            for name, decoder in decoders.items():
                runs[f"{name}, {label}"] = autoencode(decoder, feeds)
        medians = interleaved_medians(runs, args.reps)
        print_table("One window, encoder + decoder", medians, "unbent export")

        if args.exporters:
            export_times = {}
            for exporter in ("torchscript", "dynamo"):
                start = time.perf_counter()
                export_decoder(model, tmp / f"bent-{exporter}.onnx", bend=True, exporter=exporter)
                export_times[exporter] = time.perf_counter() - start
            sessions = {e: session(tmp / f"bent-{e}.onnx", args.threads) for e in export_times}
            z = np.random.default_rng(2).standard_normal((1, model.latent_dim)).astype(np.float32)
            runs = {}
            for exporter, s in sessions.items():
                for label, feeds in (("neutral", neutral), ("active", active)):
                    runs[f"{exporter}, {label}"] = (lambda s=s, feeds=feeds: s.run(["spectrogram"], {"z": z, **feeds}))
            medians = interleaved_medians(runs, args.reps)
            print_table("Bend-graph decoder alone, by exporter", medians, "torchscript, neutral")
            print("export time: " + ", ".join(f"{e} {t:.1f} s" for e, t in export_times.items()))


if __name__ == "__main__":
    run_tool(main)
