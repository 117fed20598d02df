"""vc.stream.io: block sources (file, stdin pipe, sound card) and sinks (wav, stdout, sound card)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import types
import wave
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from vc.audio.io import resample
from vc.errors import AudioError, ConfigError, VCError
from vc.stream.io import (
    OutputClosed,
    SoundcardSink,
    StdoutSink,
    WavSink,
    file_blocks,
    float_to_pcm16,
    pcm16_to_float,
    soundcard_blocks,
    stdin_blocks,
)

RATE = 16000
BLOCK = 320  # 20 ms


def quantised(wav: np.ndarray) -> np.ndarray:
    """What 16-bit PCM holds of ``wav``."""
    return pcm16_to_float(float_to_pcm16(wav, "test"))


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert "\n" not in text and text
    return text


def feed(data: bytes, piece: int = 777) -> int:
    """A pipe's read end, written by a thread in odd-sized pieces as a live producer would."""
    r, w = os.pipe()

    def write() -> None:
        with os.fdopen(w, "wb", buffering=0) as f:
            for start in range(0, len(data), piece):
                f.write(data[start : start + piece])

    threading.Thread(target=write, daemon=True).start()
    return r


def read_all(blocks: Iterator[np.ndarray], got: list[np.ndarray] | None = None) -> list[np.ndarray]:
    got = [] if got is None else got
    for b in blocks:
        assert b.dtype == np.float32 and b.ndim == 1
        got.append(b)
    return got


