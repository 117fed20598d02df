"""The feature config every dump, checkpoint and vocoder carries, so mismatches are caught."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vc.config import from_dict, load_yaml, to_dict
from vc.errors import ConfigError

FeatureKind = Literal["logmel", "linear", "world"]


@dataclass(frozen=True)
class WorldConfig:
    """WORLD analysis settings. Its frame period follows the STFT hop so frames line up."""

    f0_method: Literal["harvest", "dio"] = "harvest"
    f0_floor: float = 71.0
    f0_ceil: float = 800.0
    # Mel-cepstrum order; the feature holds order + 1 coefficients (c0 included).
    mcep_order: int = 24
    # All-pass constant; None picks the standard value for the sample rate.
    mcep_alpha: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.f0_floor < self.f0_ceil:
            raise ConfigError(f"world.f0_floor/f0_ceil: need 0 < floor < ceil, got {self.f0_floor}, {self.f0_ceil}")
        if self.mcep_order < 1:
            raise ConfigError(f"world.mcep_order: must be >= 1, got {self.mcep_order}")
        if self.mcep_alpha is not None and not -1 < self.mcep_alpha < 1:
            raise ConfigError(f"world.mcep_alpha: must lie in (-1, 1), got {self.mcep_alpha}")


@dataclass(frozen=True)
class FeatureConfig:
    """What a feature matrix means. Features are stored time-major: [frames, dim]."""

    kind: FeatureKind = "logmel"
    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int | None = None  # None: n_fft
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 80.0
    fmax: float | None = 7600.0  # None: Nyquist
    # Natural log of magnitudes clamped at this floor (log-mel and log-linear).
    log_floor: float = 1e-5
    world: WorldConfig = field(default_factory=WorldConfig)

    def __post_init__(self) -> None:
        def bad(key: str, why: str) -> ConfigError:
            return ConfigError(f"{key}: {why}")

        if self.sample_rate <= 0:
            raise bad("sample_rate", f"must be positive, got {self.sample_rate}")
        if self.n_fft < 16:
            raise bad("n_fft", f"must be >= 16, got {self.n_fft}")
        if not 0 < self.win_size <= self.n_fft:
            raise bad("win_length", f"must lie in (0, n_fft={self.n_fft}], got {self.win_length}")
        if not 0 < self.hop_length <= self.win_size:
            raise bad("hop_length", f"must lie in (0, win_length={self.win_size}], got {self.hop_length}")
        if self.n_mels < 1:
            raise bad("n_mels", f"must be >= 1, got {self.n_mels}")
        if not 0 <= self.fmin < self.mel_fmax:
            raise bad("fmin", f"must lie in [0, fmax={self.mel_fmax}), got {self.fmin}")
        if self.mel_fmax > self.sample_rate / 2:
            raise bad("fmax", f"must not exceed Nyquist ({self.sample_rate / 2}), got {self.fmax}")
        if self.log_floor <= 0:
            raise bad("log_floor", f"must be positive, got {self.log_floor}")

    @property
    def win_size(self) -> int:
        return self.win_length or self.n_fft

    @property
    def mel_fmax(self) -> float:
        return self.fmax if self.fmax is not None else self.sample_rate / 2

    @property
    def n_freqs(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def frame_period_ms(self) -> float:
        return 1000.0 * self.hop_length / self.sample_rate

    @property
    def dim(self) -> int:
        """Width of one feature frame for this kind."""
        if self.kind == "logmel":
            return self.n_mels
        if self.kind == "linear":
            return self.n_freqs
        from vc.audio.world_lib import aperiodicity_bands  # imports pyworld: only for WORLD features

        # mel-cepstrum (order + 1) | log-F0 | voiced flag | coded aperiodicity (vc.audio.world)
        return self.world.mcep_order + 1 + 2 + aperiodicity_bands(self.sample_rate)

    def num_frames(self, num_samples: int) -> int:
        """Frames for a signal of ``num_samples`` (centred frames, as librosa and WORLD count)."""
        return 1 + num_samples // self.hop_length

    def diff(self, other: FeatureConfig) -> list[str]:
        """Fields that differ, as 'key: ours != theirs' strings (nested keys dotted)."""
        mine, theirs = _flatten(to_dict(self)), _flatten(to_dict(other))
        return [f"{k}: {mine.get(k)!r} != {theirs.get(k)!r}" for k in sorted(set(mine) | set(theirs))
                if mine.get(k) != theirs.get(k)]

    def require_same(self, other: FeatureConfig, what: str) -> None:
        """Raise a ConfigError naming the differing fields when ``other`` does not match."""
        differences = self.diff(other)
        if differences:
            raise ConfigError(f"{what}: feature config mismatch ({'; '.join(differences)})")

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None, where: str = "") -> FeatureConfig:
        return from_dict(cls, data, where)

    @classmethod
    def load(cls, path: str | Path) -> FeatureConfig:
        """Read a feature config from YAML; a file with a top-level ``feats:`` key is accepted too."""
        data = load_yaml(path)
        if "feats" in data and isinstance(data["feats"], dict):
            return from_dict(cls, data["feats"], f"{path}: feats")
        try:
            return from_dict(cls, data)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    def replace(self, **changes: Any) -> FeatureConfig:
        return dataclasses.replace(self, **changes)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
