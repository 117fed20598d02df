"""Spectral features in torch, batched, on any device: |STFT|, log-linear and log-mel.

Modules take waveforms [batch, samples] and return [batch, dim, frames] (channels first,
as the models want them). Dumps store the transpose, [frames, dim], as Kaldi does.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from vc.audio.config import FeatureConfig


@functools.lru_cache(maxsize=16)
def mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised mel filters [n_mels, n_fft // 2 + 1], built once per setting."""
    import librosa

    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    basis.setflags(write=False)
    return basis


def config_mel_basis(cfg: FeatureConfig) -> np.ndarray:
    return mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.mel_fmax)


class Spectrogram(nn.Module):
    """Magnitude STFT with centred, zero-padded frames (librosa's defaults since 0.10).

    ``center=False`` frames the input as given, for a caller that pads it itself (a stream
    computing frames as their samples arrive)."""

    def __init__(self, cfg: FeatureConfig, center: bool = True) -> None:
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = cfg.n_fft, cfg.hop_length, cfg.win_size
        self.center = center
        # Periodic Hann, as librosa/scipy get_window(fftbins=True) make it.
        self.register_buffer("window", torch.hann_window(cfg.win_size, periodic=True), persistent=False)

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        return torch.stft(
            wav, self.n_fft, self.hop_length, self.win_length, self.window,
            center=self.center, pad_mode="constant", return_complex=True,
        )

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        # sqrt(re^2 + im^2) on the real view: 1.5x faster than complex abs() on CPU here.
        spec = torch.view_as_real(self.stft(wav))
        return (spec[..., 0].square() + spec[..., 1].square()).sqrt()


class LogLinearSpectrogram(Spectrogram):
    """log(max(|STFT|, floor)): [batch, n_fft // 2 + 1, frames]."""

    def __init__(self, cfg: FeatureConfig, center: bool = True) -> None:
        super().__init__(cfg, center)
        self.log_floor = cfg.log_floor

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return super().forward(wav).clamp_min(self.log_floor).log()


class LogMelSpectrogram(Spectrogram):
    """log(max(mel @ |STFT|, floor)): [batch, n_mels, frames]."""

    def __init__(self, cfg: FeatureConfig, center: bool = True) -> None:
        super().__init__(cfg, center)
        self.log_floor = cfg.log_floor
        self.register_buffer("mel", torch.from_numpy(config_mel_basis(cfg).copy()), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.mel, super().forward(wav)).clamp_min(self.log_floor).log()


def spectral_extractor(cfg: FeatureConfig, center: bool = True) -> Spectrogram:
    """The torch module computing ``cfg.kind`` (logmel or linear)."""
    if cfg.kind == "logmel":
        return LogMelSpectrogram(cfg, center)
    if cfg.kind == "linear":
        return LogLinearSpectrogram(cfg, center)
    raise ValueError(f"kind {cfg.kind!r} is not a spectral feature; WORLD lives in vc.audio.world")


class FeatureComputer:
    """One utterance in, one [frames, dim] float32 matrix out, for any feature kind.

    Holds its torch module so mel filters and windows are built once per process.
    """

    def __init__(self, cfg: FeatureConfig, device: str | torch.device = "cpu") -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.module = None if cfg.kind == "world" else spectral_extractor(cfg).to(self.device)

    @torch.inference_mode()
    def __call__(self, wav: np.ndarray) -> np.ndarray:
        if self.module is None:
            from vc.audio.world import world_features

            return world_features(wav, self.cfg)
        x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32)).to(self.device)
        return self.module(x[None])[0].T.contiguous().cpu().numpy()
