"""`vc evaluate`: objective scores of a converted set against the target's parallel recordings."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("evaluate", help="score converted speech against the target speaker",
                              description="Mel-cepstral distortion with DTW (WORLD mel-cepstrum, c0 excluded) of "
                                          "each converted utterance to the target speaker's recording of the same "
                                          "sentence, beside the same distance for the unconverted source.")
    p.add_argument("--converted", required=True, help="directory with wav.scp, or a wav.scp, of converted speech")
    p.add_argument("--data", required=True, help="Kaldi data dir of the parallel eval set (sources and targets)")
    p.add_argument("--tgt-spk", required=True, help="the speaker the utterances were converted to")
    p.add_argument("--out", required=True, help="result directory: scores.csv and summary.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vc.data.datadir import DataDir, read_kaldi_map
    from vc.errors import DataError
    from vc.evaluate.scoring import score_mcd, write_results

    scp = Path(args.converted)
    scp = scp / "wav.scp" if scp.is_dir() else scp
    if not scp.is_file():
        raise DataError(f"{scp}: no wav.scp of converted speech")
    scores = score_mcd(read_kaldi_map(scp), DataDir.read(args.data), args.tgt_spk)
    if not scores:
        raise DataError(f"{scp}: lists no utterances")
    summary = write_results(scores, Path(args.out))
    mcd, src = summary["mcd_db"], summary["source_mcd_db"]
    print(f"{args.out}: {len(scores)} utterances; MCD to {args.tgt_spk}: converted {mcd['mean']:.2f} ± "
          f"{mcd['ci95']:.2f} dB, unconverted source {src['mean']:.2f} ± {src['ci95']:.2f} dB")
    return 0
