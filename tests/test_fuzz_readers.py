"""The readers a user feeds files to, fuzzed with malformed inputs from a seeded generator:
the audio loader, the Kaldi data-dir parser, the YAML experiment config and the checkpoint
opener. Each input either reads or fails with vc's one-line error (a VCError): never another
exception (a traceback for the user), never a hang, and no runaway memory."""

from __future__ import annotations

import io
import resource
import signal
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf
import torch

from vc.errors import VCError

SEED = 20261204
CASES = 300  # inputs per reader
SECONDS = 10  # the most one input may take
MEMORY_GROWTH = 1 << 30  # bytes of peak RSS growth allowed over all inputs of a reader


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One of: truncate, flip bytes, insert junk, duplicate a slice, or replace with noise."""
    buf = bytearray(data)
    kind = rng.integers(5)
    if kind == 0 and buf:
        return bytes(buf[: rng.integers(len(buf))])
    if kind == 1 and buf:
        for i in rng.integers(len(buf), size=max(1, len(buf) // 50)):
            buf[i] = rng.integers(256)
        return bytes(buf)
    if kind == 2:
        at = rng.integers(len(buf) + 1)
        return bytes(buf[:at] + rng.bytes(rng.integers(1, 64)) + buf[at:])
    if kind == 3 and buf:
        a, b = sorted(rng.integers(len(buf), size=2))
        return bytes(buf[:b] + buf[a:b] * int(rng.integers(1, 4)) + buf[b:])
    return rng.bytes(int(rng.integers(0, 2048)))


def _fuzz(read: Callable[[bytes], object], seed_input: bytes) -> None:
    """``read`` every mutation of ``seed_input``: a VCError or a value, in bounded time and memory."""
    rng = np.random.default_rng(SEED)

    def too_slow(signum, frame):
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, too_slow)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        for case in range(CASES):
            data = _mutate(seed_input, rng)
            signal.alarm(SECONDS)
            try:
                read(data)
            except VCError as e:
                assert str(e) and "\n" not in str(e).strip(), f"case {case}: a message of several lines: {e}"
            except TimeoutError:
                pytest.fail(f"case {case}: no answer within {SECONDS} s ({len(data)} bytes)")
            except Exception as e:  # anything else would reach the user as a traceback
                pytest.fail(f"case {case}: {type(e).__name__}: {e} ({len(data)} bytes: {data[:40]!r})")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - start
    assert growth < MEMORY_GROWTH, f"peak memory grew by {growth / 2**20:.0f} MiB"


def test_audio_loader(speech: np.ndarray) -> None:
    from vc.audio.io import load_wav

    wav = io.BytesIO()
    sf.write(wav, speech[:8000], 16000, format="WAV", subtype="PCM_16")
    _fuzz(lambda data: load_wav(io.BytesIO(data), 16000, name="fuzz.wav"), wav.getvalue())


def test_data_dir_parser(tmp_path: Path, speech: np.ndarray) -> None:
    from vc.data.datadir import DataDir

    sf.write(tmp_path / "a.wav", speech[:8000], 16000)
    good = {"wav.scp": f"spkA_1 {tmp_path}/a.wav\nspkA_2 {tmp_path}/a.wav\n", "utt2spk": "spkA_1 spkA\nspkA_2 spkA\n",
            "text": "spkA_1 hello there\nspkA_2 general kenobi\n"}
    for name in good:
        data_dir = tmp_path / f"fuzzed_{name.replace('.', '_')}"
        data_dir.mkdir()

        def read(data: bytes, data_dir: Path = data_dir, name: str = name) -> object:
            for other, text in good.items():
                (data_dir / other).write_text(text)
            (data_dir / name).write_bytes(data)
            return DataDir.read(data_dir)

        _fuzz(read, good[name].encode())


def test_experiment_config(tmp_path: Path) -> None:
    from vc.train.experiment import ExperimentConfig

    good = (b"model: cyclegan_vc\nmodel_params:\n  generator: {channels: 8, kernel: 3}\n"
            b"data: {segment_frames: 24, speakers: [a, b]}\ntrain: {max_steps: 2, batch_size: 2, lr: 0.001}\n")
    path = tmp_path / "conf.yaml"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        return ExperimentConfig.load(path)

    _fuzz(read, good)


def test_checkpoint_opener(tmp_path: Path) -> None:
    from vc.train.checkpoint import load_checkpoint, save_checkpoint

    saved = save_checkpoint(tmp_path / "good", 3, {"step": 3, "model": {"w": torch.ones(4, 4)}, "config": {}},
                            keep_last=1)
    path = tmp_path / "fuzzed.pt"

    def read(data: bytes) -> object:
        path.write_bytes(data)
        return load_checkpoint(path)

    _fuzz(read, saved.read_bytes())
