"""`vc vocode`: features -> waveforms, as copy synthesis from audio or from a feature dump.

Copy synthesis (wav files or a data dir) computes the features here and scores each output
against its input (see :mod:`vc.evaluate.copy_synthesis`), so one command measures what a
vocoder loses. ``--vocoder`` is ``gl`` (log-mel or linear features), ``world`` (WORLD
features) or a trained vocoder's experiment directory, which brings its own feature config.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from vc.cli.outputs import check_out, removed_on_error, write_wav_scp, writing_into

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vc.audio.config import FeatureConfig
    from vc.evaluate.copy_synthesis import CopySynthesisScore



def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "vocode", help="turn features back into audio (copy synthesis or a feature dump)",
        description="Vocode wav files or a data dir (copy synthesis: features are computed with --conf and "
                    "the output is scored against the input) or a feature dump (--scp).",
    )
    p.add_argument("inputs", nargs="*", metavar="INPUT.wav", help="audio files to copy-synthesise")
    p.add_argument("--data", metavar="DATA_DIR", help="Kaldi data dir to copy-synthesise")
    p.add_argument("--scp", metavar="FEATS.scp", help="feature dump (its feats.scp or directory) to vocode")
    p.add_argument("--out", required=True,
                   help="a .wav file for one input; otherwise a directory for <utt>.wav, wav.scp and scores.tsv")
    p.add_argument("--vocoder", default="gl", metavar="gl|world|EXP",
                   help="gl (Griffin-Lim, log-mel or linear features), world (WORLD synthesis, WORLD features), "
                        "or the experiment directory of a vocoder trained with 'vc train' [gl]")
    p.add_argument("--conf", metavar="FEATS.yaml",
                   help="feature config: required for audio inputs with gl or world; otherwise checked against "
                        "the dump's and the trained vocoder's")
    p.add_argument("--batch-size", type=int, default=1,
                   help="utterances vocoded together (padded to the longest); WaveNet generates much faster "
                        "in batches [1]")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="[auto]")
    p.add_argument("--seed", type=int, default=0, help="seed of the random phase (gl), noise or samples [0]")
    p.add_argument("--allow-pipes", action="store_true", help="run 'cmd |' entries of the data dir's wav.scp")
    gl = p.add_argument_group("Griffin-Lim (--vocoder gl)")
    gl.add_argument("--iters", type=int, default=32, help="iterations [32]")
    gl.add_argument("--momentum", type=float, default=0.99, help="fast Griffin-Lim momentum; 0: plain [0.99]")
    gl.add_argument("--mel-inversion", choices=["nnls", "pinv"], default="nnls",
                    help="mel -> linear magnitude: non-negative least squares or clamped pseudo-inverse [nnls]")
    trained = p.add_argument_group("trained WaveNet (--vocoder EXP of model: wavenet)")
    trained.add_argument("--method", choices=["incremental", "naive"],
                         help="incremental: cached queues, one step per sample; naive: recompute the receptive "
                              "field per sample (slow, for comparison) [incremental]")
    p.set_defaults(func=run)


@dataclass
class _Item:
    utt: str
    feats: np.ndarray  # [frames, dim], as dumps store them
    wav: np.ndarray | None  # the original audio, when known


def run(args: argparse.Namespace) -> int:
    import torch

    from vc.audio.io import save_wav
    from vc.device import resolve_device
    from vc.errors import ConfigError
    from vc.evaluate.copy_synthesis import CopySynthesisScorer

    if args.batch_size < 1:
        raise ConfigError(f"--batch-size: must be >= 1, got {args.batch_size}")
    device = resolve_device(args.device)
    conf, trained = _trained_vocoder(args)
    cfg, items, count = _open_source(args, conf)
    out = Path(args.out)
    single = out.suffix.lower() == ".wav"
    check_out(out, single, count, "vocode")
    vocoder = (trained or _registered(args, cfg)).to(device).eval()
    generator = torch.Generator(device).manual_seed(args.seed)
    scorer = CopySynthesisScorer(cfg, device)
    start = time.perf_counter()
    written: dict[str, Path] = {}
    scores: list[CopySynthesisScore] = []
    seconds = 0.0
    new_dir = None if single or out.exists() else out
    with writing_into(out, single, "vc vocode"), removed_on_error(written.values, new_dir):
        for batch in _batches(items, args.batch_size):
            for item, wav in zip(batch, _vocode(vocoder, batch, cfg.hop_length, generator)):
                path = out if single else out / f"{item.utt}.wav"
                save_wav(path, wav, cfg.sample_rate)
                written[item.utt] = path
                seconds += len(wav) / cfg.sample_rate
                if item.wav is not None:
                    scores.append(scorer(item.utt, item.wav, wav))
        _write_lists(out, single, written, scores)
    wall = time.perf_counter() - start
    print(_summary(args.vocoder, vocoder, device, len(written), seconds, wall, scores, out))
    return 0


def _trained_vocoder(args: argparse.Namespace) -> tuple[FeatureConfig | None, torch.nn.Module | None]:
    """The --conf config and, for --vocoder EXP, the trained vocoder (whose config then rules)."""
    from vc.audio.config import FeatureConfig
    from vc.errors import ConfigError
    from vc.vocoders import VOCODERS, load_vocoder

    conf = FeatureConfig.load(args.conf) if args.conf else None
    options = {"method": args.method} if args.method else {}
    if args.vocoder in VOCODERS:
        if options:
            raise ConfigError(f"--method: only for a trained WaveNet, not --vocoder {args.vocoder}")
        return conf, None
    vocoder = load_vocoder(args.vocoder, conf, **options)
    return vocoder.feature_config, vocoder


def _registered(args: argparse.Namespace, cfg: FeatureConfig) -> torch.nn.Module:
    """The registered vocoder --vocoder names (gl or world), with Griffin-Lim's options for gl."""
    from vc.vocoders import build_vocoder

    options = ({"n_iter": args.iters, "momentum": args.momentum, "mel_inversion": args.mel_inversion}
               if args.vocoder == "gl" else {})
    return build_vocoder(args.vocoder, cfg, **options)


