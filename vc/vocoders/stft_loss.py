"""Multi-resolution STFT loss (Yamamoto et al. 2020, Parallel WaveGAN), as modules.

For a generated waveform x and the real one y, at each STFT resolution:

    spectral convergence  SC  = || |Y| - |X| ||_F / || |Y| ||_F   (over the whole batch)
    log STFT magnitude    mag = mean | log|Y| - log|X| |

with magnitudes ``sqrt(max(re^2 + im^2, 1e-7))``, as the public Parallel WaveGAN code
computes them. :class:`MultiResolutionSTFTLoss` averages both over its resolutions. The
STFTs use the complex ``torch.stft`` path (the deprecated real-valued one is slower) and run
in float32 even inside an autocast region: bf16 magnitudes are too coarse for a loss.
"""

from __future__ import annotations

import torch
from torch import nn

from vc.config import PositiveInt

POWER_FLOOR = 1e-7  # floor of re^2 + im^2: keeps log and sqrt (and their gradients) finite


def stft_magnitude(x: torch.Tensor, fft_size: int, hop_size: int, window: torch.Tensor) -> torch.Tensor:
    """Waveforms [B, T] -> floored magnitudes [B, fft_size // 2 + 1, frames] (centred, reflect padding)."""
    spec = torch.stft(x, fft_size, hop_size, window.shape[0], window, return_complex=True)
    # From the real view: complex abs is several times slower on CPU and has no floor.
    return torch.view_as_real(spec).square().sum(-1).clamp_min(POWER_FLOOR).sqrt()


class STFTLoss(nn.Module):
    """(spectral convergence, log STFT magnitude L1) of x against y at one resolution."""

    def __init__(self, fft_size: int = 1024, hop_size: int = 120, win_length: int = 600, window: str = "hann") -> None:
        super().__init__()
        if not (hop_size > 0 and 0 < win_length <= fft_size):
            raise ValueError(f"need hop_size > 0 and 0 < win_length <= fft_size, got fft_size {fft_size}, "
                             f"hop_size {hop_size}, win_length {win_length}")
        make_window = getattr(torch, f"{window}_window", None)
        if make_window is None:
            raise ValueError(f"unknown window {window!r} (torch has no {window}_window)")
        self.fft_size, self.hop_size = fft_size, hop_size
        self.register_buffer("window", make_window(win_length), persistent=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (generated), y (real): waveforms [B, T] -> (sc, mag), float32 scalars."""
        with torch.autocast(x.device.type, enabled=False):
            x_mag = stft_magnitude(x.float(), self.fft_size, self.hop_size, self.window)
            y_mag = stft_magnitude(y.float(), self.fft_size, self.hop_size, self.window)
            sc = torch.linalg.vector_norm(y_mag - x_mag) / torch.linalg.vector_norm(y_mag)
            mag = (y_mag.log() - x_mag.log()).abs().mean()
        return sc, mag

    def extra_repr(self) -> str:
        return f"fft_size={self.fft_size}, hop_size={self.hop_size}, win_length={self.window.shape[0]}"


class MultiResolutionSTFTLoss(nn.Module):
    """STFTLoss at several resolutions (defaults: Parallel WaveGAN's), averaged."""

    def __init__(
        self,
        fft_sizes: tuple[PositiveInt, ...] = (1024, 2048, 512),
        hop_sizes: tuple[PositiveInt, ...] = (120, 240, 50),
        win_lengths: tuple[PositiveInt, ...] = (600, 1200, 240),
        window: str = "hann",
    ) -> None:
        super().__init__()
        if not len(fft_sizes) == len(hop_sizes) == len(win_lengths) or not fft_sizes:
            raise ValueError(f"fft_sizes, hop_sizes and win_lengths need one entry per resolution (at least one), "
                             f"got {list(fft_sizes)}, {list(hop_sizes)}, {list(win_lengths)}")
        self.losses = nn.ModuleList(STFTLoss(f, h, w, window) for f, h, w in zip(fft_sizes, hop_sizes, win_lengths))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (generated), y (real): waveforms [B, T] -> (sc, mag), each the mean over resolutions."""
        sc, mag = zip(*(loss(x, y) for loss in self.losses))
        return torch.stack(sc).mean(), torch.stack(mag).mean()

    @torch.no_grad()
    def distance(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """sc + mag between two waveforms [T] or [B, T], cut to the shorter length (a vocoder's
        output may stop a few samples before the original); for scoring, no gradient."""
        length = min(x.shape[-1], y.shape[-1])
        x, y = x[..., :length].reshape(-1, length), y[..., :length].reshape(-1, length)
        sc, mag = self(x.to(self.losses[0].window.device), y.to(self.losses[0].window.device))
        return float(sc + mag)
