"""Where `vc stream` gets its blocks and puts its output: a file, stdin/stdout (a WAV stream or
raw 16-bit PCM, so it pipes with sox, arecord and aplay) and a sound card (optional sounddevice).

Sources yield float32 mono blocks of exactly ``block`` samples at the model's ``rate`` (the last
may be shorter). They check what they can when called, before the first block, so a bad input
fails before an output is created. Sinks pass every write() on at once: a listener hears it,
and a wav file holds it, even if the process stops right after.
"""

from __future__ import annotations

import os
import struct
import sys
import time
import wave
from abc import ABC, abstractmethod
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from vc.audio.io import load_wav
from vc.errors import AudioError, ConfigError, VCError, WriteError

if TYPE_CHECKING:
    import sounddevice

_PCM16_SCALE = 32768.0
# A streaming writer cannot seek back to fill in the data chunk's size: it writes 0 or
# 0xFFFFFFFF (ffmpeg), or sox's 0x7FFFF000. Any other size is honoured as the data's length.
_UNKNOWN_DATA_SIZES = frozenset({0, 0x7FFFF000, 0xFFFFFFFF})
# Other containers a user may pipe in by mistake; read as raw PCM they would be loud noise.
_OTHER_CONTAINERS = {b"RIFX": "big-endian wav (RIFX)", b"RF64": "RF64 wav", b"fLaC": "FLAC", b"OggS": "Ogg"}
_WAV_FORMATS = {1: "PCM", 3: "float", 6: "A-law", 7: "mu-law"}


class OutputClosed(VCError):
    """The reader of stdout went away (`| head -c`, a player quit): a normal end of the stream,
    so `vc` prints the message as a note and exits 0."""

    exit_status = 0


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian 16-bit PCM (an even number of bytes) as float32 in [-1, 1)."""
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(_PCM16_SCALE)


def float_to_pcm16(samples: np.ndarray, label: str) -> bytes:
    """float samples as little-endian 16-bit PCM; the exact inverse of pcm16_to_float.

    Clipped to [-1, 1) first: +1.0 * 32768 would wrap round to full negative scale.
    """
    samples = _finite(samples, label)
    clipped = np.clip(samples, -1.0, (_PCM16_SCALE - 1) / _PCM16_SCALE)
    return np.rint(clipped * np.float32(_PCM16_SCALE)).astype("<i2").tobytes()


# ---- sources -------------------------------------------------------------------------------


def file_blocks(path: str | Path, block: int, rate: int, *, realtime: bool = False) -> Iterator[np.ndarray]:
    """Blocks of a wav/flac/ogg file of any rate and channel count, resampled to ``rate`` and
    downmixed. With ``realtime`` each block comes when a live input would have finished
    recording it, so a demo's output keeps pace with the audio."""
    _check_block(block)
    wav, _ = load_wav(path, rate)
    blocks = (wav[start : start + block] for start in range(0, wav.size, block))
    return _paced(blocks, rate) if realtime else blocks


def stdin_blocks(
    block: int, rate: int, declared_rate: int | None, declared_channels: int, *, fd: int | None = None
) -> Iterator[np.ndarray]:
    """Blocks from stdin (or ``fd``): a WAV stream when it starts with RIFF, which must be 16-bit
    PCM mono at ``rate``; else raw little-endian 16-bit PCM, which must be declared (--rate,
    --channels) at ``rate`` and mono; ``declared_rate`` None means ``rate``.

    Each block is yielded as soon as its bytes have arrived. Waits for the first 4 bytes to tell
    the two apart. A stream ending inside a sample is an AudioError after the whole samples.
    """
    _check_block(block)
    fd = sys.stdin.fileno() if fd is None else fd
    if os.isatty(fd):
        raise ConfigError(f"stdin: is a terminal; pipe audio in "
                          f"(e.g. arecord -f S16_LE -r {rate} -c 1 -t wav | vc stream ... -)")
    pipe = _Pipe(fd)
    head = pipe.read_exact(4)
    if head == b"RIFF":
        _read_wav_header(pipe, rate)
        head = b""
    elif head in _OTHER_CONTAINERS:
        raise AudioError(f"stdin: a {_OTHER_CONTAINERS[head]} stream; pipe 16-bit PCM wav or raw PCM "
                         f"(e.g. sox IN -r {rate} -c 1 -b 16 -t wav -)")
    elif (declared_rate or rate, declared_channels) != (rate, 1):
        declared = f"{declared_rate or rate} Hz {_channels(declared_channels)}"
        raise ConfigError(f"stdin: raw PCM declared as {declared} (--rate, --channels); "
                          f"this model takes {rate} Hz mono (convert first, e.g. sox IN -r {rate} -c 1 -b 16 -t raw -)")
    return _pcm_blocks(pipe, block, head)


