"""What both benchmarks (vae.py, stylegan2.py) share: an onnxruntime session, interleaved timing
and the table it prints."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import onnxruntime as ort


def session(path: Path, threads: int, memory_pattern: bool = True) -> ort.InferenceSession:
    """memory_pattern=False: see stylegan2.py (large images)."""
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
