"""`vc extract`: a data dir's audio -> a Kaldi ark/scp feature dump."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("extract", help="compute features for a data dir into a feature dump",
                              description="Compute log-mel, log-linear or WORLD features (per the config's "
                                          "'kind') for every utterance of a Kaldi data dir.")
    p.add_argument("--data", required=True, help="Kaldi data dir (wav.scp, utt2spk)")
    p.add_argument("--conf", required=True, help="feature config YAML (top-level keys or a 'feats:' section)")
    p.add_argument("--out", required=True, help="dump directory to write")
    p.add_argument("--nj", type=int, default=1, help="parallel jobs (processes) [1]")
    p.add_argument("--save-audio", action="store_true",
                   help="also store each utterance's waveform at the feature rate (audio.scp): vocoders train on it")
    p.add_argument("--allow-pipes", action="store_true", help="run 'cmd |' entries of wav.scp")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vc.audio.config import FeatureConfig
    from vc.data.datadir import DataDir
    from vc.data.dump import extract_dump
    from vc.data.phones import PHONES, read_phones

    cfg = FeatureConfig.load(args.conf)
    data = DataDir.read(args.data)
    unlisted = sorted(set(data.wav_scp) - set(data.utt2spk))
    if unlisted:
        # Kaldi's convention (fix_data_dir.sh): an utterance without a speaker is not used; say so.
        print(f"{args.data}: {len(unlisted)} utterance{'s' if len(unlisted) > 1 else ''} of wav.scp "
              f"{'have' if len(unlisted) > 1 else 'has'} no line in utt2spk and {'are' if len(unlisted) > 1 else 'is'} "
              f"skipped (first: {unlisted[0]!r})", file=sys.stderr)
    phones_path = Path(args.data) / PHONES
    phones = read_phones(phones_path) if phones_path.is_file() else None
    summary = extract_dump(data, cfg, args.out, nj=args.nj, allow_pipes=args.allow_pipes,
                           save_audio=args.save_audio, progress=not args.no_progress, phones=phones)
    audio = " and the audio" if args.save_audio else ""
    print(f"{args.out}: {cfg.kind} [frames, {cfg.dim}]{audio} for {summary}")
    return 0
