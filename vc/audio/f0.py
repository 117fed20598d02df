"""Log-F0 Gaussian conversion: match a source speaker's log-F0 mean and spread to a target's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LogF0Stats:
    """Mean and standard deviation of log-F0 over a speaker's voiced frames."""

    mean: float
    std: float

    @classmethod
    def of(cls, f0: np.ndarray) -> LogF0Stats:
        lf0 = np.log(f0[f0 > 0])
        if lf0.size == 0:
            raise ValueError("no voiced frames to estimate log-F0 statistics from")
        return cls(float(lf0.mean()), float(lf0.std()))


def convert_f0(f0: np.ndarray, src: LogF0Stats, tgt: LogF0Stats) -> np.ndarray:
    """exp((log f0 - mu_src) / sigma_src * sigma_tgt + mu_tgt) on voiced frames; 0 stays 0."""
    out = np.zeros_like(f0, dtype=np.float64)
    voiced = f0 > 0
    out[voiced] = np.exp((np.log(f0[voiced]) - src.mean) / src.std * tgt.std + tgt.mean)
    return out
