"""`vc phonemize`: a data dir's transcripts -> its ``phones`` file (espeak-ng, offline)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("phonemize", help="write a data dir's phones file from its text",
                              description="Turn every transcript of DATA/text into espeak-ng phones, written to "
                                          "DATA/phones; 'vc extract' copies them into the dump, where the phone "
                                          "recogniser trains on them.")
    p.add_argument("--data", required=True, nargs="+", help="Kaldi data dir(s) with a text file")
    p.add_argument("--lang", default="en-us", help="espeak-ng voice (language) of the transcripts [en-us]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vc.data.phones import phonemize_data_dir, read_phones

    for data in args.data:
        path = phonemize_data_dir(data, args.lang)
        phones = read_phones(path)
        count = sum(len(seq) for seq in phones.values())
        print(f"{path}: {len(phones)} utterances, {count} phones")
    return 0
