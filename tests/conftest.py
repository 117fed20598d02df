"""Shared fixtures: real speech from pysptk's CMU ARCTIC sample and tiny data dirs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """arctic_a0007 (4 s of a male US speaker), 16 kHz float32."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysptk
    from vc.audio.io import load_wav

    wav, _ = load_wav(pysptk.util.example_audio_file(), 16000)
    return wav


@pytest.fixture
def speech_dir(tmp_path: Path, speech: np.ndarray) -> Path:
    """A Kaldi data dir: 2 speakers x 2 utterances cut from the sample (one at 22.05 kHz)."""
    import soxr

    root = tmp_path / "data"
    root.mkdir()
    wav_scp, utt2spk = [], []
    pieces = {"spkA_001": speech[:16000], "spkA_002": speech[16000:40000],
              "spkB_001": speech[24000:48000] * 0.5, "spkB_002": speech[40000:]}
    for utt, wav in pieces.items():
        path = tmp_path / "wav" / f"{utt}.wav"
        path.parent.mkdir(exist_ok=True)
        if utt == "spkB_002":  # a different rate: extraction must resample
            sf.write(path, soxr.resample(wav, 16000, 22050), 22050)
        else:
            sf.write(path, wav, 16000)
        wav_scp.append(f"{utt} {path}\n")
        utt2spk.append(f"{utt} {utt[:4]}\n")
    (root / "wav.scp").write_text("".join(wav_scp))
    (root / "utt2spk").write_text("".join(utt2spk))
    (root / "spk2utt").write_text("spkA spkA_001 spkA_002\nspkB spkB_001 spkB_002\n")
    return root
