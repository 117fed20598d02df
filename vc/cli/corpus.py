"""`vc corpus synth`: build the offline multi-speaker corpus with Debian's synthesizers."""

from __future__ import annotations

import argparse
import os

from vc.data.synth import SPEAKERS, build_corpus
from vc.data.synth.voices import DEFAULT_NUM_SPEAKERS, all_speakers, select_speakers


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
        help=f"the first N voices (default {DEFAULT_NUM_SPEAKERS}): the {len(SPEAKERS)} canonical ones, then "
        f"generated ones, up to {len(all_speakers())}",
    )
    who.add_argument(
        "--voices",
        type=_comma_list,
        metavar="A,B,...",
        help="speaker ids to use instead: " + ", ".join(s.id for s in SPEAKERS) + ", or generated ones "
        "('vc corpus voices' lists them all)",
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

    voices = verbs.add_parser(
        "voices",
        help="list the speakers 'vc corpus synth' can make, in order, with their recipes",
        description="List the synthetic speakers in corpus order: the canonical ones, then the generated "
        "ones (espeak-ng accent x variant x pitch x speed, and WORLD-derived flite/festival voices).",
    )
    voices.add_argument("--speakers", type=int, metavar="N", help="only the first N (what --speakers N builds)")
    voices.add_argument("--generated", action="store_true", help="only the generated ones among them")
    voices.add_argument("--ids", action="store_true", help="print only the ids, one a line")
    voices.set_defaults(func=run_voices)


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


def run_voices(args: argparse.Namespace) -> int:
    speakers = select_speakers(args.speakers) if args.speakers is not None else list(all_speakers())
    if args.generated:
        speakers = speakers[len(SPEAKERS) :]
    if args.ids:
        print("\n".join(s.id for s in speakers))
        return 0
    header = ("id", "engine", "voice", "gender", "pitch", "speed", "f0_scale", "warp_alpha")
    rows = [header] + [
        (
            s.id,
            s.engine,
            s.voice,
            s.gender,
            *("-" if v is None else str(v) for v in (s.pitch, s.speed, s.f0_scale, s.warp_alpha)),
        )
        for s in speakers
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
        print(("# " if n == 0 else "  ") + line)
    return 0


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
