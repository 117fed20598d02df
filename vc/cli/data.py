"""`vc data validate|subset|split`: check and cut Kaldi data dirs."""

from __future__ import annotations

import argparse
from pathlib import Path

from vc.data.datadir import DataDir, validate_data_dir
from vc.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="validate, subset or split a Kaldi data dir")
    verbs = parser.add_subparsers(dest="data_verb", metavar="<command>", required=True)

    validate = verbs.add_parser("validate", help="list every problem in a data dir")
    validate.add_argument("dir", help="data dir (wav.scp, utt2spk, [spk2utt, text, segments])")
    validate.add_argument(
        "--no-check-files", dest="check_files", action="store_false", help="do not check that audio files exist"
    )
    validate.set_defaults(func=run_validate)

    subset = verbs.add_parser("subset", help="copy the chosen utterances or speakers to a new data dir")
    subset.add_argument("dir")
    subset.add_argument("out")
    choice = subset.add_mutually_exclusive_group(required=True)
    choice.add_argument("--utts", metavar="FILE", help="file whose lines start with the utterance ids to keep")
    choice.add_argument("--speakers", metavar="A,B,...", help="comma-separated speaker ids to keep")
    subset.set_defaults(func=run_subset)

    split = verbs.add_parser("split", help="split into N parts OUTDIR/1 ... OUTDIR/N (Kaldi split<N>/JOB)")
    split.add_argument("dir")
    split.add_argument("--parts", type=int, required=True, metavar="N")
    split.add_argument("--by", choices=["utt", "spk"], default="utt", help="keep speakers whole with 'spk'")
    split.add_argument("--out", required=True, metavar="OUTDIR")
    split.set_defaults(func=run_split)


def run_validate(args: argparse.Namespace) -> int:
    problems = validate_data_dir(args.dir, check_files=args.check_files)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{args.dir}: {len(problems)} problem(s)")
        return 1
    data = DataDir.read(args.dir)
    print(f"{args.dir}: ok ({len(data.utt2spk)} utterances, {len(data.speakers)} speakers)")
    return 0


def run_subset(args: argparse.Namespace) -> int:
    data = DataDir.read(args.dir)
    if args.utts is not None:
        part = data.subset(utts=_read_list(Path(args.utts)))
    else:
        part = data.subset(speakers=[s for s in args.speakers.split(",") if s])
    part.write(args.out)
    print(f"{args.out}: {len(part.utt2spk)} utterances, {len(part.speakers)} speakers")
    return 0


def run_split(args: argparse.Namespace) -> int:
    parts = DataDir.read(args.dir).split(args.parts, by=args.by)
    for job, part in enumerate(parts, start=1):
        part.write(Path(args.out) / str(job))
    sizes = ", ".join(str(len(part.utt2spk)) for part in parts)
    print(f"{args.out}: {len(parts)} parts ({sizes} utterances)")
    return 0


def _read_list(path: Path) -> list[str]:
    """The first field of each non-blank line, so a utt2spk or text file works as a list."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read utterance list ({getattr(e, 'strerror', None) or e})") from None
    return [line.split()[0] for line in lines if line.strip()]
