"""Audio loading: every bad input gets one clear line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc.audio.io import load_wav, save_wav
from vc.errors import AudioError


def _wav(tmp_path: Path, name: str, x: np.ndarray, sr: int = 16000, subtype: str = "PCM_16") -> Path:
    path = tmp_path / name
    sf.write(path, x, sr, subtype=subtype)
    return path


def test_loads_mono_float32_and_downmixes(tmp_path: Path) -> None:
    left = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.5
    path = _wav(tmp_path, "st.wav", np.stack([left, np.zeros_like(left)], 1))
    wav, sr = load_wav(path)
    assert sr == 16000 and wav.dtype == np.float32 and wav.ndim == 1
    np.testing.assert_allclose(wav, left / 2, atol=1e-4)


@pytest.mark.parametrize("fmt", ["flac", "ogg"])
def test_reads_flac_and_ogg(tmp_path: Path, fmt: str) -> None:
    x = np.sin(np.linspace(0, 300, 16000)).astype(np.float32) * 0.3
    path = tmp_path / f"a.{fmt}"
    sf.write(path, x, 16000)
    wav, sr = load_wav(path)
    assert sr == 16000 and abs(len(wav) - 16000) < 1000


def test_resamples_to_requested_rate(tmp_path: Path) -> None:
    t = np.arange(22050) / 22050
    path = _wav(tmp_path, "a.wav", (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr=22050)
    wav, sr = load_wav(path, 16000)
    assert sr == 16000 and len(wav) == 16000
    peak = np.argmax(np.abs(np.fft.rfft(wav)))  # 1 s at 16 kHz: bin index = Hz
    assert abs(peak - 440) <= 1


def test_save_is_16bit_pcm_and_clips(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "o.wav"
    save_wav(out, np.array([0.0, 0.5, 2.0, -3.0], dtype=np.float32), 16000)
    info = sf.info(out)
    assert info.subtype == "PCM_16" and info.samplerate == 16000
    back, _ = sf.read(out)
    assert back.max() <= 1.0 and back.min() >= -1.0
    assert not list(out.parent.glob(".*tmp")), "temporary file left behind"


def test_save_refuses_nan_and_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "o.wav"
    with pytest.raises(AudioError, match="refusing to write NaN"):
        save_wav(out, np.array([0.1, np.nan], dtype=np.float32), 16000)
    assert list(tmp_path.iterdir()) == []


def _bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _truncated(tmp_path: Path) -> Path:
    good = _wav(tmp_path, "good.wav", np.random.randn(16000).astype(np.float32) * 0.1)
    path = tmp_path / "cut.wav"
    path.write_bytes(good.read_bytes()[:10000])
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: _bytes(p, "empty.wav", b""), r"empty\.wav: empty file \(0 bytes\)"),
        (_truncated, r"cut\.wav: truncated WAV file \(header promises 32000 data bytes, 9956 present\)"),
        (lambda p: _bytes(p, "t.wav", b"not audio at all"), r"t\.wav: not a readable audio file \(Format not recognised"),
        (lambda p: _wav(p, "nan.wav", np.array([0.1, np.nan, 0.2] * 500, dtype=np.float32), subtype="FLOAT"), r"nan\.wav: contains NaN or Inf samples \(first at sample 1\)"),
        (lambda p: _wav(p, "inf.wav", np.array([0.1, 0.2, np.inf] * 500, dtype=np.float32), subtype="FLOAT"), r"inf\.wav: contains NaN or Inf samples \(first at sample 2\)"),
        (lambda p: _wav(p, "zero.wav", np.zeros(16000, dtype=np.float32)), r"zero\.wav: is silent \(all samples are zero\)"),
        (lambda p: p / "missing.wav", r"missing\.wav: file not found"),
        (lambda p: p, r": is a directory, not an audio file"),
    ],
    ids=["empty", "truncated", "non-audio", "nan", "inf", "silence", "missing", "directory"],
)
def test_bad_input_messages(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(AudioError, match=message):
        load_wav(path)


def test_header_only_wav_is_truncated(tmp_path: Path) -> None:
    good = _wav(tmp_path, "good.wav", np.random.randn(1600).astype(np.float32) * 0.1)
    path = tmp_path / "hdr.wav"
    path.write_bytes(good.read_bytes()[:44])
    with pytest.raises(AudioError, match=r"hdr\.wav: truncated WAV file \(header promises 3200 data bytes, 0 present\)"):
        load_wav(path)


def test_shorter_than_one_frame(tmp_path: Path) -> None:
    path = _wav(tmp_path, "short.wav", np.random.randn(500).astype(np.float32) * 0.1)
    with pytest.raises(AudioError, match=r"short\.wav: too short \(500 samples; at least 1024, one analysis frame"):
        load_wav(path, 16000, min_samples=1024)


def test_label_overrides_path(tmp_path: Path) -> None:
    path = _wav(tmp_path, "z.wav", np.zeros(100, dtype=np.float32))
    with pytest.raises(AudioError, match=r"^wav\.scp:3 \(utt u1\): is silent"):
        load_wav(path, name="wav.scp:3 (utt u1)")
