"""Streaming phase reconstruction (vc.vocoders.streaming_phase) against offline Griffin-Lim and random phase.

For each utterance (the CMU ARCTIC sample pysptk ships and synthetic-corpus wavs, 16 kHz,
n_fft 1024, hop 256) and each feature kind, the features are vocoded by every method and
the output is analysed again:
  SC   spectral convergence of its |STFT| against the magnitude the vocoder was given
       (log-linear: the true |STFT|; log-mel: the NNLS mel inversion of it)
  LSD  log-spectral distance to that magnitude, dB
  LMD  mean |log-mel(output) - log-mel(input wav)| over frames and mels, dB (8.69 dB a nat)
  RTF  CPU seconds per second of audio, one thread: whole utterance in one push, and one
       frame per push (what a streaming converter does; log-mel inverts 16-column chunks)
Means over the utterances; lower is better everywhere.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from common import speech, table
from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer, Spectrogram
from vc.audio.io import load_wav
from vc.vocoders.streaming_phase import StreamingPhaseVocoder, vocode_offline
from vc.vocoders.griffin_lim import GriffinLim, log_spectral_distance, spectral_convergence

CORPUS = Path(__file__).resolve().parent.parent / "egs" / "synth" / "vc1" / "corpus" / "wav"
DB_PER_NAT = 20 / np.log(10)

# Row name -> (method, options); None is offline Griffin-Lim with that many iterations.
STREAMING = {
    "rtpghi, lookahead 0": ("rtpghi", {"lookahead": 0}),
    "rtpghi, lookahead 1": ("rtpghi", {"lookahead": 1}),
    **{f"rtisi_la, lookahead {k}, 8 it, partial init": ("rtisi_la", {"lookahead": k, "iterations": 8,
                                                                       "init": "partial"})
       for k in (1, 2, 3)},
    **{f"rtisi_la, lookahead {k}, {it} it, rtpghi init": ("rtisi_la", {"lookahead": k, "iterations": it})
       for k in (1, 2, 3) for it in (4, 8)},
}


def utterances(paths: list[str], count: int) -> list[tuple[str, np.ndarray]]:
    """``paths``, or the ARCTIC sample and one corpus wav from each of ``count - 1`` voices spread
    over the corpus' espeak-ng, festival and flite voices."""
    if paths:
        return [(Path(p).stem, load_wav(p, 16000)[0]) for p in paths]
    voices = sorted(d for d in CORPUS.iterdir() if d.is_dir())
    spread = np.linspace(0, len(voices) - 1, count - 1).round().astype(int)
    picked = [sorted(voices[i].glob("*.wav"))[0] for i in spread]
    return [("arctic_a0007", speech(4.0))] + [(p.stem, load_wav(p, 16000)[0]) for p in picked]


def cpu_seconds(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def per_frame(cfg: FeatureConfig, feats: np.ndarray, method: str, opts: dict) -> np.ndarray:
    vocoder = StreamingPhaseVocoder(cfg, method, **opts)
    return np.concatenate([vocoder.push(feats[t : t + 1]) for t in range(len(feats))] + [vocoder.flush()])


def evaluate(kind: str, wavs: list[tuple[str, np.ndarray]]) -> list[list[str]]:
    cfg = FeatureConfig(kind=kind)
    spectrogram, logmel = Spectrogram(cfg), FeatureComputer(FeatureConfig(kind="logmel"))
    griffin_lim = {n: GriffinLim(cfg, n_iter=n) for n in (0, 32)}
    names = ["griffin-lim offline, 32 it", "random phase", *STREAMING]
    scores: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for _, wav in wavs:
        feats = FeatureComputer(cfg)(wav)
        batch = torch.from_numpy(feats).T[None]
        target = griffin_lim[0].magnitude(batch)
        reference = logmel(wav)
        seconds = len(wav) / cfg.sample_rate

        def score(out: np.ndarray, *cpu: float) -> np.ndarray:
            out = np.ascontiguousarray(out[: len(wav)], dtype=np.float32)
            estimate = spectrogram(torch.from_numpy(out)[None])
            lmd = DB_PER_NAT * np.abs(logmel(out) - reference).mean()
            return np.array([float(spectral_convergence(target, estimate)[0]),
                             float(log_spectral_distance(target, estimate)[0]), lmd,
                             *(c / seconds for c in cpu)])

        for name, n_iter in (("griffin-lim offline, 32 it", 32), ("random phase", 0)):
            generator = torch.Generator().manual_seed(0)
            out, cpu = cpu_seconds(lambda: griffin_lim[n_iter](batch, len(wav), generator=generator)[0].numpy())
            scores[name].append(score(out, cpu, np.nan))
        for name, (method, opts) in STREAMING.items():
            out, cpu = cpu_seconds(lambda: vocode_offline(cfg, feats, method, **opts))
            streamed, cpu_stream = cpu_seconds(lambda: per_frame(cfg, feats, method, opts))
            assert np.array_equal(out, streamed), f"{name}: one-frame pushes differ from the whole utterance"
            scores[name].append(score(out, cpu, cpu_stream))
    rows = []
    for name in names:
        sc, lsd, lmd, rtf, rtf_stream = np.mean(scores[name], axis=0)
        rows.append([name, f"{sc:.4f}", f"{lsd:.2f}", f"{lmd:.2f}", f"{rtf:.4f}",
                     "-" if np.isnan(rtf_stream) else f"{rtf_stream:.4f}"])
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wavs", nargs="*", default=[], help="utterances [the ARCTIC sample + corpus wavs]")
    p.add_argument("--count", type=int, default=10, help="utterances when --wavs is not given [10]")
    p.add_argument("--kinds", nargs="+", default=["logmel", "linear"], choices=["logmel", "linear"])
    args = p.parse_args()
    torch.set_num_threads(1)
    wavs = utterances(args.wavs, args.count)
    total = sum(len(w) for _, w in wavs) / 16000
    print(f"torch {torch.__version__}, 1 thread; {len(wavs)} utterances, {total:.1f} s: "
          + ", ".join(name for name, _ in wavs))
    for kind in args.kinds:
        print(f"\n{kind} features (16 kHz, n_fft 1024, hop 256); means over utterances")
        print(table(["method", "SC", "LSD dB", "LMD dB", "RTF whole", "RTF 1-frame"], evaluate(kind, wavs)))


if __name__ == "__main__":
    main()
