"""Vocoders: stored features [batch, dim, frames] -> waveforms [batch, samples].

Griffin-Lim (``gl``, log-mel or linear features), the streaming phase reconstructions
run offline (``rtisi_la``, ``rtpghi``; vc.vocoders.streaming_phase) and WORLD synthesis
(``world``, WORLD features) are built by registry name from the FeatureConfig their input was computed
with; a trained neural vocoder (``model: wavenet`` or ``parallel_wavenet``) is loaded from
its experiment directory and carries its own config (see :func:`load_vocoder`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

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
from vc.vocoders.streaming_phase import STREAM_VOCODERS, StreamingPhase
from vc.vocoders.world import WorldVocoder

VOCODERS: dict[str, Callable[..., nn.Module]] = {
    "gl": GriffinLim, "world": WorldVocoder,
    **{method: functools.partial(StreamingPhase, method=method) for method in STREAM_VOCODERS},
}


def build_vocoder(name: str, cfg: FeatureConfig, **params: Any) -> nn.Module:
    """The vocoder registered as ``name`` for features of ``cfg``; ``params`` go to its constructor."""
    if name not in VOCODERS:
        raise ConfigError(f"unknown vocoder {name!r} (available: {', '.join(sorted(VOCODERS))})")
    return VOCODERS[name](cfg, **params)


def load_vocoder(spec: str, cfg: FeatureConfig | None = None, **params: Any) -> nn.Module:
    """The vocoder ``spec`` names: a registered one (``gl``, ``world``) for features of ``cfg``,
    or the trained vocoder in experiment directory ``spec``, whose feature config must equal
    ``cfg`` when ``cfg`` is given. ``params`` go to the constructor (gl) or to inference (trained)."""
    if spec in VOCODERS:
        if cfg is None:
            raise ConfigError(f"vocoder {spec!r}: needs the features' config")
        return build_vocoder(spec, cfg, **params)
    if not Path(spec).is_dir():
        raise ConfigError(f"unknown vocoder {spec!r}: give one of {', '.join(sorted(VOCODERS))} or the experiment "
                          "directory of a vocoder trained with 'vc train'")
    from vc.vocoders.trained import TrainedVocoder  # imports the model registry, which imports this package

    vocoder = TrainedVocoder.load(spec, **params)
    if cfg is not None:
        cfg.require_same(vocoder.feature_config, f"the input features (left) vs vocoder {spec} (right)")
    return vocoder


__all__ = [
    "VOCODERS",
    "FastGriffinLim",
    "GriffinLim",
    "MelInverter",
    "WorldVocoder",
    "build_vocoder",
    "load_vocoder",
    "log_spectral_distance",
    "spectral_convergence",
]
