"""`vc <verb>`: one module per verb; each parses its arguments and calls the library."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from vc.version import __version__
from vc.errors import VCError
from vc.utils import WRITE_ERRNOS

# Each module defines ``register(subparsers)``, which adds its parser and sets ``func``.
VERB_MODULES = ["data", "corpus", "phonemize", "extract", "stats", "train", "convert", "stream", "serve", "vocode", "evaluate", "report", "image"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vc", description="Voice conversion toolkit.")
    parser.add_argument("--version", action="version", version=f"vc {__version__}")
    subparsers = parser.add_subparsers(dest="verb", metavar="<verb>", required=True)
    for name in VERB_MODULES:
        importlib.import_module(f"vc.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VCError as e:
        status = getattr(e, "exit_status", 1)  # Preempted: 75, for a scheduler to requeue
        print(f"vc {args.verb}: {'error: ' if status == 1 else ''}{e}", file=sys.stderr)
        return status
    except OSError as e:
        # Outside atomic writes (a log, a directory): still one line naming the file and why.
        if e.errno not in WRITE_ERRNOS:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"vc {args.verb}: error: {where}cannot write an output ({e.strerror})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vc {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
