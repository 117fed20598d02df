"""Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013) in torch, batched, on any device.

Phase is recovered from a magnitude spectrogram [batch, freqs, frames] by alternating two
projections: onto spectrograms whose magnitude is the target, and onto consistent
spectrograms (STFT of some signal); the fast variant extrapolates each consistent estimate
along its last step (momentum), which converges in far fewer iterations than plain
Griffin-Lim. The STFT convention is vc.audio.features.Spectrogram's (periodic Hann,
centred, zero padded), so ``Spectrogram(cfg)(output)`` approximates the target.

The consistency projection is written as rfft/irfft over strided frame views with a
window-envelope normaliser computed once per call, not torch.stft/istft: istft rebuilds and
checks its envelope on every call, which for 3 s of audio takes twice as long as a whole
iteration here. Magnitudes come from the real view: complex ``abs`` is 4x slower on CPU.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal, Union

import torch
from torch import nn

from vc.audio.config import FeatureConfig
from vc.audio.features import config_mel_basis
from vc.errors import ConfigError

MelInversion = Literal["nnls", "pinv"]
# "random": uniform phase from the generator; "zeros": zero phase; a tensor: phases in radians.
PhaseInit = Union[Literal["random", "zeros"], torch.Tensor]


class FastGriffinLim(nn.Module):
    """Magnitude [batch, n_fft // 2 + 1, frames] -> waveform [batch, samples]."""

    def __init__(
        self,
        n_fft: int,
        hop_length: int,
        win_length: int | None = None,
        n_iter: int = 32,
        momentum: float = 0.99,
    ) -> None:
        super().__init__()
        win_length = win_length or n_fft
        if not 0 < hop_length <= win_length <= n_fft:
            raise ConfigError(f"griffin-lim: need 0 < hop ({hop_length}) <= win ({win_length}) <= n_fft ({n_fft})")
        if n_iter < 0:
            raise ConfigError(f"griffin-lim: n_iter must be >= 0, got {n_iter}")
        if momentum < 0:
            raise ConfigError(f"griffin-lim: momentum must be >= 0, got {momentum}")
        self.n_fft, self.hop_length, self.n_iter, self.momentum = n_fft, hop_length, n_iter, momentum
        # torch.stft centres a shorter window inside the n_fft frame; do the same once here.
        window = torch.zeros(n_fft)
        left = (n_fft - win_length) // 2
        window[left : left + win_length] = torch.hann_window(win_length, periodic=True)
        self.register_buffer("window", window, persistent=False)

    @classmethod
    def from_config(cls, cfg: FeatureConfig, n_iter: int = 32, momentum: float = 0.99) -> FastGriffinLim:
        return cls(cfg.n_fft, cfg.hop_length, cfg.win_size, n_iter, momentum)

    @torch.inference_mode()
    def forward(
        self,
        magnitude: torch.Tensor,
        length: int | None = None,
        init: PhaseInit = "random",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Waveforms of ``length`` samples (default hop * (frames - 1)) whose |STFT| approximates ``magnitude``."""
        if magnitude.dim() != 3 or magnitude.shape[1] != self.n_fft // 2 + 1:
            raise ValueError(f"expected magnitude [batch, {self.n_fft // 2 + 1}, frames], got {list(magnitude.shape)}")
        batch, _, frames = magnitude.shape
        length = self.hop_length * (frames - 1) if length is None else length
        # Work time-major, [batch, frames, freqs], so every FFT runs over contiguous memory.
        target = magnitude.transpose(1, 2).to(self.window.dtype).contiguous()
        inv_envelope = self._inverse_envelope(frames, length)
        estimate = self._initial_phase(target, init, generator)
        previous = torch.zeros_like(estimate)
        # FGLA's c_n = t_n + a (t_n - t_{n-1}) up to a positive scale, which the phase
        # normalisation removes; this is librosa's form, so a = 0 is plain Griffin-Lim.
        beta = self.momentum / (1 + self.momentum)
        for _ in range(self.n_iter):
            signal = self._synthesise(estimate, target, inv_envelope)
            rebuilt = torch.fft.rfft(signal.unfold(-1, self.n_fft, self.hop_length) * self.window)
            estimate = torch.sub(rebuilt, previous, alpha=beta)
            previous = rebuilt
        signal = self._synthesise(estimate, target, inv_envelope)
        start = self.n_fft // 2
        out = signal[:, start : start + length]
        return nn.functional.pad(out, (0, length - out.shape[1])) if out.shape[1] < length else out

    def _initial_phase(self, target: torch.Tensor, init: PhaseInit, generator: torch.Generator | None) -> torch.Tensor:
        """Unit phasors [batch, frames, freqs]; only their angle matters."""
        if isinstance(init, torch.Tensor):
            phase = init.to(target).transpose(-1, -2).expand_as(target)
        elif init == "random":
            uniform = torch.rand(target.shape, generator=generator, device=generator.device if generator else None)
            phase = (2 * math.pi) * uniform.to(target)
        elif init == "zeros":
            phase = torch.zeros_like(target)
        else:
            raise ValueError(f"griffin-lim: init must be 'random', 'zeros' or a phase tensor, got {init!r}")
        return torch.complex(phase.cos(), phase.sin())

    def _synthesise(self, estimate: torch.Tensor, target: torch.Tensor, inv_envelope: torch.Tensor) -> torch.Tensor:
        """Give ``estimate`` the target magnitude, invert it and return the padded signal."""
        # |c| from squared real parts: complex abs is unvectorised on CPU and 4x slower.
        squares = torch.view_as_real(estimate).square()
        magnitude = torch.add(squares[..., 0], squares[..., 1]).sqrt_().add_(torch.finfo(target.dtype).tiny)
        frames = torch.fft.irfft(estimate * (target / magnitude), n=self.n_fft).mul_(self.window)
        return self._overlap_add(frames, inv_envelope.shape[-1]).mul_(inv_envelope)

    def _overlap_add(self, frames: torch.Tensor, total: int) -> torch.Tensor:
        """Sum frames [batch, frames, n_fft] placed every hop samples into [batch, total]."""
        batch, count, n_fft = frames.shape
        hop = self.hop_length
        out = frames.new_zeros(batch, total)
        # Adding the frames' hop-wide slices in turn: each add touches non-overlapping windows.
        for start in range(0, n_fft, hop):
            width = min(hop, n_fft - start)
            span = out[:, start : start + (count - 1) * hop + width]
            span.unfold(-1, width, hop).add_(frames[..., start : start + width])
        return out

    def _inverse_envelope(self, frames: int, length: int) -> torch.Tensor:
        """1 / (summed squared windows) inside the kept ``length`` samples, 0 elsewhere.

        Zeroing outside the kept span does istft's trimming and stft's zero padding in one
        multiply, so each iteration stays in the padded domain.
        """
        total = self.n_fft + self.hop_length * (frames - 1)
        squares = self.window.square().expand(1, frames, self.n_fft)
        envelope = self._overlap_add(squares, total)[0]
        keep = torch.zeros_like(envelope)
        keep[self.n_fft // 2 : self.n_fft // 2 + length] = 1
        # Where no window reaches (hop == n_fft gaps) nothing can be recovered: leave zeros.
        return torch.where(envelope > 1e-11, keep / envelope.clamp_min(1e-11), torch.zeros_like(envelope))


class MelInverter(nn.Module):
    """Mel magnitude [batch, n_mels, frames] -> linear magnitude [batch, freqs, frames].

    ``pinv`` is the pseudo-inverse clamped at zero. ``nnls`` starts there and runs FISTA
    (accelerated projected gradient) on min ||M x - y||^2 subject to x >= 0; on speech, 32
    steps cut the relative mel residual from 4e-2 to 5e-4 and the error against the true
    magnitude from 0.36 to 0.33. Each mel filter touches a few bins, so M is applied as a
    sparse CSR matrix: 2-5x faster than dense on CPU.
    """

    def __init__(self, cfg: FeatureConfig, method: MelInversion = "nnls", n_iter: int = 32) -> None:
        super().__init__()
        if method not in ("nnls", "pinv"):
            raise ConfigError(f"mel inversion must be 'nnls' or 'pinv', got {method!r}")
        self.method, self.n_iter = method, n_iter
        basis = torch.from_numpy(config_mel_basis(cfg).astype("float32"))
        self.register_buffer("pinv", torch.linalg.pinv(basis), persistent=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
            self.register_buffer("basis", basis.to_sparse_csr(), persistent=False)
            self.register_buffer("basis_t", basis.T.contiguous().to_sparse_csr(), persistent=False)
        # 1 / Lipschitz constant of the gradient M^T (M x - y): the safe fixed step.
        self.step = float(1 / torch.linalg.matrix_norm(basis.double(), ord=2) ** 2)

    @torch.inference_mode()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        batch, n_mels, frames = mel.shape
        # Sparse matmul takes 2-D operands: put every frame of the batch side by side.
        target = mel.transpose(0, 1).reshape(n_mels, batch * frames)
        x = torch.matmul(self.pinv, target).clamp_min_(0)
        y, t = x, 1.0
        for _ in range(self.n_iter if self.method == "nnls" else 0):
            residual = torch.sub(self.basis @ y, target)
            x_next = torch.addmm(y, self.basis_t, residual, alpha=-self.step).clamp_min_(0)
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y = torch.lerp(x_next, x, -(t - 1) / t_next)
            x, t = x_next, t_next
        return x.view(-1, batch, frames).transpose(0, 1)


class GriffinLim(nn.Module):
    """Stored log features -> waveforms, for feature configs of kind logmel or linear.

    Takes what FeatureComputer/the dumps hold, transposed to [batch, dim, frames]; the
    log is undone with exp, log-mel is mapped back to linear magnitude, then fast
    Griffin-Lim recovers the phase.
    """

    def __init__(
        self,
        cfg: FeatureConfig,
        n_iter: int = 32,
        momentum: float = 0.99,
        mel_inversion: MelInversion = "nnls",
        nnls_iter: int = 32,
    ) -> None:
        super().__init__()
        if cfg.kind not in ("logmel", "linear"):
            raise ConfigError(
                f"griffin-lim vocodes log-mel or log-linear features; the feature config has kind "
                f"{cfg.kind!r} (WORLD features are synthesised by the WORLD vocoder)"
            )
        self.cfg = cfg
        self.mel = MelInverter(cfg, mel_inversion, nnls_iter) if cfg.kind == "logmel" else None
        self.phase = FastGriffinLim.from_config(cfg, n_iter, momentum)

    def extra_repr(self) -> str:
        settings = f"{self.phase.n_iter} iterations, momentum {self.phase.momentum}"
        return f"{settings}, {self.mel.method} mel inversion" if self.mel is not None else settings

    def magnitude(self, feats: torch.Tensor) -> torch.Tensor:
        """Linear magnitude [batch, freqs, frames] from log features [batch, dim, frames]."""
        if feats.dim() != 3 or feats.shape[1] != self.cfg.dim:
            raise ConfigError(
                f"griffin-lim: expected features [batch, {self.cfg.dim}, frames] for kind "
                f"{self.cfg.kind!r}, got {list(feats.shape)}"
            )
        magnitude = feats.to(self.phase.window).exp()
        return self.mel(magnitude) if self.mel is not None else magnitude

    @torch.inference_mode()
    def forward(
        self,
        feats: torch.Tensor,
        length: int | None = None,
        init: PhaseInit = "random",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        return self.phase(self.magnitude(feats), length, init, generator)


def spectral_convergence(target: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """||T - E||_F / ||T||_F over the last two dims (freqs, frames) of magnitude spectrograms."""
    return torch.linalg.matrix_norm(target - estimate) / torch.linalg.matrix_norm(target)


def log_spectral_distance(target: torch.Tensor, estimate: torch.Tensor, floor: float = 1e-5) -> torch.Tensor:
    """Mean over frames of the RMS over freqs of 20 log10(T / E), in dB; magnitudes floored at ``floor``."""
    ratio = 20 * torch.log10(target.clamp_min(floor) / estimate.clamp_min(floor))
    return ratio.square().mean(dim=-2).sqrt().mean(dim=-1)
