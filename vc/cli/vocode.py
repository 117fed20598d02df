"""`vc vocode`: features -> waveforms, as copy synthesis from audio or from a feature dump.

Copy synthesis (wav files or a data dir) computes the features here and scores each output
against its input's |STFT|, so one command measures what a vocoder loses.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from vc.cli.outputs import check_out, removed_on_error, write_wav_scp

if TYPE_CHECKING:
    import numpy as np
    import torch

    from vc.audio.config import FeatureConfig

SCORES_HEADER = "utt\tseconds\tspectral_convergence\tlsd_db"


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
    p.add_argument("--vocoder", default="gl", help="vocoder: gl (Griffin-Lim) [gl]")
    p.add_argument("--conf", metavar="FEATS.yaml",
                   help="feature config; required for audio inputs, checked against the dump's with --scp")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="[auto]")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initial phase [0]")
    p.add_argument("--allow-pipes", action="store_true", help="run 'cmd |' entries of the data dir's wav.scp")
    gl = p.add_argument_group("Griffin-Lim (--vocoder gl)")
    gl.add_argument("--iters", type=int, default=32, help="iterations [32]")
    gl.add_argument("--momentum", type=float, default=0.99, help="fast Griffin-Lim momentum; 0: plain [0.99]")
    gl.add_argument("--mel-inversion", choices=["nnls", "pinv"], default="nnls",
                    help="mel -> linear magnitude: non-negative least squares or clamped pseudo-inverse [nnls]")
    p.set_defaults(func=run)


@dataclass
class _Item:
    utt: str
    feats: np.ndarray  # [frames, dim], as dumps store them
    wav: np.ndarray | None  # the original audio, when known


@dataclass
class _Score:
    utt: str
    seconds: float
    convergence: float
    lsd: float


def run(args: argparse.Namespace) -> int:
    import torch

    from vc.audio.features import Spectrogram
    from vc.audio.io import save_wav
    from vc.device import resolve_device
    from vc.vocoders import build_vocoder

    cfg, items, count = _open_source(args)
    out = Path(args.out)
    single = out.suffix.lower() == ".wav"
    check_out(out, single, count, "vocode")
    device = resolve_device(args.device)
    vocoder = build_vocoder(args.vocoder, cfg, **_vocoder_params(args)).to(device).eval()
    generator = torch.Generator(device).manual_seed(args.seed)
    spectrogram = Spectrogram(cfg).to(device)
    start = time.perf_counter()
    written: dict[str, Path] = {}
    scores: list[_Score] = []
    seconds = 0.0
    with removed_on_error(written.values, None if single or out.exists() else out):
        for item in items:
            path = out if single else out / f"{item.utt}.wav"
            wav, quality = _vocode(vocoder, spectrogram, item, generator)
            save_wav(path, wav, cfg.sample_rate)
            written[item.utt] = path
            seconds += len(wav) / cfg.sample_rate
            if quality is not None:
                scores.append(_Score(item.utt, len(wav) / cfg.sample_rate, *quality))
        _write_lists(out, single, written, scores)
    wall = time.perf_counter() - start
    print(_summary(args.vocoder, vocoder, device, len(written), seconds, wall, scores, out))
    return 0


def _open_source(args: argparse.Namespace) -> tuple[FeatureConfig, Iterator[_Item], int]:
    """The feature config, the items to vocode (read lazily) and how many there are."""
    from vc.audio.config import FeatureConfig
    from vc.errors import ConfigError

    given = [name for name, value in (("INPUT.wav", args.inputs), ("--data", args.data), ("--scp", args.scp)) if value]
    if len(given) != 1:
        raise ConfigError(f"give exactly one of INPUT.wav ..., --data or --scp (got {', '.join(given) or 'none'})")
    conf = FeatureConfig.load(args.conf) if args.conf else None
    if args.scp:
        return _dump_source(args.scp, conf, args.conf)
    if conf is None:
        raise ConfigError("--conf FEATS.yaml is required to compute features from audio")
    if args.data:
        return conf, *_data_source(args.data, conf, args.allow_pipes)
    return conf, *_wav_source(args.inputs, conf)


def _dump_source(
    scp: str, conf: FeatureConfig | None, conf_path: str | None
) -> tuple[FeatureConfig, Iterator[_Item], int]:
    from vc.data.dump import FeatureDump

    dump = FeatureDump.open(scp)
    if conf is not None:
        conf.require_same(dump.config, f"--conf {conf_path} (left) vs the dump {dump.root} (right)")
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


def _vocode(
    vocoder: torch.nn.Module, spectrogram: torch.nn.Module, item: _Item, generator: torch.Generator
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """The waveform for ``item`` and, with its original audio known, its spectral convergence
    and log-spectral distance against that audio."""
    import torch

    from vc.vocoders import log_spectral_distance, spectral_convergence

    device = generator.device
    feats = torch.tensor(item.feats, device=device).T[None]  # a copy: dump arrays are read-only
    with torch.inference_mode():
        if item.wav is None:
            return vocoder(feats, generator=generator)[0].cpu().numpy(), None
        out = vocoder(feats, length=len(item.wav), generator=generator)
        target = spectrogram(torch.from_numpy(item.wav).to(device)[None])
        estimate = spectrogram(out)
        quality = float(spectral_convergence(target, estimate)[0]), float(log_spectral_distance(target, estimate)[0])
    return out[0].cpu().numpy(), quality


def _vocoder_params(args: argparse.Namespace) -> dict[str, Any]:
    """Constructor options of the chosen vocoder from its option group."""
    if args.vocoder == "gl":
        return {"n_iter": args.iters, "momentum": args.momentum, "mel_inversion": args.mel_inversion}
    return {}


def _write_lists(out: Path, single: bool, written: dict[str, Path], scores: list[_Score]) -> None:
    """wav.scp for a directory; scores.tsv (``<out>.scores.tsv`` beside a single wav) when scored."""
    from vc.utils import atomic_write_text

    if not single:
        write_wav_scp(out, written)
    if scores:
        rows = [f"{s.utt}\t{s.seconds:.3f}\t{s.convergence:.5f}\t{s.lsd:.4f}"
                for s in sorted(scores, key=lambda s: s.utt)]
        path = out.with_suffix(".scores.tsv") if single else out / "scores.tsv"
        atomic_write_text(path, "\n".join([SCORES_HEADER, *rows]) + "\n")


def _summary(
    name: str, vocoder: torch.nn.Module, device: torch.device, utts: int, seconds: float, wall: float,
    scores: list[_Score], out: Path,
) -> str:
    settings = vocoder.extra_repr()
    text = (f"Vocoded {utts} utterance{'s' if utts != 1 else ''} ({seconds:.1f} s of audio) with {name}"
            f"{f' ({settings})' if settings else ''} on {device} in {wall:.2f} s wall time, "
            f"a real-time factor of {wall / seconds if seconds else float('inf'):.3f}")
    if scores:
        convergence = sum(s.convergence for s in scores) / len(scores)
        lsd = sum(s.lsd for s in scores) / len(scores)
        text += (f"; against the input audio, mean spectral convergence {convergence:.4f} and "
                 f"mean log-spectral distance {lsd:.2f} dB")
    return f"{text}. Output: {out}"
