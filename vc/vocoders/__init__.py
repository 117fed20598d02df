"""Vocoders: stored features [batch, dim, frames] -> waveforms [batch, samples].

Each is built by registry name from the FeatureConfig its input was computed with.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from vc.audio.config import FeatureConfig
from vc.errors import ConfigError
from vc.vocoders.griffin_lim import (
    FastGriffinLim,
    GriffinLim,
    MelInverter,
    log_spectral_distance,
    spectral_convergence,
)

VOCODERS: dict[str, type[nn.Module]] = {"gl": GriffinLim}


def build_vocoder(name: str, cfg: FeatureConfig, **params: Any) -> nn.Module:
    """The vocoder registered as ``name`` for features of ``cfg``; ``params`` go to its constructor."""
    if name not in VOCODERS:
        raise ConfigError(f"unknown vocoder {name!r} (available: {', '.join(sorted(VOCODERS))})")
    return VOCODERS[name](cfg, **params)


__all__ = [
    "VOCODERS",
    "FastGriffinLim",
    "GriffinLim",
    "MelInverter",
    "build_vocoder",
    "log_spectral_distance",
    "spectral_convergence",
]
