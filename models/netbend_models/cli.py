"""Command-line pieces the netbend_models tools have in common."""
from __future__ import annotations

import argparse

import torch


def parse_args_with_threads(parser: argparse.ArgumentParser, argv=None, default_threads: int = 1) -> argparse.Namespace:
    """Add `--threads` (torch's intra-op thread count) as the parser's last option, parse argv and
    apply the thread count, so that the whole run after parsing uses it."""
    parser.add_argument("--threads", type=int, default=default_threads)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return args
