"""The WORLD vocoder: packed WORLD features -> waveforms, by pyworld's synthesis.

It has nothing to learn and nothing to tune: each utterance's mel-cepstrum, F0 (the
continuous log-F0 where the voiced flag is set) and coded aperiodicity are decoded and
synthesised as :func:`vc.audio.world.synthesize` does. It runs on the CPU in numpy, one
utterance after the other, whatever device its input is on.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vc.audio.config import FeatureConfig
from vc.errors import ConfigError


class WorldVocoder(nn.Module):
    """WORLD features [batch, dim, frames], as dumps store them transposed -> waveforms [batch, samples]."""

    def __init__(self, cfg: FeatureConfig) -> None:
        super().__init__()
        if cfg.kind != "world":
            raise ConfigError(f"the world vocoder synthesises WORLD features; the feature config has kind "
                              f"{cfg.kind!r} (use gl)")
        self.cfg = cfg

    @torch.inference_mode()
    def forward(self, feats: torch.Tensor, length: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Waveforms of ``length`` samples (default hop * (frames - 1)), trimmed or zero-padded to it.
        ``generator`` is accepted for the vocoders' common call and unused: synthesis is deterministic."""
        from vc.audio.world import synthesize, unpack

        if feats.dim() != 3 or feats.shape[1] != self.cfg.dim:
            raise ConfigError(f"world vocoder: expected features [batch, {self.cfg.dim}, frames], "
                              f"got {list(feats.shape)}")
        length = self.cfg.hop_length * (feats.shape[-1] - 1) if length is None else length
        frames = feats.transpose(1, 2).float().cpu().numpy()
        out = [_fit_length(synthesize(unpack(x, self.cfg), self.cfg), length) for x in frames]
        return torch.from_numpy(np.stack(out)).to(feats.device)


def _fit_length(wav: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad to ``length`` samples (WORLD's output length follows its frame count)."""
    return np.pad(wav[:length], (0, max(0, length - len(wav))))
