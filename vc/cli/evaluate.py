"""`vc evaluate`: objective scores of a converted set against the target's parallel recordings;
`vc evaluate disentangle`: how much speaker information a disentangle model's content codes carry.

The MCD form keeps its flat flags (the recipes call it); the diagnostic is an optional
sub-command with its own flags and help. argparse checks required flags before knowing
which form was meant, so the MCD form checks its own.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

MCD_ONLY = ("converted", "data", "tgt_spk")  # and --out, which the diagnostic has too


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score converted speech against the target speaker, or probe a disentangle model",
        usage="vc evaluate --converted DIR --data DATA_DIR --tgt-spk SPK --out DIR\n"
              "       vc evaluate disentangle --model EXP --dump DUMP_DIR --out DIR [options]",
        description="Mel-cepstral distortion with DTW (WORLD mel-cepstrum, c0 excluded) of each converted utterance "
                    "to the target speaker's recording of the same sentence, beside the same distance for the "
                    "unconverted source. 'vc evaluate disentangle -h': the latent speaker probe.")
    p.add_argument("--converted", help="directory with wav.scp, or a wav.scp, of converted speech (required)")
    p.add_argument("--data", help="Kaldi data dir of the parallel eval set, sources and targets (required)")
    p.add_argument("--tgt-spk", help="the speaker the utterances were converted to (required)")
    p.add_argument("--out", help="result directory: scores.csv and summary.json (required)")
    p.set_defaults(func=partial(run, p))
    sub = p.add_subparsers(dest="what", metavar="{disentangle}", required=False, prog="vc evaluate")
    d = sub.add_parser(
        "disentangle", help="latent speaker probe and reconstruction error of a disentangle model",
        description="Train a fresh speaker classifier (probe) on frozen content codes of a held-out dump, and the "
                    "same probe on its normalised input features; report both accuracies beside chance (1/N "
                    "speakers: the codes carry no speaker information the probe finds), and the model's "
                    "reconstruction error with lookup and self-reference speaker vectors. Writes OUT/summary.json.")
    d.add_argument("--model", required=True, metavar="EXP", help="experiment directory of a disentangle model")
    d.add_argument("--dump", required=True, metavar="DUMP_DIR",
                   help="held-out feature dump with at least 2 speakers of at least 2 utterances each")
    d.add_argument("--out", required=True, metavar="DIR", help="result directory: summary.json")
    d.add_argument("--steps", type=int, default=300, help="probe training steps [300]")
    d.add_argument("--seed", type=int, default=0, help="seed of the probe's weights and segments [0]")
    d.add_argument("--checkpoint", metavar="PATH", help="checkpoint to probe [the latest in EXP/checkpoints]")
    d.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    d.set_defaults(func=partial(run_disentangle, d))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vc.data.datadir import DataDir, read_kaldi_map
    from vc.errors import DataError
    from vc.evaluate.scoring import score_mcd, write_results

    missing = [f"--{name.replace('_', '-')}" for name in (*MCD_ONLY, "out") if getattr(args, name) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
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


def run_disentangle(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vc.evaluate.disentangle import ProbeConfig, diagnose, format_result, write_summary

    stray = [f"--{name.replace('_', '-')}" for name in MCD_ONLY if getattr(args, name) is not None]
    if stray:
        parser.error(f"{', '.join(stray)}: MCD options, not taken by 'vc evaluate disentangle'")
    result = diagnose(args.model, args.dump, ProbeConfig(steps=args.steps, seed=args.seed), args.device,
                      args.checkpoint)
    path = write_summary(result, args.out)
    print(format_result(result))
    print(f"summary: {path}")
    return 0
