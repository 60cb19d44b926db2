"""Command-line pieces the netbend_models tools have in common: `--threads`, and user mistakes
reported in one line.

Every tool ends with

    if __name__ == "__main__":
        run_tool(main)

so that `python -m netbend_models.<package>.<tool>` reports a user mistake (an --out that exists,
a missing file, a file that is not what it should be: OSError or ValueError, which the tools
raise with the file's name) as one `error: ...` line on stderr and exit status 2, as argparse does
for a bad option. Anything else is a bug and keeps its traceback; NETBEND_TRACEBACK=1 shows the
traceback of a user mistake too. Called as functions (tests, other code), the mains raise."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, NoReturn

USER_MISTAKES = (OSError, ValueError)
USER_MISTAKE_STATUS = 2


def parse_args_with_threads(parser: argparse.ArgumentParser, argv=None, default_threads: int = 1) -> argparse.Namespace:
    """Add `--threads` (torch's intra-op thread count) as the parser's last option, parse argv and
    apply the thread count, so that the whole run after parsing uses it."""
    import torch  # here, so that the tools without torch do not load it

    parser.add_argument("--threads", type=int, default=default_threads)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return args


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (its type's name if it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def run_tool(main: Callable, argv=None) -> NoReturn:
    """Run a tool's `main(argv)` and exit: with main's return value as the status (None: 0), or
    with `error: <message>` on stderr and status 2 for a user mistake (USER_MISTAKES)."""
    try:
        status = main(argv)
    except USER_MISTAKES as exc:
        if os.environ.get("NETBEND_TRACEBACK", "") not in ("", "0"):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        sys.exit(USER_MISTAKE_STATUS)
    sys.exit(status)
