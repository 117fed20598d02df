"""Normalisation statistics as count / sum / sum of squares, so shards merge exactly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import yaml

from vc.audio.config import FeatureConfig
from vc.audio.f0 import LogF0Stats
from vc.config import to_dict
from vc.errors import DataError
from vc.utils import atomic_path

# Floors the standard deviation so constant dimensions (e.g. a silent mel bin) stay finite.
MIN_STD = 1e-5


@dataclass
class FeatureStats:
    """Running first and second moments of [frames, dim] features; also the normaliser."""

    count: int
    sum: np.ndarray  # float64 [dim]
    sumsq: np.ndarray  # float64 [dim]

    @classmethod
    def empty(cls, dim: int) -> FeatureStats:
        return cls(0, np.zeros(dim), np.zeros(dim))

    @classmethod
    def of(cls, x: np.ndarray) -> FeatureStats:
        x = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
        return cls(len(x), x.sum(0), np.square(x).sum(0))

    @property
    def dim(self) -> int:
        return len(self.sum)

    def update(self, x: np.ndarray) -> None:
        self.merge_(FeatureStats.of(x))

    def merge_(self, other: FeatureStats) -> None:
        if other.dim != self.dim:
            raise DataError(f"cannot merge statistics of dimension {other.dim} into {self.dim}")
        self.count += other.count
        self.sum = self.sum + other.sum
        self.sumsq = self.sumsq + other.sumsq

    def __add__(self, other: FeatureStats) -> FeatureStats:
        out = FeatureStats(self.count, self.sum.copy(), self.sumsq.copy())
        out.merge_(other)
        return out

    @property
    def mean(self) -> np.ndarray:
        return self.sum / max(self.count, 1)

    @property
    def var(self) -> np.ndarray:
        # Clamped: the one-pass formula can go slightly negative in floating point.
        return np.maximum(self.sumsq / max(self.count, 1) - np.square(self.mean), 0.0)

    @property
    def std(self) -> np.ndarray:
        return np.maximum(np.sqrt(self.var), MIN_STD)

    def normalize(self, x: np.ndarray | torch.Tensor, axis: int = -1) -> np.ndarray | torch.Tensor:
        """(x - mean) / std along the feature ``axis`` (-1 for [frames, dim], 1 for [B, dim, T])."""
        mean, std = self._broadcast(x, axis)
        return (x - mean) / std

    def denormalize(self, x: np.ndarray | torch.Tensor, axis: int = -1) -> np.ndarray | torch.Tensor:
        mean, std = self._broadcast(x, axis)
        return x * std + mean

    def _broadcast(self, x: np.ndarray | torch.Tensor, axis: int) -> tuple:
        shape = [1] * x.ndim
        shape[axis] = self.dim
        if x.shape[axis] != self.dim:
            raise DataError(f"features have dimension {x.shape[axis]} on axis {axis}, statistics have {self.dim}")
        mean, std = self.mean.reshape(shape), self.std.reshape(shape)
        if isinstance(x, torch.Tensor):
            return (torch.as_tensor(mean, dtype=x.dtype, device=x.device),
                    torch.as_tensor(std, dtype=x.dtype, device=x.device))
        return mean.astype(x.dtype, copy=False), std.astype(x.dtype, copy=False)


class StatsStore:
    """Named statistics saved together in one .npz with the feature config.

    Names: ``global``, ``spk/<speaker>``, and for WORLD features ``lf0/<speaker>``
    (log-F0 over voiced frames only, for F0 conversion).
    """

    def __init__(self, config: FeatureConfig, stats: dict[str, FeatureStats] | None = None) -> None:
        self.config = config
        self.stats: dict[str, FeatureStats] = dict(stats or {})

    def add(self, name: str, x: np.ndarray) -> None:
        if len(x) == 0:
            return
        if name in self.stats:
            self.stats[name].update(x)
        else:
            self.stats[name] = FeatureStats.of(x)

    def merge_(self, other: StatsStore) -> None:
        self.config.require_same(other.config, "merging statistics")
        for name, st in other.stats.items():
            if name in self.stats:
                self.stats[name].merge_(st)
            else:
                self.stats[name] = FeatureStats(st.count, st.sum.copy(), st.sumsq.copy())

    @property
    def global_(self) -> FeatureStats:
        return self["global"]

    def speaker(self, spk: str) -> FeatureStats:
        return self[f"spk/{spk}"]

    def log_f0(self, spk: str) -> LogF0Stats:
        st = self[f"lf0/{spk}"]
        return LogF0Stats(float(st.mean[0]), float(st.std[0]))

    @property
    def speakers(self) -> list[str]:
        return sorted(n[4:] for n in self.stats if n.startswith("spk/"))

    def __getitem__(self, name: str) -> FeatureStats:
        try:
            return self.stats[name]
        except KeyError:
            known = ", ".join(sorted(self.stats)) or "none"
            raise DataError(f"no statistics named {name!r} (have: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.stats))

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"feature_config": np.array(yaml.safe_dump(to_dict(self.config)))}
        for name, st in self.stats.items():
            arrays[f"{name}/count"] = np.array(st.count, dtype=np.int64)
            arrays[f"{name}/sum"] = st.sum
            arrays[f"{name}/sumsq"] = st.sumsq
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> StatsStore:
        try:
            with np.load(path, allow_pickle=False) as npz:
                data = {k: npz[k] for k in npz.files}
        except FileNotFoundError:
            raise DataError(f"{path}: statistics file not found") from None
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable statistics file ({e})") from None
        if "feature_config" not in data:
            raise DataError(f"{path}: statistics file carries no feature config")
        config = FeatureConfig.from_mapping(yaml.safe_load(str(data.pop("feature_config"))), f"{path}: feature_config")
        names = sorted({k.rsplit("/", 1)[0] for k in data})
        try:
            stats = {n: FeatureStats(int(data[f"{n}/count"]), data[f"{n}/sum"], data[f"{n}/sumsq"]) for n in names}
        except KeyError as e:
            raise DataError(f"{path}: incomplete statistics entry {e}") from None
        return cls(config, stats)