def wav_header(rate: int = RATE, channels: int = 1, bits: int = 16, data_size: int = 0, *,
               tag: int = 1, extensible: bool = False, extra_chunk: bytes = b"") -> bytes:
    """A WAV header up to the data chunk's size field, as a streaming writer sends it."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits)
    if extensible:  # cbSize, valid bits, channel mask, then the sub-format GUID led by the tag
        fmt += struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", tag) + bytes(14)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunk + b"data" + struct.pack("<I", data_size)
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + body


# ---- conversion helpers ----------------------------------------------------------------------


def test_pcm16_round_trip_is_exact_and_full_scale_is_clipped() -> None:
    ints = np.arange(-32768, 32768, dtype="<i2")
    assert float_to_pcm16(pcm16_to_float(ints.tobytes()), "x") == ints.tobytes()
    edges = np.frombuffer(float_to_pcm16(np.array([1.0, 1.5, -1.0, -2.0, 0.5 / 32768], np.float32), "x"), "<i2")
    assert edges.tolist() == [32767, 32767, -32768, -32768, 0]  # +1.0 must not wrap to -32768


# ---- file source -----------------------------------------------------------------------------


def test_file_blocks_resample_and_downmix_a_stereo_file(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "in.wav"
    left = resample(speech, RATE, 22050)
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), 22050, subtype="FLOAT")
    blocks = list(file_blocks(path, 300, RATE))
    out = np.concatenate(blocks)
    assert abs(out.size - speech.size) <= 1 and out.size % 300 != 0
    assert all(b.size == 300 for b in blocks[:-1]) and 0 < blocks[-1].size < 300
    n = min(out.size, speech.size)
    gain = np.dot(out[:n], speech[:n]) / np.dot(speech[:n], speech[:n])
    assert gain == pytest.approx(0.5, abs=0.01)  # mean of the speech and a silent channel
    assert np.corrcoef(out[:n], speech[:n])[0, 1] > 0.99


def test_file_blocks_realtime_come_at_the_pace_of_the_audio(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "in.wav"
    sf.write(path, speech[: 5 * BLOCK], RATE)
    start = time.monotonic()
    arrivals = [time.monotonic() - start for _ in file_blocks(path, BLOCK, RATE, realtime=True)]
    assert len(arrivals) == 5
    for i, t in enumerate(arrivals, 1):
        assert t >= i * BLOCK / RATE - 1e-3  # a block comes once all of it was "recorded"


def test_file_blocks_bad_file_fails_before_the_first_block(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="file not found"):
        file_blocks(tmp_path / "missing.wav", BLOCK, RATE)
    with pytest.raises(ConfigError, match="block size"):
        file_blocks(tmp_path / "missing.wav", 0, RATE)


# ---- stdin source ----------------------------------------------------------------------------


def test_stdin_raw_pcm_round_trip_in_exact_blocks(speech: np.ndarray) -> None:
    wav = speech[: 10 * BLOCK + 123]
    blocks = read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(float_to_pcm16(wav, "x"))))
    assert [b.size for b in blocks] == [BLOCK] * 10 + [123]
    np.testing.assert_array_equal(np.concatenate(blocks), quantised(wav))


def test_stdin_yields_a_block_as_soon_as_it_arrived(speech: np.ndarray) -> None:
    """A live pipe: the second block is only sent once the first came out."""
    r, w = os.pipe()
    first_out = threading.Event()
    released = []  # whether the writer was let go, or gave up waiting
    data = float_to_pcm16(speech[: 3 * BLOCK], "x")

    def write() -> None:
        os.write(w, data[: 2 * BLOCK])
        released.append(first_out.wait(5))
        os.write(w, data[2 * BLOCK :])
        os.close(w)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    blocks = stdin_blocks(BLOCK, RATE, RATE, 1, fd=r)
    first = next(blocks)
    first_out.set()
    assert len(read_all(blocks)) == 2
    writer.join(10)
    assert released == [True]
    np.testing.assert_array_equal(first, quantised(speech[:BLOCK]))


@pytest.mark.parametrize("size", ["exact", 0, 0xFFFFFFFF, 0x7FFFF000])
def test_stdin_wav_stream_with_any_data_size(speech: np.ndarray, size: int | str) -> None:
    wav = speech[: 4 * BLOCK + 7]
    pcm = float_to_pcm16(wav, "x")
    info = b"LIST" + struct.pack("<I", 5) + b"abcde\0"  # a chunk before the data, odd-sized so padded
    header = wav_header(data_size=len(pcm) if size == "exact" else size, extra_chunk=info)
    blocks = read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(header + pcm)))
    assert [b.size for b in blocks] == [BLOCK] * 4 + [7]
    np.testing.assert_array_equal(np.concatenate(blocks), quantised(wav))


def test_stdin_wav_stream_stops_at_its_data_size(speech: np.ndarray) -> None:
    pcm = float_to_pcm16(speech[:BLOCK], "x")
    trailer = b"LIST" + struct.pack("<I", 4) + b"junk"  # after the data: not audio
    blocks = read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(wav_header(data_size=len(pcm)) + pcm + trailer)))
    np.testing.assert_array_equal(np.concatenate(blocks), quantised(speech[:BLOCK]))


def test_stdin_wav_stream_extensible_pcm_is_accepted(speech: np.ndarray) -> None:
    pcm = float_to_pcm16(speech[:BLOCK], "x")
    blocks = read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(wav_header(extensible=True) + pcm)))
    np.testing.assert_array_equal(np.concatenate(blocks), quantised(speech[:BLOCK]))


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_stdin_wav_stream_from_sox() -> None:
    sox = subprocess.Popen(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", "-t", "wav", "-",
                            "synth", "0.5", "sine", "440"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        blocks = read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=sox.stdout.fileno()))
    finally:
        sox.stdout.close()
        sox.wait()
    assert sum(b.size for b in blocks) == RATE // 2
    assert np.abs(np.concatenate(blocks)).max() > 0.5


def test_stdin_wav_stream_at_another_rate_says_how_to_convert() -> None:
    with pytest.raises(AudioError) as e:
        stdin_blocks(BLOCK, RATE, None, 1, fd=feed(wav_header(rate=44100) + bytes(100)))
    assert one_line(e) == ("stdin: a 44100 Hz mono 16-bit PCM wav stream; this model takes 16000 Hz mono 16-bit PCM "
                           "(convert first, e.g. sox IN -r 16000 -c 1 -b 16 -t wav -)")


@pytest.mark.parametrize("kind, header", [
    ("16000 Hz stereo 16-bit PCM", wav_header(channels=2)),
    ("16000 Hz mono 32-bit float", wav_header(bits=32, tag=3)),
    ("16000 Hz mono 24-bit PCM", wav_header(bits=24, extensible=True)),
])
def test_stdin_wav_stream_of_another_format_is_refused(kind: str, header: bytes) -> None:
    with pytest.raises(AudioError) as e:
        stdin_blocks(BLOCK, RATE, None, 1, fd=feed(header + bytes(100)))
    assert one_line(e).startswith(f"stdin: a {kind} wav stream; this model takes 16000 Hz mono 16-bit PCM")


def test_stdin_declared_raw_format_must_be_the_models() -> None:
    with pytest.raises(ConfigError) as e:
        stdin_blocks(BLOCK, RATE, 44100, 1, fd=feed(bytes(100)))
    assert one_line(e) == ("stdin: raw PCM declared as 44100 Hz mono (--rate, --channels); this model takes 16000 Hz "
                           "mono (convert first, e.g. sox IN -r 16000 -c 1 -b 16 -t raw -)")
    with pytest.raises(ConfigError, match="declared as 16000 Hz stereo"):
        stdin_blocks(BLOCK, RATE, None, 2, fd=feed(bytes(100)))


def test_stdin_odd_trailing_byte_fails_after_the_good_blocks(speech: np.ndarray) -> None:
    pcm = float_to_pcm16(speech[: 2 * BLOCK + 5], "x")
    got: list[np.ndarray] = []
    with pytest.raises(AudioError) as e:
        read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(pcm + b"\x01")), got)
    assert one_line(e) == f"stdin: the stream ends inside a 16-bit sample (an odd byte after {2 * BLOCK + 5} samples)"
    assert [b.size for b in got] == [BLOCK, BLOCK, 5]
    np.testing.assert_array_equal(np.concatenate(got), quantised(speech[: 2 * BLOCK + 5]))


@pytest.mark.parametrize("data, message", [
    (b"", "stdin: no audio arrived"),
    (wav_header(), "stdin: no audio arrived"),
    (b"RIFF\xff\xff\xff\xffWAVEfmt ", "stdin: the wav stream ends before its data chunk"),
    (b"fLaC" + bytes(100), "stdin: a FLAC stream; pipe 16-bit PCM wav or raw PCM"),
])
def test_stdin_empty_or_unusable_streams_are_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(AudioError) as e:
        read_all(stdin_blocks(BLOCK, RATE, None, 1, fd=feed(data)))
    assert one_line(e).startswith(message)


def test_stdin_and_stdout_refuse_a_terminal() -> None:
    leader, follower = os.openpty()
    try:
        with pytest.raises(ConfigError) as e:
            stdin_blocks(BLOCK, RATE, None, 1, fd=follower)
        assert one_line(e).startswith("stdin: is a terminal; pipe audio in (e.g. arecord -f S16_LE -r 16000")
        with pytest.raises(ConfigError) as e:
            StdoutSink(RATE, fd=follower)
        assert one_line(e) == ("stdout: is a terminal; pipe it to a player (| aplay -f S16_LE -r 16000 -c 1 -t raw) "
                               "or give a .wav path")
    finally:
        os.close(leader)
        os.close(follower)


# ---- wav sink --------------------------------------------------------------------------------


def test_wav_sink_is_a_complete_wav_after_every_write(tmp_path: Path, speech: np.ndarray) -> None:
    path = tmp_path / "out.wav"
    sink = WavSink(path, RATE)
    written = []
    for start in range(0, 3 * BLOCK, BLOCK):
        sink.write(speech[start : start + BLOCK])
        written.append(speech[start : start + BLOCK])
        expected = quantised(np.concatenate(written))
        wav, sr = sf.read(path, dtype="float32")  # while the sink is still open
        assert sr == RATE
        np.testing.assert_array_equal(wav, expected)
        with wave.open(str(path)) as w:  # a strict reader: trusts the header's sizes alone
            assert w.getnframes() == expected.size
    sink.close()
    sink.close()  # the CLI may close again on its way out
    wav, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(wav, quantised(speech[: 3 * BLOCK]))


def test_wav_sink_closed_without_samples_is_an_empty_wav(tmp_path: Path) -> None:
    with WavSink(tmp_path / "out.wav", RATE):
        pass
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert (w.getnframes(), w.getframerate(), w.getnchannels(), w.getsampwidth()) == (0, RATE, 1, 2)


def test_wav_sink_refuses_a_missing_directory_and_nan(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        WavSink(tmp_path / "nope" / "out.wav", RATE)
    assert one_line(e) == f"{tmp_path / 'nope' / 'out.wav'}: directory {tmp_path / 'nope'} does not exist"
    assert not (tmp_path / "nope").exists()
    with WavSink(tmp_path / "out.wav", RATE) as sink, pytest.raises(AudioError, match="NaN or Inf"):
        sink.write(np.array([0.1, np.nan], np.float32))


# ---- stdout sink -----------------------------------------------------------------------------


def test_stdout_sink_writes_clipped_pcm_through_a_pipe(speech: np.ndarray) -> None:
    r, w = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(os.fdopen(r, "rb").read()))
    reader.start()
    loud = np.concatenate([speech[:BLOCK], np.array([1.0, 1.7, -1.0, -3.0], np.float32)])
    sink = StdoutSink(RATE, fd=w)
    for start in range(0, loud.size, 100):  # each write is passed on whole: a blocking pipe takes it all
        sink.write(loud[start : start + 100])
    sink.close()
    os.close(w)
    reader.join(10)
    ints = np.frombuffer(bytes(received), "<i2")
    assert ints[-4:].tolist() == [32767, 32767, -32768, -32768]
    np.testing.assert_array_equal(pcm16_to_float(bytes(received)), quantised(loud))


def test_stdout_sink_reader_gone_is_a_normal_stop() -> None:
    r, w = os.pipe()
    os.close(r)
    sink = StdoutSink(RATE, fd=w)
    with pytest.raises(OutputClosed) as e:
        sink.write(np.zeros(RATE, np.float32))
    assert isinstance(e.value, VCError) and e.value.exit_status == 0
    assert one_line(e) == "stdout: the reader closed the pipe after 0.00 s of audio; stopped"
    os.write(w, b"late")  # the fd now leads nowhere instead of failing again
    os.close(w)


def test_stdout_sink_piped_into_head_stops_cleanly() -> None:
    """`vc stream ... --out - | head -c 1000`: no traceback, no failing flush at exit."""
    script = (
        "import sys, numpy as np\n"
        "from vc.stream.io import StdoutSink, OutputClosed\n"
        "sink = StdoutSink(16000)\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        sink.write(np.full(320, 0.25, np.float32))\n"
        "except OutputClosed as e:\n"
        "    print(e, file=sys.stderr)\n"
        "print('late text on stdout')\n"
    )
    run = subprocess.run(f"'{sys.executable}' -c \"$SCRIPT\" | head -c 1000 | wc -c; echo \"${{PIPESTATUS[0]}}\"",
                         shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=60,
                         env={**os.environ, "SCRIPT": script}, cwd=Path(__file__).parent.parent)
    assert run.stdout.split() == ["1000", "0"], run.stderr
    assert run.stderr.strip().startswith("stdout: the reader closed the pipe after"), run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr


# ---- sound card ------------------------------------------------------------------------------


def fake_sounddevice(devices: list[dict], recorded: list[np.ndarray] | None = None) -> types.ModuleType:
    """A stand-in for sounddevice with ``devices``: records what is played, plays back ``recorded``."""
    sd = types.ModuleType("sounddevice")
    sd.PortAudioError = type("PortAudioError", (Exception,), {})
    sd.played, sd.events = [], []

    def query_devices(device: int | str | None = None, kind: str | None = None) -> object:
        if device is None:
            return devices
        matches = [d for d in devices if device in (d["name"], d["index"]) and d[f"max_{kind}_channels"] > 0]
        if not matches:
            raise ValueError(f"No {kind} device matching {device!r}")
        return matches[0]

    class Stream:
        closed = False

        def __init__(self, **kwargs: object) -> None:
            sd.events.append(("open", kwargs))

        def start(self) -> None:
            sd.events.append("start")

        def stop(self) -> None:
            sd.events.append("stop")

        def close(self) -> None:
            self.closed = True
            sd.events.append("close")

        def __enter__(self) -> Stream:
            self.start()
            return self

        def __exit__(self, *exc: object) -> None:
            self.stop()
            self.close()

        def read(self, frames: int) -> tuple[np.ndarray, bool]:
            return recorded.pop(0)[:frames].reshape(-1, 1), False

        def write(self, data: np.ndarray) -> bool:
            sd.played.append(data.copy())
            return False

    sd.query_devices, sd.InputStream, sd.OutputStream = query_devices, Stream, Stream
    return sd


MIC = {"name": "mic", "index": 0, "max_input_channels": 1, "max_output_channels": 0}
SPEAKER = {"name": "speaker", "index": 1, "max_input_channels": 0, "max_output_channels": 2}


def test_soundcard_without_sounddevice_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    with pytest.raises(ConfigError) as e:
        soundcard_blocks(BLOCK, RATE)
    assert one_line(e) == "sound card: the sounddevice package is not installed (pip install 'vc[soundcard]')"
    with pytest.raises(ConfigError, match="not installed"):
        SoundcardSink(RATE)


def test_soundcard_without_portaudio_names_the_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")  # what it does
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    with pytest.raises(ConfigError) as e:
        SoundcardSink(RATE)
    assert one_line(e) == "sound card: the PortAudio library is missing (Debian/Ubuntu: apt-get install libportaudio2)"


def test_soundcard_without_a_device_of_the_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([SPEAKER]))
    with pytest.raises(ConfigError) as e:
        soundcard_blocks(BLOCK, RATE)
    assert one_line(e) == "sound card: no input device found (sounddevice lists none); use a file or - instead"
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice([MIC]))
    with pytest.raises(ConfigError, match="no output device found"):
        SoundcardSink(RATE)
    with pytest.raises(ConfigError) as e:
        soundcard_blocks(BLOCK, RATE, device="usb")
    assert one_line(e) == "sound card: No input device matching 'usb'"


def test_soundcard_records_blocks_and_plays_clipped_samples(monkeypatch: pytest.MonkeyPatch,
                                                           speech: np.ndarray) -> None:
    sd = fake_sounddevice([MIC, SPEAKER], recorded=[speech[:BLOCK], speech[BLOCK : 2 * BLOCK]])
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    blocks = soundcard_blocks(BLOCK, RATE, device="mic")
    assert sd.events == [("open", dict(samplerate=RATE, blocksize=BLOCK, channels=1, dtype="float32", device="mic"))]
    got = [next(blocks), next(blocks)]
    blocks.close()  # the CLI stops reading: the stream must be stopped and closed
    assert sd.events[1:] == ["start", "stop", "close"]
    assert [b.shape for b in got] == [(BLOCK,), (BLOCK,)]
    np.testing.assert_array_equal(np.concatenate(got), speech[: 2 * BLOCK])

    sd.events.clear()
    with SoundcardSink(RATE) as sink:
        sink.write(np.array([0.5, 2.0, -2.0], np.float32))
    assert sd.events[1:] == ["start", "stop", "close"]
    np.testing.assert_array_equal(sd.played[0], np.array([[0.5], [1.0], [-1.0]], np.float32))


def test_soundcard_on_this_machine_fails_with_a_clear_line() -> None:
    try:
        blocks = soundcard_blocks(BLOCK, RATE)
    except ConfigError as e:
        assert "\n" not in str(e)
        assert any(s in str(e) for s in ("pip install 'vc[soundcard]'", "libportaudio2", "no input device found"))
    else:
        blocks.close()
        pytest.skip("this machine has a sound card")