class _Pipe:
    """Reads a file descriptor as bytes arrive, optionally stopping after ``left`` bytes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.left: int | None = None

    def read(self, n: int) -> bytes:
        """What has arrived, up to ``n`` bytes; waits only while nothing has; b"" at the end."""
        n = n if self.left is None else min(n, self.left)
        if n <= 0:
            return b""
        data = os.read(self.fd, n)
        if self.left is not None:
            self.left -= len(data)
        return data

    def read_exact(self, n: int) -> bytes:
        """``n`` bytes, or fewer only at the end of the stream."""
        data = bytearray()
        while len(data) < n and (chunk := self.read(n - len(data))):
            data += chunk
        return bytes(data)


def _read_wav_header(pipe: _Pipe, rate: int) -> None:
    """Read a WAV header after its RIFF tag, check its format and limit ``pipe`` to the data.

    A parser of our own: the stdlib wave module reads a pipe, but trusts the data size, and
    finds no samples behind a streaming writer's 0.
    """
    if pipe.read_exact(8)[4:] != b"WAVE":
        raise AudioError("stdin: starts with RIFF but is not a wav stream (no WAVE tag)")
    fmt = None
    while True:
        head = pipe.read_exact(8)
        if len(head) < 8:
            raise AudioError("stdin: the wav stream ends before its data chunk")
        chunk_id, size = head[:4], struct.unpack("<I", head[4:])[0]
        if chunk_id == b"data":
            break
        padded = size + (size & 1)  # chunks are padded to even sizes
        if chunk_id == b"fmt ":
            fmt = pipe.read_exact(padded)[:size]
            got = len(fmt)
        else:  # a LIST or other chunk of no use here
            got = _skip(pipe, padded)
        if got < size:
            raise AudioError("stdin: the wav stream ends inside its header")
    if fmt is None or len(fmt) < 16:
        raise AudioError("stdin: the wav stream has no format (fmt) chunk before its data")
    tag, channels, stream_rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag leads the sub-format GUID
        tag = struct.unpack("<H", fmt[24:26])[0]
    if (tag, channels, stream_rate, bits) != (1, 1, rate, 16):
        kind = _WAV_FORMATS.get(tag, f"format 0x{tag:04x}")
        found = f"{stream_rate} Hz {_channels(channels)} {bits}-bit {kind}"
        raise AudioError(f"stdin: a {found} wav stream; this model takes "
                         f"{rate} Hz mono 16-bit PCM (convert first, e.g. sox IN -r {rate} -c 1 -b 16 -t wav -)")
    pipe.left = None if size in _UNKNOWN_DATA_SIZES else size


def _skip(pipe: _Pipe, n: int) -> int:
    """Read past ``n`` bytes in pieces (a chunk's size may be anything); how many there were."""
    skipped = 0
    while skipped < n and (chunk := pipe.read(min(n - skipped, 1 << 16))):
        skipped += len(chunk)
    return skipped


def _pcm_blocks(pipe: _Pipe, block: int, pending: bytes) -> Iterator[np.ndarray]:
    want = 2 * block
    buf = bytearray(pending)
    count = 0
    while True:
        if len(buf) < want:
            buf += pipe.read_exact(want - len(buf))
        if len(buf) < want:
            break
        yield pcm16_to_float(bytes(buf[:want]))
        del buf[:want]
        count += block
    if len(buf) >= 2:
        whole = len(buf) & ~1
        yield pcm16_to_float(bytes(buf[:whole]))
        count += whole // 2
    if len(buf) & 1:
        raise AudioError(f"stdin: the stream ends inside a 16-bit sample (an odd byte after {count} samples)")
    if count == 0:
        raise AudioError("stdin: no audio arrived (the stream holds no samples)")


def soundcard_blocks(block: int, rate: int, *, device: int | str | None = None) -> Iterator[np.ndarray]:
    """Blocks recorded from a sound card (``device``: sounddevice's index or name; None, the
    default). The stream opens now, so settings fail early, and records from the first block."""
    _check_block(block)
    sd = _sounddevice()
    _check_device(sd, "input", device)
    try:
        stream = sd.InputStream(samplerate=rate, blocksize=block, channels=1, dtype="float32", device=device)
    except sd.PortAudioError as e:
        raise ConfigError(f"sound card: cannot record {rate} Hz mono ({e})") from None
    return _recorded(stream, block)


def _recorded(stream: sounddevice.InputStream, block: int) -> Iterator[np.ndarray]:
    with stream:  # starts it; stops and closes it when the generator ends or is closed
        while True:
            data, _ = stream.read(block)
            yield data[:, 0].copy()


# ---- sinks ---------------------------------------------------------------------------------


class Sink(ABC):
    """Where converted samples go: write() as they come, close() once at the end, also after
    an error (as a context manager, on leaving it)."""

    @abstractmethod
    def write(self, samples: np.ndarray) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WavSink(Sink):
    """A 16-bit PCM mono wav written as samples come, at its final path.

    After every write() the header counts every sample so far and the bytes are with the OS:
    a reader, or whoever finds the file after the process died, gets a complete wav. The
    stdlib wave module patches the sizes on each write; soundfile's flush() leaves them at 0
    until close (libsndfile then reads to the end, stricter readers find no samples).
    """

    def __init__(self, path: str | Path, rate: int) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(f"{self.path}: directory {self.path.parent} does not exist")
        if self.path.is_dir():
            raise ConfigError(f"{self.path}: is a directory")
        try:
            self._file = open(self.path, "wb")  # closed by close()
        except OSError as e:
            raise WriteError(f"{self.path}: cannot write ({e.strerror})") from None
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def write(self, samples: np.ndarray) -> None:
        data = float_to_pcm16(samples, str(self.path))
        try:
            self._wav.writeframes(data)
            self._file.flush()
        except OSError as e:
            raise WriteError(f"{self.path}: cannot write ({e.strerror})") from None

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._wav.close()  # writes the header even when nothing was written
        except OSError as e:
            raise WriteError(f"{self.path}: cannot write ({e.strerror})") from None
        finally:
            self._file.close()


class StdoutSink(Sink):
    """Raw little-endian 16-bit PCM on stdout (or ``fd``), each block passed on at once.

    Unbuffered writes: nothing waits in Python for a flush, so a reader that closes the pipe
    leaves nothing to fail at exit. Its closing raises OutputClosed, a normal end (status 0).
    """

    def __init__(self, rate: int, *, fd: int | None = None) -> None:
        self.fd = sys.stdout.fileno() if fd is None else fd
        if os.isatty(self.fd):
            raise ConfigError(f"stdout: is a terminal; pipe it to a player (| aplay -f S16_LE -r {rate} -c 1 -t raw) "
                              "or give a .wav path")
        self.rate = rate
        self.samples = 0

    def write(self, samples: np.ndarray) -> None:
        data = memoryview(float_to_pcm16(samples, "stdout"))
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except BrokenPipeError:
            # Whatever else writes to this fd later (a print, the exit flush) goes nowhere.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.fd)
            os.close(devnull)
            raise OutputClosed(f"stdout: the reader closed the pipe after {self.samples / self.rate:.2f} s of audio; "
                               "stopped") from None
        self.samples += len(samples)

    def close(self) -> None:
        """Nothing to flush, and stdout is not ours to close."""


class SoundcardSink(Sink):
    """Plays on a sound card (``device``: sounddevice's index or name; None, the default)."""

    def __init__(self, rate: int, *, device: int | str | None = None) -> None:
        self._sd = _sounddevice()
        _check_device(self._sd, "output", device)
        try:
            self._stream = self._sd.OutputStream(samplerate=rate, channels=1, dtype="float32", device=device)
            self._stream.start()
        except self._sd.PortAudioError as e:
            raise ConfigError(f"sound card: cannot play {rate} Hz mono ({e})") from None

    def write(self, samples: np.ndarray) -> None:
        samples = np.clip(_finite(samples, "sound card"), -1.0, 1.0)
        try:
            self._stream.write(samples.reshape(-1, 1))
        except self._sd.PortAudioError as e:
            raise WriteError(f"sound card: playing failed ({e})") from None

    def close(self) -> None:
        if not self._stream.closed:
            self._stream.stop()  # plays out what is queued first
            self._stream.close()


# ---- shared --------------------------------------------------------------------------------


def _check_block(block: int) -> None:
    if block < 1:
        raise ConfigError(f"block size must be at least 1 sample, got {block}")


def _finite(samples: np.ndarray, label: str) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"{label}: refusing to write NaN or Inf samples")
    return samples


