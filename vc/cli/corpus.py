"""`vc corpus synth`: build the offline multi-speaker corpus with Debian's synthesizers."""

from __future__ import annotations

import argparse
import os

from vc.data.synth import SPEAKERS, build_corpus
from vc.data.synth.voices import DEFAULT_NUM_SPEAKERS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("corpus", help="build a corpus")
    verbs = parser.add_subparsers(dest="corpus_verb", metavar="<command>", required=True)

    synth = verbs.add_parser(
        "synth",
        help="synthesize a multi-speaker corpus (non-parallel training set + parallel eval set)",
        description="Synthesize speech by several offline voices into DIR/wav, with Kaldi data dirs "
        "DIR/nonparallel (no sentence said twice) and DIR/parallel (the same sentences by everyone).",
    )
    synth.add_argument("--out", required=True, metavar="DIR", help="output directory (new, or a previous build)")
    who = synth.add_mutually_exclusive_group()
    who.add_argument(
        "--speakers",
        type=int,
        metavar="N",
        help=f"the first N of the {len(SPEAKERS)} canonical voices (default {DEFAULT_NUM_SPEAKERS})",
    )
    who.add_argument(
        "--voices",
        type=_comma_list,
        metavar="A,B,...",
        help="speaker ids to use instead: " + ", ".join(s.id for s in SPEAKERS),
    )
    synth.add_argument("--utts", type=int, default=20, metavar="M", help="non-parallel utterances per speaker (20)")
    synth.add_argument("--eval-utts", type=int, default=5, metavar="K", help="parallel sentences said by everyone (5)")
    synth.add_argument("--seed", type=int, default=0, help="chooses the sentences (0)")
    synth.add_argument("--text", metavar="FILE", help="take sentences from FILE (one per line) instead of the grammar")
    synth.add_argument("--sample-rate", type=int, default=16000, metavar="HZ", help="output sample rate (16000)")
    synth.add_argument(
        "--nj", type=int, default=min(4, os.cpu_count() or 1), help="speakers synthesized at once (CPUs, at most 4)"
    )
    synth.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> int:
    summary = build_corpus(
        args.out,
        num_speakers=args.speakers,
        voices=args.voices,
        utts_per_speaker=args.utts,
        eval_utts=args.eval_utts,
        seed=args.seed,
        text_file=args.text,
        sample_rate=args.sample_rate,
        nj=args.nj,
    )
    print(summary)
    return 0


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
