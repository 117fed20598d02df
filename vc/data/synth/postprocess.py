"""Make raw synthesizer output uniform: trimmed silence and one loudness for every speaker."""

from __future__ import annotations

import librosa
import numpy as np

# Frames quieter than this below the loudest frame count as leading/trailing silence.
# 40 dB keeps weak onsets such as /h/ and /f/ while dropping the synthesizers' padding.
TRIM_TOP_DB = 40.0
# Silence kept around the speech so onsets and final releases are not clipped.
TRIM_MARGIN_S = 0.025
# Every utterance is scaled to this RMS level (about -23 dBFS) ...
TARGET_RMS = 10 ** (-23 / 20)
# ... unless that would push a peak above -1 dBFS.
PEAK_LIMIT = 10 ** (-1 / 20)


def trim_silence(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Cut leading and trailing silence, keeping TRIM_MARGIN_S on each side."""
    frame = int(round(0.032 * sample_rate))
    hop = max(1, frame // 4)
    _, (start, end) = librosa.effects.trim(wav, top_db=TRIM_TOP_DB, frame_length=frame, hop_length=hop)
    margin = int(round(TRIM_MARGIN_S * sample_rate))
    return wav[max(0, start - margin) : min(wav.size, end + margin)]


def normalize_loudness(wav: np.ndarray) -> np.ndarray:
    """Scale to TARGET_RMS, or less where a peak would otherwise exceed PEAK_LIMIT."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
    peak = float(np.max(np.abs(wav)))
    gain = min(TARGET_RMS / rms, PEAK_LIMIT / peak)
    return (wav * gain).astype(np.float32)


def finish(wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """Trim then normalise; ``wav`` must hold some non-zero samples (load_wav checks that)."""
    return normalize_loudness(trim_silence(wav, sample_rate))
