"""What a worker process does, one request at a time: convert a file, make a reference, and
run live streams (each a StreamingConverter kept here between its blocks).

Everything crosses the pipe as plain values (model names, speakers, bytes), so a job never
needs more than the models the process inherited when it was forked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vc.convert import SpeakerReference, Target
from vc.serve.audio import decode, wav_bytes
from vc.serve.catalog import ServedModel
from vc.serve.errors import RequestError
from vc.stream.converter import StreamingConverter
from vc.stream.io import float_to_pcm16, pcm16_to_float

Upload = tuple[str, bytes]  # the client's file name (for messages) and its bytes


@dataclass
class _Live:
    stream: StreamingConverter
    samples_in: int = 0
    samples_out: int = 0
    times: list[float] = field(default_factory=list)  # compute per push, seconds

    def push(self, samples: np.ndarray, flush: bool = False) -> bytes:
        start = time.perf_counter()
        out = self.stream.push(samples)
        if flush:
            out = np.concatenate([out, self.stream.flush()])
        self.times.append(time.perf_counter() - start)
        self.samples_in += len(samples)
        self.samples_out += len(out)
        return float_to_pcm16(out, "the converted stream")

    def summary(self) -> dict[str, Any]:
        rate = self.stream.sample_rate
        ms = 1000 * np.array(self.times or [0.0])
        return {"seconds_in": self.samples_in / rate, "seconds_out": self.samples_out / rate, "pushes": len(self.times),
                "compute_ms_median": float(np.median(ms)), "compute_ms_p99": float(np.percentile(ms, 99)),
                "delay_ms": 1000 * self.stream.delay / rate, "latency_ms": self.stream.latency_ms}


class Jobs:
    def __init__(self, models: dict[str, ServedModel]) -> None:
        self.models = models
        self.live: dict[str, _Live] = {}

    def convert(self, model: str, source: str | None, target: Target, vocoder: str, upload: Upload,
                max_seconds: float) -> tuple[bytes, float]:
        """The converted recording as a 16-bit wav, and its duration."""
        conv = self.models[model].converter
        wav = self._decode(model, upload, max_seconds)
        out = conv.convert(wav, conv.sample_rate, source, target, vocoder, name=upload[0])
        return wav_bytes(out, conv.sample_rate), len(out) / conv.sample_rate

    def reference(self, model: str, uploads: list[Upload], max_seconds: float) -> tuple[SpeakerReference, float]:
        """A one-shot target from the recordings, and their total duration."""
        conv = self.models[model].converter
        wavs = [self._decode(model, upload, max_seconds) for upload in uploads]
        reference = conv.reference([(wav, conv.sample_rate, name) for wav, (name, _) in zip(wavs, uploads)])
        return reference, sum(len(w) for w in wavs) / conv.sample_rate

    def open(self, key: str, model: str, source: str | None, target: Target, vocoder: str, block: int) -> dict[str, Any]:
        """A new live stream ``key``; what the client's "ready" message tells about it."""
        stream = StreamingConverter(self.models[model].converter, source, target, vocoder, block=block)
        self.live[key] = _Live(stream)
        rate = stream.sample_rate
        return {"sample_rate": rate, "block": block, "delay_ms": 1000 * stream.delay / rate,
                "latency_ms": stream.latency_ms}

    def push(self, key: str, pcm: bytes) -> bytes:
        """16-bit PCM in, as many converted samples out."""
        return self._live(key).push(pcm16_to_float(pcm))

    def finish(self, key: str, pcm: bytes) -> tuple[bytes, dict[str, Any]]:
        """The last samples in, the rest of the stream out, and its statistics; the stream is gone."""
        live = self._live(key)
        del self.live[key]
        return live.push(pcm16_to_float(pcm), flush=True), live.summary()

    def drop(self, key: str) -> None:
        """Forget a stream whose client left."""
        self.live.pop(key, None)

    def _live(self, key: str) -> _Live:
        if key not in self.live:
            raise RequestError(400, "bad_request", "no such stream (it has ended)")
        return self.live[key]

    def _decode(self, model: str, upload: Upload, max_seconds: float) -> np.ndarray:
        cfg = self.models[model].converter.feature_config
        name, data = upload
        return decode(data, name, cfg.sample_rate, min_samples=cfg.win_size, max_seconds=max_seconds)
