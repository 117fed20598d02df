"""Reading and writing audio: mono float32 at the configured rate, or one clear error line."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf

from vc.errors import AudioError
from vc.utils import atomic_path

AudioSource = Union[str, Path, BinaryIO]


def load_wav(
    source: AudioSource,
    sample_rate: int | None = None,
    *,
    min_samples: int = 1,
    name: str | None = None,
) -> tuple[np.ndarray, int]:
    """Load wav/flac/ogg as mono float32, resampled to ``sample_rate`` when given.

    Raises AudioError naming ``name`` (default: the path) for an empty, truncated or
    non-audio file, NaN/Inf samples, all-zero audio, or fewer than ``min_samples``
    samples after resampling.
    """
    label = name or str(source if not hasattr(source, "read") else "<stream>")
    data = _read_bytes(source, label)
    if not data:
        raise AudioError(f"{label}: empty file (0 bytes)")
    _check_wav_length(data, label)
    try:
        wav, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"{label}: not a readable audio file ({_first_line(e)})") from None
    wav = wav.mean(axis=1) if wav.shape[1] > 1 else wav[:, 0]
    if sample_rate is not None and sr != sample_rate:
        wav = resample(wav, sr, sample_rate)
        sr = sample_rate
    check_signal(wav, label, min_samples=min_samples)
    return np.ascontiguousarray(wav, dtype=np.float32), sr


def check_signal(wav: np.ndarray, label: str, *, min_samples: int = 1) -> None:
    """Reject a signal with no samples, NaN/Inf, only zeros, or fewer than ``min_samples``."""
    if wav.size == 0:
        raise AudioError(f"{label}: contains no audio samples")
    if not np.all(np.isfinite(wav)):
        bad = int(np.flatnonzero(~np.isfinite(wav))[0])
        raise AudioError(f"{label}: contains NaN or Inf samples (first at sample {bad})")
    if not np.any(wav):
        raise AudioError(f"{label}: is silent (all samples are zero)")
    if wav.size < min_samples:
        raise AudioError(
            f"{label}: too short ({wav.size} samples; at least {min_samples}, one analysis frame, are needed)"
        )


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """High-quality resampling with soxr."""
    import soxr

    return soxr.resample(wav, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def save_wav(path: str | Path, wav: np.ndarray, sample_rate: int) -> None:
    """Write 16-bit PCM atomically; samples outside [-1, 1] are clipped."""
    wav = np.asarray(wav, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{path}: refusing to write NaN or Inf samples")
    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(wav, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")


def _read_bytes(source: AudioSource, label: str) -> bytes:
    if hasattr(source, "read"):
        return source.read()  # type: ignore[union-attr]
    path = Path(source)  # type: ignore[arg-type]
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"{label}: file not found") from None
    except IsADirectoryError:
        raise AudioError(f"{label}: is a directory, not an audio file") from None
    except OSError as e:
        raise AudioError(f"{label}: cannot read ({e.strerror})") from None


def _check_wav_length(data: bytes, label: str) -> None:
    """libsndfile silently reads what is there of a cut-off WAV; compare with its header."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        return
    endian = "<" if data[:4] == b"RIFF" else ">"
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack(endian + "I", data[pos + 4 : pos + 8])
        if chunk_id == b"data":
            have = len(data) - pos - 8
            # 0 and 0xFFFFFFFF mark a size left unset by a streaming writer.
            if size not in (0, 0xFFFFFFFF) and have < size:
                raise AudioError(f"{label}: truncated WAV file (header promises {size} data bytes, {have} present)")
            return
        pos += 8 + size + (size & 1)
    raise AudioError(f"{label}: truncated WAV file (no data chunk)")


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    # libsndfile prefixes "Error opening <stream repr>: "; the reason follows the last colon.
    return text.rsplit(": ", 1)[-1]
