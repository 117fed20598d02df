"""`vc report`: one HTML page (and a printed table) comparing the result dirs of `vc evaluate`."""

from __future__ import annotations

import argparse
import shlex

from vc.cli.argtypes import whole_number



def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="compare evaluated systems: a text table and a self-contained HTML page",
        description="Group the result dirs of `vc evaluate` by source -> target speaker, print a summary table "
                    "per comparison (unconverted source first, then its copy synthesis through each vocoder, the "
                    "systems, the target's copy synthesis, the target's own recordings last), check the quality "
                    "targets (words, speaker and DNSMOS against the vocoder bounds; the latent probes of --probe) "
                    "and write REPORT_DIR/index.html: every metric with its 95%% confidence interval, the targets, "
                    "listening examples with spectrograms, and the training curves of each model. The page embeds "
                    "all its media and opens from anywhere.")
    p.add_argument("results", nargs="+", metavar="RESULT_DIR",
                   help="result dirs (summary.json, scores.csv); systems are listed in this order")
    p.add_argument("--out", required=True, metavar="REPORT_DIR", help="directory for index.html")
    p.add_argument("--examples", type=whole_number(0), default=2, metavar="N",
                   help="listening examples per comparison: the first N sentences every result scored [2]")
    p.add_argument("--title", metavar="TEXT", help="page title [Voice conversion report]")
    p.add_argument("--probe", action="append", default=[], metavar="DIR",
                   help="result dir of 'vc evaluate disentangle' (its summary.json), whose latent speaker probe "
                        "is checked against chance; repeatable")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vc.report import human_size, write_report

    argv = [*args.results, "--out", args.out, "--examples", str(args.examples)]
    if args.title:
        argv += ["--title", args.title]
    for probe in args.probe:
        argv += ["--probe", probe]
    report = write_report(args.results, args.out, examples=args.examples, title=args.title,
                          command=shlex.join(["vc", "report", *argv]), probes=args.probe)
    print(report.text)
    print()
    print(f"report: {report.path} ({human_size(report.size)})")
    return 0
