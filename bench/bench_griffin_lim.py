"""Griffin-Lim: ours (vc.vocoders, torch) vs librosa, from the same magnitude and initial phase.

3 s of speech at 16 kHz, n_fft 1024, hop 256, momentum 0.99 on both sides; quality is the
spectral convergence of each output's |STFT| against the true magnitude. A last row
times the whole log-mel -> audio path (NNLS mel inversion + 32 iterations) against
librosa's mel_to_stft + griffinlim (what mel_to_audio runs). The closing lines give
Griffin-Lim's real-time factor as a vocoder on the neural vocoders' benchmark input: 80
log-mels x 431 frames at 22.05 kHz, hop 256 (5.0 s), with 32 and 100 iterations.
"""

from __future__ import annotations

import librosa
import numpy as np
import torch

from common import median_seconds, ms, parser, setup, speech, table
from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer, Spectrogram
from vc.vocoders import FastGriffinLim, GriffinLim, spectral_convergence

TARGET = 2.5  # speed-up over librosa at equal quality this toolkit aims for
ANCHOR_MS = 120  # ../shared/ANCHORS.md: librosa.griffinlim, this setting, 32 iterations


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=3.0, help="audio length [3]")
    p.add_argument("--seed", type=int, default=0, help="seed of the shared random initial phase [0]")
    args = p.parse_args()
    device = setup(args)
    cfg = FeatureConfig(n_fft=1024, hop_length=256)
    wav = speech(args.seconds)
    spectrogram = Spectrogram(cfg)
    magnitude = spectrogram(torch.from_numpy(wav)[None])
    target = magnitude[0].numpy()

    def quality(out: np.ndarray | torch.Tensor) -> float:
        estimate = spectrogram(torch.as_tensor(out).cpu().reshape(1, -1))
        return float(spectral_convergence(magnitude, estimate)[0])

    # librosa draws its phase as rng.random(S.shape); ours is handed the same draw.
    phase = torch.from_numpy(2 * np.pi * np.random.default_rng(args.seed).random(target.shape)).to(device)
    on_device = magnitude.to(device)

    def griffinlim(spec: np.ndarray, n_iter: int) -> np.ndarray:
        return librosa.griffinlim(spec, n_iter=n_iter, hop_length=cfg.hop_length, n_fft=cfg.n_fft, window="hann",
                                  center=True, pad_mode="constant", momentum=0.99, init="random",
                                  random_state=np.random.default_rng(args.seed), length=len(wav))

    rows = []
    anchor_ratio = 0.0
    for n_iter in (32, 100):
        gl = FastGriffinLim.from_config(cfg, n_iter, 0.99).to(device)

        def ours() -> torch.Tensor:
            return gl(on_device, length=len(wav), init=phase)

        def theirs() -> np.ndarray:
            return griffinlim(target, n_iter)

        t_ours, t_theirs = median_seconds(ours, args, device), median_seconds(theirs, args)
        anchor_ratio = anchor_ratio or ANCHOR_MS / 1e3 / t_ours
        rows.append([f"|STFT| -> audio, {n_iter} it", ms(t_ours), ms(t_theirs), f"{t_theirs / t_ours:.2f}x",
                     f"{quality(ours()):.4f}", f"{quality(theirs()):.4f}"])

    logmel = torch.from_numpy(FeatureComputer(cfg)(wav)).T[None].to(device)
    vocoder = GriffinLim(cfg, n_iter=32, mel_inversion="nnls").to(device)
    mel = np.exp(logmel[0].cpu().numpy())

    def ours_mel() -> torch.Tensor:
        return vocoder(logmel, length=len(wav), init=phase)

    def theirs_mel() -> np.ndarray:
        # What mel_to_audio does, with griffinlim given the shared seed (mel_to_audio cannot pass it).
        linear = librosa.feature.inverse.mel_to_stft(mel, sr=cfg.sample_rate, n_fft=cfg.n_fft, power=1.0,
                                                     fmin=cfg.fmin, fmax=cfg.mel_fmax)
        return griffinlim(linear, 32)

    t_ours, t_theirs = median_seconds(ours_mel, args, device), median_seconds(theirs_mel, args)
    rows.append(["log-mel -> audio, nnls + 32 it", ms(t_ours), ms(t_theirs), f"{t_theirs / t_ours:.2f}x",
                 f"{quality(ours_mel()):.4f}", f"{quality(theirs_mel()):.4f}"])

    print(f"{args.seconds:g} s of speech at 16 kHz, n_fft {cfg.n_fft}, hop {cfg.hop_length}, momentum 0.99; "
          f"target: ours >= {TARGET:g}x librosa at equal spectral convergence (SC, lower is better); "
          f"ANCHORS.md has librosa at {ANCHOR_MS} ms for 32 iterations")
    print(table(["task", "ours", "librosa", "speed-up", "SC ours", "SC librosa"], rows))
    print(f"32 iterations against the ANCHORS.md figure ({ANCHOR_MS} ms): {anchor_ratio:.2f}x")
    print(vocoder_rtf(args, device))


def vocoder_rtf(args, device: torch.device) -> str:
    """Griffin-Lim as a vocoder on the 5 s, 22.05 kHz log-mel the neural vocoder benchmarks use."""
    cfg = FeatureConfig(sample_rate=22050, n_fft=1024, hop_length=256, fmax=None)
    wav = speech(5.0, cfg.sample_rate)[: 430 * cfg.hop_length]  # 431 centred frames
    logmel = torch.from_numpy(FeatureComputer(cfg)(wav)).T[None].to(device)
    parts = []
    for n_iter in (32, 100):
        vocoder = GriffinLim(cfg, n_iter=n_iter).to(device)
        seconds = median_seconds(lambda: vocoder(logmel, length=len(wav)), args, device)
        parts.append(f"{n_iter} iterations {ms(seconds)} (RTF {seconds / (len(wav) / cfg.sample_rate):.4f})")
    return f"log-mel [80, {logmel.shape[-1]}] -> 5.0 s at 22.05 kHz: " + ", ".join(parts)


if __name__ == "__main__":
    main()
