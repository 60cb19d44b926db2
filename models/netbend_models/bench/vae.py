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
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..bend.block import STAGE_NAMES, STAGE_PARAM_COUNT
from ..export.vae import bendable_layers, export_decoder, export_encoder, export_model, load_checkpoint, random_model
from ..vae.model import N_BINS, N_FRAMES

# A typical value per stage for the active configuration (radius 2, 20 degrees, ...).
ACTIVE_PARAMS = {"translate": [0.1, -0.05], "scale": [0.8, 1.25], "rotate": [20.0], "erode": [2.0],
                 "dilate": [2.0], "scalar-multiply": [1.5], "offset": [0.1], "binary-thresh": [0.0],
                 "noise": [0.3]}


def neutral_bend_inputs(layers) -> dict[str, np.ndarray]:
    feeds = {}
    for layer in layers:
        l, h, w = layer["index"], layer["height"], layer["width"]
        for stage in STAGE_NAMES:
            feeds[f"L{l}.{stage}.idx"] = np.zeros(0, np.int64)
            feeds[f"L{l}.{stage}.mix"] = np.zeros(0, np.float32)
            if STAGE_PARAM_COUNT[stage]:
                feeds[f"L{l}.{stage}.params"] = np.zeros((0, STAGE_PARAM_COUNT[stage]), np.float32)
        feeds[f"L{l}.shuffle.source"] = np.zeros(0, np.int64)
        feeds[f"L{l}.noise.field"] = np.zeros((0, h, w), np.float32)
    return feeds


def active_bend_inputs(layers, fraction: float = 1 / 8, channels: int | None = None,
                       seed: int = 0, distinct: bool = False) -> dict[str, np.ndarray]:
    """Every stage of every layer on `channels` or else max(1, C * fraction) random channels,
    mix in [0.5, 1]. The channels of a stage share its ACTIVE_PARAMS (as one config entry's
    channels do), or with `distinct` each gets its own (ACTIVE_PARAMS times 0.5..1.5), as when
    entries with different parameters merge into one stage; the spatial stages then sample one
    grid per channel instead of one shared grid (export/shared_grid.py)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for layer in layers:
        l, c, h, w = layer["index"], layer["channels"], layer["height"], layer["width"]
        k = min(c, channels) if channels else max(1, int(c * fraction))
        for stage in STAGE_NAMES:
            feeds[f"L{l}.{stage}.idx"] = rng.choice(c, k, replace=False).astype(np.int64)
            feeds[f"L{l}.{stage}.mix"] = rng.uniform(0.5, 1.0, k).astype(np.float32)
            if STAGE_PARAM_COUNT[stage]:
                params = np.tile(np.float32(ACTIVE_PARAMS[stage]), (k, 1))
                if distinct:
                    params *= np.linspace(0.5, 1.5, k, dtype=np.float32)[:, None] if k > 1 else 1
                feeds[f"L{l}.{stage}.params"] = params
        feeds[f"L{l}.shuffle.source"] = rng.choice(c, k, replace=False).astype(np.int64)
        feeds[f"L{l}.noise.field"] = rng.standard_normal((k, h, w)).astype(np.float32)
    return feeds


def session(path: Path, threads: int, memory_pattern: bool = True) -> ort.InferenceSession:
    """memory_pattern=False: see bench/stylegan2.py (large images)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = memory_pattern
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def interleaved_medians(runs: dict, reps: int, warmup: int = 3) -> dict[str, tuple[float, float]]:
    """runs: {label: callable}; (median wall ms, median process CPU ms) of each, repetitions
    interleaved. CPU time leaves out the time other jobs hold the cores, so on a loaded machine it
    is the steadier figure; with spinning intra-op threads it also counts their spinning."""
    labels = list(runs)
    for _ in range(warmup):
        for label in labels:
            runs[label]()
    wall, cpu = {label: [] for label in labels}, {label: [] for label in labels}
    for rep in range(reps):
        order = labels[rep % len(labels):] + labels[:rep % len(labels)]
        for label in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[label]()
            cpu[label].append(1e3 * (time.process_time() - start_cpu))
            wall[label].append(1e3 * (time.perf_counter() - start))
    return {label: (statistics.median(wall[label]), statistics.median(cpu[label])) for label in labels}


def print_table(title: str, medians: dict[str, tuple[float, float]], reference: str):
    ref_wall, ref_cpu = medians[reference]
    print(f"\n{title}\n| configuration | wall ms | ratio | CPU ms | ratio |\n|---|---|---|---|---|")
    for label, (wall, cpu) in medians.items():
        print(f"| {label} | {wall:.2f} | {wall / ref_wall:.3f} | {cpu:.2f} | {cpu / ref_cpu:.3f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    main()