def _channels(n: int) -> str:
    return {1: "mono", 2: "stereo"}.get(n, f"{n}-channel")


def _paced(blocks: Iterable[np.ndarray], rate: int) -> Iterator[np.ndarray]:
    """Each block once its last sample would have been recorded live; deadlines from the
    start, so time the consumer spends between blocks does not add up to a drift."""
    start = time.monotonic()
    done = 0
    for b in blocks:
        done += b.size
        delay = start + done / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield b


def _sounddevice() -> ModuleType:
    """The optional sounddevice module, or a ConfigError saying what to install."""
    try:
        import sounddevice
    except ImportError:
        missing = "the sounddevice package is not installed (pip install 'vc[soundcard]')"
    except OSError:  # sounddevice loads PortAudio on import
        missing = "the PortAudio library is missing (Debian/Ubuntu: apt-get install libportaudio2)"
    else:
        return sounddevice
    raise ConfigError(f"sound card: {missing}")


def _check_device(sd: ModuleType, kind: str, device: int | str | None) -> None:
    """Name the missing device plainly, before PortAudio's own error on opening."""
    if device is not None:
        try:
            sd.query_devices(device, kind)
        except (ValueError, sd.PortAudioError) as e:
            raise ConfigError(f"sound card: {e}") from None
    elif not any(d[f"max_{kind}_channels"] > 0 for d in sd.query_devices()):
        raise ConfigError(f"sound card: no {kind} device found (sounddevice lists none); use a file or - instead")
