"""StreamingConverter and `vc stream`: a tiny causal CycleGAN-VC trained for 2 steps, streamed
in blocks of every kind, against its offline conversion with the same vocoder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from test_convert import FEATS, data  # noqa: F401 (data: the utterances fixture)

from vc import Converter
from vc.audio.features import FeatureComputer
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import AudioError, ConfigError
from vc.stream.converter import StreamingConverter
from vc.vocoders.streaming_phase import vocode_offline

CAUSAL = {
    "generator": {"channels": 4, "down_channels": [8, 8], "residual_channels": 16, "residual_blocks": 1,
                  "up_channels": [4, 4], "first_kernel": [3, 5], "kernel": 3, "causal": True, "lookahead": 1,
                  "norm": "frame"},
    "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]},
    "max_mask_frames": 4,
}


def _train(root: Path, model_params: dict, name: str) -> Path:
    conf = root / f"{name}.yaml"
    conf.write_text(yaml.safe_dump({"model": "cyclegan_vc", "model_params": model_params,
                                    "data": {"segment_frames": 24},
                                    "train": {"max_steps": 2, "batch_size": 2, "save_interval": 2}}))
    assert main(["train", "--conf", str(conf), "--exp", str(root / name), "--train-dump", str(root / "dump"),
                 "--speakers", "spkA,spkB", "--device", "cpu"]) == 0
    return root / name


@pytest.fixture(scope="module")
def exps(data: Path) -> dict[str, Path]:
    """A causal and an offline tiny CycleGAN-VC on test_convert's spkA/spkB utterances."""
    extract_dump(DataDir.read(data / "data"), FEATS, data / "dump", progress=False)
    compute_stats(FeatureDump.open(data / "dump")).save(data / "dump" / "stats.npz")
    offline = {**CAUSAL, "generator": {k: v for k, v in CAUSAL["generator"].items()
                                       if k not in ("causal", "lookahead", "norm")}}
    return {"causal": _train(data, CAUSAL, "causal"), "offline": _train(data, offline, "offline"), "root": data}


@pytest.fixture(scope="module")
def converter(exps: dict[str, Path]) -> Converter:
    return Converter.load(exps["causal"], device="cpu", chunk_frames=None)


def _stream(stream: StreamingConverter, wav: np.ndarray, sizes: list[int]) -> np.ndarray:
    outs, start = [], 0
    for n in sizes:
        out = stream.push(wav[start:start + n])
        assert len(out) == max(0, min(n, len(wav) - start))  # as many samples out as in
        outs.append(out)
        start += n
    return np.concatenate(outs + [stream.flush()])


BLOCKS = {"one hop": 256, "20 ms, not a multiple of the hop": 320, "1000 samples": 1000}


@pytest.mark.parametrize("block", BLOCKS.values(), ids=BLOCKS.keys())
def test_streamed_frames_are_the_offline_conversion(converter: Converter, speech: np.ndarray, block: int) -> None:
    wav = speech[:20000]
    offline = converter.convert_features(FeatureComputer(FEATS)(wav), "spkA", "spkB")
    stream = StreamingConverter(converter, "spkA", "spkB", block=block)
    frames = [stream.convert_frames(wav[start:start + block]) for start in range(0, len(wav), block)]
    streamed = np.concatenate(frames + [stream.flush_frames()])
    assert streamed.shape == offline.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-4)


def test_stream_is_the_same_whatever_the_blocks(converter: Converter, speech: np.ndarray) -> None:
    wav = speech[:12000]
    rng, irregular = np.random.default_rng(0), []
    while sum(irregular) < len(wav):
        irregular.append(int(rng.integers(0, 700)))  # with empty pushes
    splits = {"hop": [256] * 47, "20 ms": [320] * 38, "1000": [1000] * 12, "irregular": irregular}
    outs = {name: _stream(StreamingConverter(converter, "spkA", "spkB", block=320), wav, sizes)
            for name, sizes in splits.items()}
    for name, out in outs.items():
        np.testing.assert_array_equal(out, outs["20 ms"], err_msg=name)


