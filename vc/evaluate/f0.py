"""F0 accuracy of converted speech against the target's recording of the same sentence, on the
frame pairs of the mel-cepstral DTW path (so timing differences do not count as F0 error)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class F0Scores:
    rmse_hz: float  # over pairs voiced in both; NaN when there are none
    corr: float  # Pearson correlation over the same pairs; NaN with fewer than 2 or a constant F0
    vuv_error: float  # share of pairs where one is voiced and the other not


def f0_scores(ref_f0: np.ndarray, test_f0: np.ndarray, ref_idx: np.ndarray, test_idx: np.ndarray) -> F0Scores:
    """Scores of two F0 tracks (Hz, 0 = unvoiced) over aligned frame pairs (ref_idx[k], test_idx[k])."""
    a = np.asarray(ref_f0, np.float64)[ref_idx]
    b = np.asarray(test_f0, np.float64)[test_idx]
    va, vb = a > 0, b > 0
    both = va & vb
    vuv = float(np.mean(va != vb)) if len(a) else float("nan")
    if not both.any():
        return F0Scores(float("nan"), float("nan"), vuv)
    rmse = float(np.sqrt(np.mean((a[both] - b[both]) ** 2)))
    x, y = a[both], b[both]
    corr = float(np.corrcoef(x, y)[0, 1]) if len(x) > 1 and x.std() > 0 and y.std() > 0 else float("nan")
    return F0Scores(rmse, corr, vuv)
