"""Data URIs, so the report is one file that opens anywhere: PNGs, and audio as 16-bit PCM
WAV (every browser plays it without a codec)."""

from __future__ import annotations

import base64
import io

import numpy as np
import soundfile as sf


def png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def wav_uri(wav: np.ndarray, sample_rate: int) -> str:
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(np.asarray(wav, dtype=np.float32), -1.0, 1.0), sample_rate,
             subtype="PCM_16", format="WAV")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