def test_stream_is_its_frames_vocoded_offline_and_delayed(converter: Converter, speech: np.ndarray) -> None:
    wav = speech[:12000]
    stream = StreamingConverter(converter, "spkA", "spkB", block=320)
    out = _stream(stream, wav, [320] * 38)
    assert len(out) == len(wav) + stream.delay
    replay = StreamingConverter(converter, "spkA", "spkB", block=320)
    frames = np.concatenate([replay.convert_frames(wav), replay.flush_frames()])
    np.testing.assert_allclose(out[stream.delay:], vocode_offline(FEATS, frames)[: len(wav)], atol=1e-6)
    assert not out[: stream.delay - FEATS.n_fft].any()  # nothing comes out before the first frame is in
    # Against the whole offline pipeline the phases may differ (docs/stream.md); the spectra agree.
    offline = converter.convert(wav, 16000, "spkA", "spkB", vocoder="rtisi_la")
    computer = FeatureComputer(FEATS)
    assert np.abs(computer(out[stream.delay:]) - computer(offline)).mean() < 0.05


def test_latency_is_the_delay_plus_the_block(converter: Converter) -> None:
    stream = StreamingConverter(converter, "spkA", "spkB", block=320)
    hop, lookahead = FEATS.hop_length, stream.frames.lookahead + stream.vocoder.lookahead_frames
    # features wait n_fft/2 past a frame's centre, overlap-add n_fft/2 before it, plus lookahead and a hop's phase
    assert stream.delay <= FEATS.n_fft + hop * (lookahead + 1)
    assert stream.latency_ms == pytest.approx(1000 * (stream.delay + 320) / 16000)


def test_streaming_errors(converter: Converter, exps: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"block of 100 samples: shorter than a hop \(256 samples, 16 ms\)"):
        StreamingConverter(converter, "spkA", "spkB", block=100)
    with pytest.raises(ConfigError, match="unknown speaker 'spkC'"):
        StreamingConverter(converter, "spkA", "spkC")
    offline = Converter.load(exps["offline"], device="cpu")
    with pytest.raises(ConfigError, match="cannot stream; train one with model_params.generator.causal: true"):
        StreamingConverter(offline, "spkA", "spkB")
    stream = StreamingConverter(converter, "spkA", "spkB")
    stream.push(np.zeros(500, np.float32))
    with pytest.raises(AudioError, match=r"input sample 503 \(0.031 s\) is NaN or infinite"):
        stream.push(np.array([0, 0, 0, np.nan], np.float32))


def test_cli_file_to_file_lines_up_with_the_input(exps: dict[str, Path], converter: Converter,
                                                  speech: np.ndarray, tmp_path: Path, capsys) -> None:
    src = exps["root"] / "spkA_002.wav"
    out = tmp_path / "out.wav"
    assert main(["stream", "--model", str(exps["causal"]), "--src-spk", "spkA", "--tgt-spk", "spkB", str(src),
                 "--out", str(out), "--block-ms", "20"]) == 0
    wav, rate = sf.read(out, dtype="float32")
    stream = StreamingConverter(converter, "spkA", "spkB", block=320)
    source = sf.read(src, dtype="float32")[0]
    expected = np.concatenate([stream.push(source), stream.flush()])[stream.delay:]
    assert rate == 16000 and len(wav) == len(source)
    np.testing.assert_allclose(wav, expected, atol=1 / 32768)  # 16-bit output
    err = capsys.readouterr().err
    assert re.search(r"1\.50 s of audio in 75 blocks of 20 ms .*algorithmic latency \d+\.\d ms .*compute per block "
                     r"median .*% of the block\), p99", err), err


def _run_cli(args: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "vc", "stream", *args], input=stdin, capture_output=True,
                          env=env, timeout=120)


