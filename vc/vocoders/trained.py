"""A vocoder trained with `vc train` (``model: wavenet`` or ``parallel_wavenet``), used like
Griffin-Lim: raw features [B, dim, frames] -> waveforms [B, samples].

Its checkpoint carries the feature config and the statistics it was trained with, so
normalisation happens here and features of another config are refused by name.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vc.audio.config import FeatureConfig
from vc.audio.stats import FeatureStats
from vc.errors import ConfigError
from vc.vocoders.base import VocoderModel


class TrainedVocoder(nn.Module):
    def __init__(self, model: VocoderModel, feature_config: FeatureConfig, stats: FeatureStats | None,
                 label: str, **options: Any) -> None:
        super().__init__()
        accepted = set(inspect.signature(model.inference).parameters) - {"feats", "generator"}
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise ConfigError(f"vocoder {label}: unknown option {unknown[0]!r} "
                              f"(a {type(model).__name__} takes: {', '.join(sorted(accepted)) or 'none'})")
        model.prepare_for_inference()
        self.model = model.eval()
        self.feature_config = feature_config
        self.label = label
        self.options = options
        self.register_buffer("mean", torch.as_tensor(stats.mean if stats else 0.0, dtype=torch.float32).reshape(-1, 1))
        self.register_buffer("std", torch.as_tensor(stats.std if stats else 1.0, dtype=torch.float32).reshape(-1, 1))

    @classmethod
    def load(cls, exp_dir: str | Path, checkpoint: str | Path | None = None, **options: Any) -> TrainedVocoder:
        """The vocoder of experiment ``exp_dir`` at its latest checkpoint (or ``checkpoint``);
        ``options`` go to its ``inference`` (wavenet: ``method``)."""
        from vc.train.restore import load_trained

        trained = load_trained(exp_dir, checkpoint)
        if not isinstance(trained.model, VocoderModel):
            raise ConfigError(f"{exp_dir}: holds a {trained.config.model!r} model, not a vocoder "
                              "(a conversion model goes to --model)")
        stats = trained.stats.global_ if trained.config.data.normalize == "global" else None
        label = f"{exp_dir} ({trained.config.model}, step {trained.step})"
        return cls(trained.model, trained.feature_config, stats, label, **options)

    @property
    def hop_length(self) -> int:
        return self.model.hop_length

    @torch.inference_mode()
    def forward(self, feats: torch.Tensor, length: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Raw features [B, dim, frames] -> [B, length] (default frames * hop_length) samples."""
        wav = self.model.inference((feats - self.mean) / self.std, generator=generator, **self.options)
        if length is None:
            return wav
        return wav[..., :length] if wav.shape[-1] >= length else nn.functional.pad(wav, (0, length - wav.shape[-1]))

    def extra_repr(self) -> str:
        return ", ".join([self.label, *(f"{k}={v}" for k, v in self.options.items())])
