"""What every trained vocoder shares: its data, its conditioning and its inference contract.

A trained vocoder is a :class:`~vc.train.model.TrainableModel` with ``data_layout = "audio"``:
the trainer feeds it batches from :class:`vc.data.audio.AudioSegmentLoader`,

    {"feats": [B, dim, frames + 2 * context_frames]  globally normalised features,
     "audio": [B, frames * hop_length]               the waveform they were computed from},

where sample block ``[t * hop, (t + 1) * hop)`` belongs to frame ``t`` and the extra
``context_frames`` on each side feed the upsampler's context conv. At inference time
:meth:`VocoderModel.inference` takes whole utterances (no context frames; it pads them)
and returns ``frames * hop_length`` samples.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import torch

from vc.config import NonNegativeInt, PositiveInt
from vc.errors import ConfigError
from vc.nn.wavenet import ConvUpsampler
from vc.train.model import TrainableModel


@dataclass
class UpsampleParams:
    """Frame rate -> sample rate: ``prod(scales)`` must equal the features' hop_length."""

    scales: list[PositiveInt] = field(default_factory=lambda: [4, 4, 4, 4])
    context_frames: NonNegativeInt = 2  # frames each side the context conv sees (Parallel WaveGAN's aux_context_window)


class VocoderModel(TrainableModel):
    """Base of the neural vocoders; subclasses set ``self.upsampler`` and implement the rest."""

    data_layout = "audio"
    upsampler: ConvUpsampler

    @property
    def hop_length(self) -> int:
        return self.upsampler.factor

    @property
    def context_frames(self) -> int:
        return self.upsampler.context

    @property
    @abc.abstractmethod
    def receptive_field(self) -> int:
        """Samples of the sample-rate input that one output sample depends on."""

    def check_feature_config(self, cfg: Any) -> None:
        """Raise ConfigError unless this vocoder can synthesise features of ``cfg`` (a FeatureConfig)."""
        if cfg.kind == "world":
            raise ConfigError("data.train: a neural vocoder takes logmel or linear features; this dump has "
                              "kind 'world' (WORLD features are synthesised by the world vocoder)")
        if self.hop_length != cfg.hop_length:
            raise ConfigError(f"model_params.upsample.scales: their product {self.hop_length} "
                              f"({' x '.join(map(str, self.upsampler.scales))}) must equal the features' "
                              f"hop_length {cfg.hop_length}")

    def describe(self, cfg: Any) -> str:
        """One line for logs: size and receptive field at the features' sample rate."""
        field_ms = 1000 * self.receptive_field / cfg.sample_rate
        context = 2 * self.context_frames * self.hop_length
        return (f"{super().describe(cfg)}; receptive field "
                f"{self.receptive_field} samples ({field_ms:.1f} ms at {cfg.sample_rate} Hz) through its "
                f"dilated convs, plus {2 * self.context_frames} frames ({context} samples) of conditioning context")

    @abc.abstractmethod
    def inference(self, feats: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Normalised features [B, dim, frames] -> waveforms [B, frames * hop_length]."""

    def prepare_for_inference(self) -> None:
        """Fold weight norm into plain weights (done once when a trained vocoder is loaded)."""
        for module in self.modules():
            for name in list(getattr(module, "parametrizations", {}) or {}):
                torch.nn.utils.parametrize.remove_parametrizations(module, name, leave_parametrized=True)