def test_cli_pipes_raw_pcm_through_stdin_and_stdout(exps: dict[str, Path], converter: Converter,
                                                    speech: np.ndarray) -> None:
    pcm = (np.clip(speech[:8000], -1, 32767 / 32768) * 32768).astype("<i2")
    done = _run_cli(["--model", str(exps["causal"]), "--src-spk", "spkA", "--tgt-spk", "spkB", "-", "--out", "-"],
                    pcm.tobytes())
    assert done.returncode == 0, done.stderr.decode()
    stream = StreamingConverter(converter, "spkA", "spkB")
    out = np.frombuffer(done.stdout, "<i2")
    assert len(out) == len(pcm) + stream.delay  # the live stream keeps its delay
    expected = np.concatenate([stream.push(pcm.astype(np.float32) / 32768), stream.flush()])
    np.testing.assert_allclose(out / 32768, expected, atol=1 / 32768)


@pytest.mark.parametrize("case, message", [
    ("short block", r"block of 80 samples: shorter than a hop"),
    ("unknown speaker", r"unknown speaker 'spkC'"),
    ("offline model", r"cannot stream"),
    ("wrong rate on stdin", r"stdin: a 22050 Hz mono 16-bit PCM wav stream; this model takes 16000 Hz mono"),
    ("stereo on stdin", r"stdin: a 16000 Hz stereo 16-bit PCM wav stream; this model takes 16000 Hz mono"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(exps: dict[str, Path], tmp_path: Path, case: str,
                                                      message: str) -> None:
    import io

    model, tgt, block, stdin = exps["causal"], "spkB", "20", b""
    if case == "short block":
        block = "5"
    elif case == "unknown speaker":
        tgt = "spkC"
    elif case == "offline model":
        model = exps["offline"]
    else:
        buffer = io.BytesIO()
        rate, channels = (22050, 1) if case == "wrong rate on stdin" else (16000, 2)
        sf.write(buffer, np.zeros((4000, channels), np.float32), rate, format="WAV", subtype="PCM_16")
        stdin = buffer.getvalue()
    out = tmp_path / "out.wav"
    done = _run_cli(["--model", str(model), "--src-spk", "spkA", "--tgt-spk", tgt, "-", "--out", str(out),
                     "--block-ms", block], stdin)
    err = done.stderr.decode().strip()
    assert done.returncode == 1 and len(err.splitlines()) == 1 and err.startswith("vc stream: error: "), err
    assert re.search(message, err), err
    assert not out.exists()


def test_cli_error_mid_stream_leaves_a_valid_wav_of_what_came_before(exps: dict[str, Path], speech: np.ndarray,
                                                                     tmp_path: Path) -> None:
    pcm = (speech[:8000] * 32767).astype("<i2").tobytes() + b"\x01"  # a truncated last sample
    out = tmp_path / "out.wav"
    done = _run_cli(["--model", str(exps["causal"]), "--src-spk", "spkA", "--tgt-spk", "spkB", "-",
                     "--out", str(out)], pcm)
    err = done.stderr.decode().strip()
    assert done.returncode == 1 and len(err.splitlines()) == 1 and "vc stream: error: " in err, err
    wav, rate = sf.read(out, dtype="float32")
    assert rate == 16000 and 0 < len(wav) <= 8000


def test_convert_can_run_the_stream_for_the_recipes(exps: dict[str, Path], converter: Converter,
                                                    tmp_path: Path, capsys) -> None:
    src = exps["root"] / "spkA_001.wav"
    out = tmp_path / "out.wav"
    args = ["convert", "--model", str(exps["causal"]), "--src-spk", "spkA", "--tgt-spk", "spkB", str(src),
            "--out", str(out), "--stream-block-ms", "20"]
    assert main([*args, "--vocoder", "rtisi_la"]) == 0
    expected = StreamingConverter(converter, "spkA", "spkB", block=320).convert_in_blocks(sf.read(src, dtype="float32")[0])
    np.testing.assert_allclose(sf.read(out, dtype="float32")[0], expected, atol=1 / 32768)
    out.unlink()
    assert main([*args, "--vocoder", "gl"]) == 1
    assert "streaming vocoder: unknown method 'gl'; choose from rtisi_la, rtpghi" in capsys.readouterr().err
    assert not out.exists()
