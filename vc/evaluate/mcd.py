"""Mel-cepstral distortion with DTW alignment, on WORLD mel-cepstra (c0 excluded).

MCD [dB] = 10 / ln 10 * sqrt(2 * sum_d (c_d - c'_d)^2), averaged over the aligned frame
pairs of a DTW path computed on the same coefficients (librosa.sequence.dtw).
"""

from __future__ import annotations

import numpy as np

from vc.audio.config import FeatureConfig, WorldConfig

MCD_CONSTANT = 10.0 / np.log(10.0) * np.sqrt(2.0)
# Fast WORLD settings for scoring: dio with 5 ms frames, 24th-order mel-cepstrum at 16 kHz.
SCORING_CONFIG = FeatureConfig(kind="world", sample_rate=16000, hop_length=80, world=WorldConfig(f0_method="dio"))


def dtw_align(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (ia, ib) of the Euclidean DTW path between frames of a [N, D] and b [M, D]."""
    import librosa

    _, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    path = path[::-1]
    return path[:, 0], path[:, 1]


def mcd_dtw(ref_mcep: np.ndarray, test_mcep: np.ndarray) -> float:
    """MCD in dB between two [frames, order+1] mel-cepstra, c0 excluded, after DTW."""
    return mcd_dtw_path(ref_mcep, test_mcep)[0]


def mcd_dtw_path(ref_mcep: np.ndarray, test_mcep: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """MCD-DTW and the path it was taken on (index arrays into ref and test), which the F0
    metrics reuse so that both compare the same frames."""
    a, b = np.asarray(ref_mcep, np.float64)[:, 1:], np.asarray(test_mcep, np.float64)[:, 1:]
    ia, ib = dtw_align(a, b)
    return _mean_mcd(a[ia], b[ib]), ia, ib


def mcd_aligned(ref_mcep: np.ndarray, test_mcep: np.ndarray) -> float:
    """MCD in dB frame by frame, for signals with the same timing (copy synthesis); the
    longer one is cut to the shorter, c0 excluded."""
    n = min(len(ref_mcep), len(test_mcep))
    return _mean_mcd(np.asarray(ref_mcep[:n, 1:], np.float64), np.asarray(test_mcep[:n, 1:], np.float64))


def _mean_mcd(a: np.ndarray, b: np.ndarray) -> float:
    return float(MCD_CONSTANT * np.mean(np.sqrt(np.sum((a - b) ** 2, axis=1))))


def mcep_of(wav: np.ndarray, cfg: FeatureConfig = SCORING_CONFIG) -> np.ndarray:
    """WORLD mel-cepstrum [frames, order+1] of a waveform at cfg's sample rate."""
    from vc.audio.world import analyze

    return analyze(wav, cfg).mcep