def _open_source(args: argparse.Namespace, conf: FeatureConfig | None) -> tuple[FeatureConfig, Iterator[_Item], int]:
    """The feature config, the items to vocode (read lazily) and how many there are."""
    from vc.errors import ConfigError

    given = [name for name, value in (("INPUT.wav", args.inputs), ("--data", args.data), ("--scp", args.scp)) if value]
    if len(given) != 1:
        raise ConfigError(f"give exactly one of INPUT.wav ..., --data or --scp (got {', '.join(given) or 'none'})")
    if args.scp:
        return _dump_source(args.scp, conf, args.conf or args.vocoder)
    if conf is None:
        raise ConfigError(f"--conf FEATS.yaml is required to compute features from audio for --vocoder {args.vocoder}")
    if args.data:
        return conf, *_data_source(args.data, conf, args.allow_pipes)
    return conf, *_wav_source(args.inputs, conf)


def _dump_source(scp: str, conf: FeatureConfig | None, conf_source: str) -> tuple[FeatureConfig, Iterator[_Item], int]:
    from vc.data.dump import FeatureDump

    dump = FeatureDump.open(scp)
    if conf is not None:
        conf.require_same(dump.config, f"{conf_source} (left) vs the dump {dump.root} (right)")
    items = (_Item(utt, feats, None) for utt, feats in dump.items())
    return dump.config, items, len(dump)


def _data_source(path: str, cfg: FeatureConfig, allow_pipes: bool) -> tuple[Iterator[_Item], int]:
    from vc.data.datadir import DataDir, load_utterance

    data = DataDir.read(path)
    loads = ((utt, load_utterance(data, utt, cfg.sample_rate, min_samples=cfg.win_size, allow_pipes=allow_pipes))
             for utt in data.utts)
    return _copy_synthesis(cfg, loads), len(data.utts)


def _wav_source(paths: list[str], cfg: FeatureConfig) -> tuple[Iterator[_Item], int]:
    from vc.audio.io import load_wav
    from vc.errors import ConfigError

    utts: dict[str, str] = {}
    for path in paths:
        utt = Path(path).stem
        if utt in utts:
            raise ConfigError(f"{path}: same utterance id {utt!r} (file stem) as {utts[utt]}")
        utts[utt] = path
    loads = ((utt, load_wav(path, cfg.sample_rate, min_samples=cfg.win_size)[0]) for utt, path in utts.items())
    return _copy_synthesis(cfg, loads), len(utts)


def _copy_synthesis(cfg: FeatureConfig, loads: Iterator[tuple[str, np.ndarray]]) -> Iterator[_Item]:
    from vc.audio.features import FeatureComputer

    compute = FeatureComputer(cfg)
    for utt, wav in loads:
        yield _Item(utt, compute(wav), wav)


def _batches(items: Iterator[_Item], size: int) -> Iterator[list[_Item]]:
    batch: list[_Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _vocode(vocoder: torch.nn.Module, batch: list[_Item], hop: int, generator: torch.Generator) -> list[np.ndarray]:
    """One waveform per item: as long as its original audio when known, else (frames - 1) * hop
    samples (the shortest audio that gives that many centred frames). Items shorter than
    the batch's longest are padded with their last frame, and their output is cut back."""
    import numpy as np
    import torch

    longest = max(len(item.feats) for item in batch)
    feats = np.stack([np.pad(item.feats, ((0, longest - len(item.feats)), (0, 0)), mode="edge") for item in batch])
    lengths = [len(item.wav) if item.wav is not None else (len(item.feats) - 1) * hop for item in batch]
    with torch.inference_mode():
        x = torch.from_numpy(feats).to(generator.device).transpose(1, 2)
        out = vocoder(x, length=max(lengths), generator=generator).cpu().numpy()
    return [wav[:n] for wav, n in zip(out, lengths)]


def _write_lists(out: Path, single: bool, written: dict[str, Path], scores: list[CopySynthesisScore]) -> None:
    """wav.scp for a directory; scores.tsv (``<out>.scores.tsv`` beside a single wav) when scored."""
    from vc.evaluate.copy_synthesis import write_scores

    if not single:
        write_wav_scp(out, written)
    if scores:
        write_scores(out.with_suffix(".scores.tsv") if single else out / "scores.tsv", scores)


def _summary(
    name: str, vocoder: torch.nn.Module, device: torch.device, utts: int, seconds: float, wall: float,
    scores: list[CopySynthesisScore], out: Path,
) -> str:
    from vc.evaluate.copy_synthesis import mean_scores

    settings = vocoder.extra_repr()
    text = (f"Vocoded {utts} utterance{'s' if utts != 1 else ''} ({seconds:.1f} s of audio) with {name}"
            f"{f' ({settings})' if settings else ''} on {device} in {wall:.2f} s wall time, "
            f"a real-time factor of {wall / seconds if seconds else float('inf'):.3f}")
    if scores:
        mean = mean_scores(scores)
        text += (f"; against the input audio, mean spectral convergence {mean['spectral_convergence']:.4f}, "
                 f"log-spectral distance {mean['lsd_db']:.2f} dB, multi-resolution STFT distance "
                 f"{mean['mrstft']:.3f}, MCD {mean['mcd_db']:.2f} dB")
    return f"{text}. Output: {out}"
