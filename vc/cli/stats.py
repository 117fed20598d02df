"""`vc stats`: normalisation statistics of a feature dump."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("stats", help="compute global and per-speaker feature statistics",
                              description="Mean/variance statistics (kept as count, sum and sum of squares) "
                                          "of a feature dump: global, per speaker, and per-speaker log-F0 "
                                          "for WORLD features.")
    p.add_argument("--dump", required=True, help="feature dump directory (from 'vc extract')")
    p.add_argument("--out", help="statistics file to write [DUMP/stats.npz]")
    p.add_argument("--nj", type=int, default=1, help="parallel jobs (processes) [1]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vc.data.dump import FeatureDump
    from vc.data.stats import compute_stats

    dump = FeatureDump.open(args.dump)
    stats = compute_stats(dump, nj=args.nj)
    out = Path(args.out) if args.out else dump.root / "stats.npz"
    stats.save(out)
    g = stats.global_
    print(f"{out}: {g.count} frames from {len(dump)} utterances, {len(stats.speakers)} speakers; "
          f"global mean in [{g.mean.min():.2f}, {g.mean.max():.2f}], std in [{g.std.min():.2f}, {g.std.max():.2f}]")
    return 0
