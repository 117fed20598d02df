"""Uploaded audio in, converted audio out: decode within the limits, encode 16-bit wav.

Checked before any model sees it, each failure one line naming the upload: not audio
(415), longer than the limit (413, read from the header before decoding, so a long file
costs nothing), then the library's checks (422: NaN, too short) and silence, which here
includes near-silence: a recording that peaks below -60 dBFS has no speech to convert.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from vc.audio.io import load_wav
from vc.serve.errors import RequestError

SILENCE_DBFS = -60.0


def decode(data: bytes, name: str, rate: int, *, min_samples: int, max_seconds: float) -> np.ndarray:
    """Mono float32 at ``rate`` from the bytes of a wav/flac/ogg/mp3 file called ``name``."""
    if not data:
        raise RequestError(422, "bad_audio", f"{name}: empty file (0 bytes)")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        raise RequestError(415, "not_audio", f"{name}: not an audio file this server reads "
                                             "(wav, flac, ogg or mp3)") from None
    if info.frames > 0 and info.duration > max_seconds:
        raise _too_long(name, info.duration, max_seconds)
    wav, _ = load_wav(io.BytesIO(data), rate, min_samples=min_samples, name=name)
    if len(wav) / rate > max_seconds:  # a header without a length (a streamed wav)
        raise _too_long(name, len(wav) / rate, max_seconds)
    peak = float(np.max(np.abs(wav)))
    if 20 * np.log10(peak) < SILENCE_DBFS:
        raise RequestError(422, "bad_audio", f"{name}: is silent (peak {20 * np.log10(peak):.0f} dBFS, below "
                                             f"{SILENCE_DBFS:.0f} dBFS)")
    return wav


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """16-bit PCM mono wav; samples outside [-1, 1] are clipped."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def _too_long(name: str, seconds: float, limit: float) -> RequestError:
    return RequestError(413, "too_long", f"{name}: {seconds:.1f} s of audio, over this server's limit of {limit:g} s")
