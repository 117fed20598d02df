"""`vc corpus synth`: build the offline multi-speaker corpus with Debian's synthesizers;
`vc corpus realvoices`: prepare the real voices of Debian's Asterisk and Fish Fillets NG packages."""

from __future__ import annotations

import argparse
import os
import textwrap

from vc.data import realvoices
from vc.data.synth import SPEAKERS, build_corpus
from vc.data.synth.roster import DEFAULT_NUM_SPEAKERS, all_speakers, select_speakers


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

    real = verbs.add_parser(
        "realvoices",
        help="decode real people's recordings from Debian packages (Asterisk prompts, Fish Fillets NG dialogue)",
        description=textwrap.fill(
            f"Decode each speaker's recordings to DIR/wav/<spk>/<utt>.wav (16 kHz mono), drop those with under "
            f"{realvoices.MIN_SPEECH_S:g} s of speech, and list the rest in DIR/recordings.tsv (utt spk language path "
            "seconds), the dropped ones in DIR/dropped.tsv; also DIR/spk2gender and DIR/text (the Fish Fillets "
            "lines; the Asterisk prompts have no transcript). The packages must be unpacked under DIR "
            "(dpkg-deb -x), or --fetch does it. A rerun decodes only what is new.",
            100,
        ),
        # Raw, so that the speaker table keeps its lines.
        epilog="speakers:\n" + "\n".join(f"  {s.id:<9} {s.gender}  {s.about}" for s in realvoices.SPEAKERS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    real.add_argument("--db-root", required=True, metavar="DIR", help="where the packages are (or go) unpacked")
    real.add_argument(
        "--fetch",
        action="store_true",
        help="first download the speakers' packages with 'apt-get download' into DIR/debs and unpack them "
        "into DIR with 'dpkg-deb -x' (nothing is installed; packages unpacked before are skipped)",
    )
    real.add_argument(
        "--speakers",
        type=_comma_list,
        metavar="A,B,...",
        help="only these speakers (default: all of " + ", ".join(s.id for s in realvoices.SPEAKERS) + ")",
    )
    real.add_argument(
        "--nj", type=int, default=min(2, os.cpu_count() or 1), help="files decoded at once (CPUs, at most 2)"
    )
    real.set_defaults(func=run_realvoices)


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


def run_realvoices(args: argparse.Namespace) -> int:
    print(realvoices.build_realvoices(args.db_root, args.speakers, fetch=args.fetch, nj=args.nj))
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
