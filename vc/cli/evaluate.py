"""`vc evaluate`: objective scores of a converted set (or a reference) against the target's
parallel recordings;
`vc evaluate disentangle`: how much speaker information a disentangle model's content codes carry.

The scoring form keeps its flat flags (the recipes call it); the diagnostic is an optional
sub-command with its own flags and help. argparse checks required flags before knowing
which form was meant, so the scoring form checks its own.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

# The scoring form's own flags; --out the diagnostics have too.
SET_ONLY = ("converted", "reference", "copysynth", "data", "tgt_spk", "src_spk", "text")
DEFAULT_LABELS = {"source": "unconverted source", "target": "real target",
                  "copysynth-source": "source copy-synthesised", "copysynth-target": "target copy-synthesised"}


def register(subparsers: argparse._SubParsersAction) -> None:
    from vc.evaluate.metrics import GROUPS
    from vc.evaluate.kinds import REFERENCES

    p = subparsers.add_parser(
        "evaluate", help="score converted speech against the target speaker, or probe a disentangle model",
        usage="vc evaluate --converted DIR --data DATA_DIR --tgt-spk SPK --out DIR [--metrics ...]\n"
              "       vc evaluate --reference source|target --src-spk SPK --data DATA_DIR --tgt-spk SPK --out DIR\n"
              "       vc evaluate --reference copysynth-source|copysynth-target --copysynth DIR --src-spk SPK "
              "--data DATA_DIR --tgt-spk SPK --out DIR\n"
              "       vc evaluate disentangle --model EXP --dump DUMP_DIR --out DIR [options]",
        description="Objective scores of each converted utterance against the target speaker's recording of the "
                    "same sentence: mel-cepstral distortion after DTW (mcd); F0 RMSE, correlation and voicing "
                    "error on the DTW path (f0); resemblyzer speaker similarity to target and source and "
                    "nearest-speaker accuracy over the data dir's speakers (speaker); pocketsphinx word and "
                    "character error against the data dir's text (asr); DNSMOS predicted MOS (mos). "
                    "--reference scores the unconverted source (lower bound) or the target's real recordings "
                    "(upper bound) the same way, or their copy synthesis through a vocoder (the vocoder bound). "
                    "Writes OUT/scores.csv and OUT/summary.json (mean, 95%% CI). "
                    "'vc evaluate disentangle -h': the latent speaker probe.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--converted", help="directory with wav.scp, or a wav.scp, of converted speech")
    what.add_argument("--reference", choices=REFERENCES,
                      help="score the data dir's own recordings of --src-spk (source) or --tgt-spk (target), or "
                           "their copy synthesis from --copysynth (copysynth-source, copysynth-target)")
    p.add_argument("--copysynth", metavar="DIR",
                   help="directory with wav.scp, or a wav.scp, of the data dir's recordings copy-synthesised "
                        "through a vocoder ('vc vocode --data'), for --reference copysynth-*")
    p.add_argument("--data", help="Kaldi data dir of the eval set: sources, targets, text (required)")
    p.add_argument("--nonparallel", action="store_true",
                   help="the data dir's speakers read different sentences: no mcd or f0 (they need the target's "
                        "recording of the same sentence); each source utterance is paired with one of the "
                        "target's recordings for the target rows; speaker similarity leaves out only the item's "
                        "own recordings")
    p.add_argument("--text", metavar="FILE",
                   help="reference transcripts for word error instead of the data dir's text, e.g. the ASR's "
                        "reading of the copy synthesis ('vc evaluate transcribe')")
    p.add_argument("--tgt-spk", help="the speaker converted to (required)")
    p.add_argument("--src-spk", help="the source speaker (with --reference)")
    p.add_argument("--out", help="result directory: scores.csv and summary.json (required)")
    p.add_argument("--metrics", default=",".join(GROUPS),
                   help=f"comma-separated groups among {','.join(GROUPS)} [all]; speaker, asr and mos need "
                        "the 'eval' extra")
    p.add_argument("--label", help="name of the system in summaries and reports [from --converted or --reference]")
    p.add_argument("--model", metavar="EXP", help="experiment that made the conversions (the report plots its "
                                                  "training curves)")
    p.add_argument("--vocoder", help="vocoder used, recorded in the summary")
    p.add_argument("--oneshot", action="store_true",
                   help="with --converted: the target was unseen in training, converted to from reference "
                        "recordings (recorded in the summary; 'vc report' checks one-shot targets by their own "
                        "thresholds)")
    p.add_argument("--cache-dir", metavar="DIR", help="keep the data dir's speaker embeddings here between runs "
                                                     "(recipes score many systems on one data dir)")
    p.add_argument("--quiet", action="store_true", help="no per-utterance progress on stderr")
    p.set_defaults(func=partial(run, p))
    sub = p.add_subparsers(dest="what", metavar="{disentangle,phones,transcribe}", required=False,
                           prog="vc evaluate")
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
    ph = sub.add_parser("phones", help="phone error rate of a phone recogniser",
                        description="Greedy CTC decoding of every utterance of a dump made from a phonemized data "
                                    "dir ('vc phonemize', then 'vc extract'), scored against its phones. Writes "
                                    "OUT/summary.json.")
    ph.add_argument("--model", required=True, metavar="EXP", help="experiment directory of a phone_recognizer")
    ph.add_argument("--dump", required=True, metavar="DUMP_DIR", help="feature dump with a phones file")
    ph.add_argument("--out", required=True, metavar="DIR", help="result directory: summary.json")
    ph.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    ph.set_defaults(func=partial(run_phones, ph))
    tr = sub.add_parser("transcribe", help="the ASR's reading of a set of wavs, as a Kaldi text file",
                        description="Transcribe every wav of a wav.scp with the word-error recogniser (pocketsphinx "
                                    "en-us) into a Kaldi text file: the reference transcripts of a non-parallel "
                                    "corpus without text, read from the vocoder-bound copy synthesis of the source "
                                    "(then 'vc evaluate --nonparallel --text FILE'). A wav read as no word gets a "
                                    "line with its id alone, which word error leaves unscored.")
    tr.add_argument("--wavs", required=True, metavar="SCP",
                    help="directory with wav.scp, or a wav.scp, of 16 kHz-convertible audio")
    tr.add_argument("--utts", metavar="FILE", help="transcribe only the utterances listed (first column) [all]")
    tr.add_argument("--out", required=True, metavar="FILE", help="the Kaldi text file to write")
    tr.add_argument("--quiet", action="store_true", help="no per-utterance progress on stderr")
    tr.set_defaults(func=partial(run_transcribe, tr))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import sys

    from vc.data.datadir import DataDir, read_kaldi_map
    from vc.evaluate.asr import read_transcripts
    from vc.evaluate.metrics import METRIC_BY_KEY
    from vc.evaluate.scoring import check_groups, converted_set, evaluate, reference_set, write_results

    required = ["data", "tgt_spk", "out"] + (["src_spk"] if args.reference else [])
    missing = [f"--{name.replace('_', '-')}" for name in required if getattr(args, name) is None]
    if args.converted is None and args.reference is None:
        missing.insert(0, "--converted or --reference")
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    if args.converted and args.src_spk:
        parser.error("--src-spk goes with --reference; a converted set's sources come from the data dir")
    if (args.copysynth is not None) != (args.reference or "").startswith("copysynth-"):
        parser.error("--copysynth goes with --reference copysynth-source or copysynth-target, and they need it")
    if args.oneshot and not args.converted:
        parser.error("--oneshot goes with --converted: it says how the converted set reached its target")
    groups = check_groups([g.strip() for g in args.metrics.split(",") if g.strip()])
    data = DataDir.read(args.data)
    parallel = not args.nonparallel
    if args.converted:
        scp = _wav_scp(args.converted, "converted speech")
        eval_set = converted_set(read_kaldi_map(scp), data, args.tgt_spk, parallel)
        label = args.label or args.converted
    else:
        scp = _wav_scp(args.copysynth, "copy-synthesised speech") if args.copysynth else None
        eval_set = reference_set(args.reference, data, args.src_spk, args.tgt_spk,
                                 read_kaldi_map(scp) if scp else None, parallel)
        label = args.label or DEFAULT_LABELS[args.reference]
    if args.text:
        eval_set.transcripts = read_transcripts(args.text)
    progress = (lambda _: None) if args.quiet else (lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    results = evaluate(eval_set, groups, progress, Path(args.cache_dir) if args.cache_dir else None)
    meta = {"label": label, "kind": eval_set.kind, "src_spk": ",".join(eval_set.sources),
            "tgt_spk": args.tgt_spk, "data": str(Path(args.data).resolve()),
            "converted": str(scp.resolve()) if args.converted else None,
            "copysynth": str(scp.resolve()) if args.copysynth else None, "oneshot": args.oneshot,
            "model": str(Path(args.model).resolve()) if args.model else None, "vocoder": args.vocoder,
            "metrics_groups": groups, "parallel": parallel,
            "transcripts": str(Path(args.text).resolve()) if args.text else None}
    summary = write_results(results, Path(args.out), meta)
    shown = [f"{m.title} {m.format(v['mean'])}{'%' if m.percent else ''}"
             for m, v in ((METRIC_BY_KEY[k], v) for k, v in summary["metrics"].items())]
    print(f"{args.out}: {label}, {len(results)} utterances to {args.tgt_spk}: " + ", ".join(shown))
    return 0


def _wav_scp(path: str, what: str) -> Path:
    """The wav.scp a --converted or --copysynth argument names (a directory holding one, or the file)."""
    from vc.errors import DataError

    scp = Path(path)
    scp = scp / "wav.scp" if scp.is_dir() else scp
    if not scp.is_file():
        raise DataError(f"{scp}: no wav.scp of {what}")
    return scp


def _refuse_scoring_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    stray = [f"--{name.replace('_', '-')}" for name in SET_ONLY if getattr(args, name) is not None]
    if stray:
        parser.error(f"{', '.join(stray)}: options of the scoring form, not taken by 'vc evaluate {args.what}'")


def run_phones(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vc.evaluate.phones import format_result, phone_error_rate, write_summary

    _refuse_scoring_flags(parser, args)
    result = phone_error_rate(args.model, args.dump, args.device)
    path = write_summary(result, args.out)
    print(format_result(result))
    print(f"summary: {path}")
    return 0


def run_transcribe(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import sys

    from vc.data.datadir import read_kaldi_map
    from vc.errors import DataError
    from vc.evaluate.asr import transcribe_scp

    _refuse_scoring_flags(parser, args)
    scp = _wav_scp(args.wavs, "audio to transcribe")
    wavs = read_kaldi_map(scp)
    if args.utts:
        if not Path(args.utts).is_file():
            raise DataError(f"--utts {args.utts}: no such file")
        wanted = [line.split()[0] for line in Path(args.utts).read_text().splitlines() if line.strip()]
        unknown = sorted(set(wanted) - set(wavs))
        if unknown:
            raise DataError(f"--utts {args.utts}: {unknown[0]!r} is not in {scp} ({len(unknown)} such)")
        wavs = {utt: wavs[utt] for utt in wanted}
    if not wavs:
        raise DataError(f"{scp}: no utterances to transcribe")
    progress = (lambda _: None) if args.quiet else (lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    empty = transcribe_scp(wavs, args.out, progress)
    print(f"{args.out}: {len(wavs)} transcripts" + (f", {empty} with no word recognised" if empty else ""))
    return 0


def run_disentangle(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from vc.evaluate.disentangle import ProbeConfig, diagnose, format_result, write_summary

    _refuse_scoring_flags(parser, args)
    result = diagnose(args.model, args.dump, ProbeConfig(steps=args.steps, seed=args.seed), args.device,
                      args.checkpoint)
    path = write_summary(result, args.out)
    print(format_result(result))
    print(f"summary: {path}")
    return 0
