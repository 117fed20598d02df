"""`vc serve` against a real server on 127.0.0.1: the HTTP API, the WebSocket stream, bad input,
the bounded pool's 503, and SIGTERM with requests in flight.

Three tiny models trained for a few steps serve: a causal CycleGAN-VC (streams; speakers spkA,
spkB), a one-shot disentangle model (takes reference recordings; cannot stream) and a causal
one (one-shot and live). What the server returns is checked against the library run here on
the same input.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from serve_server import Server, form, free_port, run, running_server
from test_convert_oneshot import TINY
from test_stream_converter import CAUSAL
from test_stream_models import CAUSAL as CAUSAL_DISENTANGLE

from vc import Converter
from vc.audio import FeatureConfig
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.stream.converter import StreamingConverter
from vc.stream.io import float_to_pcm16, pcm16_to_float

RATE = 16000
BLOCK = 320  # 20 ms


def _train(root: Path, name: str, config: dict[str, Any], *extra: str) -> Path:
    (root / f"{name}.yaml").write_text(yaml.safe_dump(config))
    assert main(["train", "--conf", str(root / f"{name}.yaml"), "--exp", str(root / name),
                 "--train-dump", str(root / "dump"), "--device", "cpu", *extra]) == 0
    return root / name


@pytest.fixture(scope="module")
def exps(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serve")
    pieces = {f"spk{s}_{i:03d}": speech[8000 * i + 4000 * k: 8000 * i + 4000 * k + 20000] * (0.3 + 0.3 * k)
              for k, s in enumerate("ABC") for i in range(2)}
    for utt, wav in pieces.items():
        sf.write(root / f"{utt}.wav", wav, RATE)
    DataDir({u: str(root / f"{u}.wav") for u in pieces}, {u: u[:4] for u in pieces}).write(root / "data")
    extract_dump(DataDir.read(root / "data"), FeatureConfig(n_mels=20), root / "dump", progress=False)
    compute_stats(FeatureDump.open(root / "dump")).save(root / "dump" / "stats.npz")
    steps = {"max_steps": 2, "batch_size": 2, "save_interval": 2}
    causal = _train(root, "causal", {"model": "cyclegan_vc", "model_params": CAUSAL, "data": {"segment_frames": 24},
                                     "train": steps}, "--speakers", "spkA,spkB")
    oneshot = _train(root, "oneshot", {"model": "disentangle", "model_params": {**TINY, "speaker_encoder": "both"},
                                       "data": {"segment_frames": 16, "normalize": "global"},
                                       "train": {**steps, "max_steps": 4, "save_interval": 4, "batch_size": 3}})
    live = {k: v for k, v in CAUSAL_DISENTANGLE.items() if k not in ("num_speakers", "patcher")}
    live_oneshot = _train(root, "live_oneshot", {
        "model": "disentangle", "model_params": {**live, "speaker_encoder": "both",
                                                 "schedule": {"autoencoder": 1, "classifier": 1, "adversarial": 2,
                                                              "patcher": 0}},
        "data": {"segment_frames": 16, "normalize": "global"},
        "train": {**steps, "max_steps": 4, "save_interval": 4, "batch_size": 3}})
    return {"causal": causal, "oneshot": oneshot, "live_oneshot": live_oneshot, "root": root}


@pytest.fixture(scope="module")
def server(exps: dict[str, Path]) -> Server:
    args = ["--model", f"causal={exps['causal']}", "--model", f"oneshot={exps['oneshot']}", "--model",
            f"live_oneshot={exps['live_oneshot']}", "--device", "cpu", "--max-seconds", "5", "--max-upload-mb", "1",
            "--max-stream-seconds", "3"]
    with running_server(args, exps["root"] / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def converter(exps: dict[str, Path]) -> Converter:
    return Converter.load(exps["causal"], device="cpu")


def _wav(samples: np.ndarray, rate: int = RATE, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


async def _post(url: str, fields: dict[str, Any], files: dict[str, list[tuple[str, bytes]]]) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=form(fields, files)) as response:
            return response.status, dict(response.headers), await response.read()


def _convert(server: Server, audio: bytes, **fields: Any) -> tuple[int, dict, bytes]:
    fields = {"model": "causal", "target": "spkB", **fields}
    return run(_post(f"{server.url}/api/convert", fields, {"audio": [("input.wav", audio)]}))


def _single_threaded(fn: Any) -> Any:
    """``fn()`` with one torch thread, as the server runs it, so float rounding is the same."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


# ---- HTTP -------------------------------------------------------------------------------------


def test_health_and_models(server: Server) -> None:
    async def get(path: str) -> Any:
        async with aiohttp.ClientSession() as session, session.get(server.url + path) as response:
            assert response.status == 200
            return await response.json()

    health = run(get("/health"))
    assert health["status"] == "ok" and health["models"] == 3 and health["file_jobs"] == 0
    assert health["workers_alive"] == health["workers"] + len(os.sched_getaffinity(0))  # and the stream workers
    listing = run(get("/api/models"))
    assert listing["limits"] == {"max_upload_mb": 1.0, "max_seconds": 5.0, "max_stream_seconds": 3.0}
    causal, oneshot, live_oneshot = listing["models"]
    assert causal["name"] == "causal" and causal["speakers"] == causal["targets"] == ["spkA", "spkB"]
    assert causal["sample_rate"] == RATE and causal["paired"] and causal["streams"] and not causal["one_shot"]
    assert causal["vocoders"] == ["gl", "rtisi_la", "rtpghi"] and causal["stream_vocoders"] == ["rtisi_la", "rtpghi"]
    assert oneshot["targets"] == ["spkA", "spkB", "spkC"] and oneshot["one_shot"] and not oneshot["needs_source"]
    assert not oneshot["streams"] and "cannot stream" in oneshot["stream_error"] and oneshot["stream_vocoders"] == []
    assert live_oneshot["one_shot"] and live_oneshot["streams"]


def test_the_page_and_its_scripts_are_served(server: Server) -> None:
    async def fetch() -> list[tuple[int, str, str]]:
        async with aiohttp.ClientSession() as session:
            out = []
            for path in ("/", "/static/app.js", "/static/live.js", "/static/worklet.js", "/static/style.css"):
                async with session.get(server.url + path) as response:
                    out.append((response.status, response.content_type, await response.text()))
            return out

    (status, kind, html), *assets = run(fetch())
    assert status == 200 and kind == "text/html" and '<script type="module" src="/static/app.js">' in html
    assert all(status == 200 for status, _, _ in assets)
    assert not any("http://" in text or "https://" in text for _, _, text in assets)  # nothing from a CDN


def test_convert_returns_the_library_conversion(server: Server, converter: Converter, speech: np.ndarray) -> None:
    wav = speech[:24000]
    status, headers, body = _convert(server, _wav(wav), vocoder="gl")
    assert status == 200 and headers["Content-Type"] == "audio/wav", body[:300]
    assert headers["X-Audio-Seconds"] == "1.500"
    served, rate = sf.read(io.BytesIO(body), dtype="float32")
    assert rate == RATE and served.shape == wav.shape
    # The paired model's source is the target's other half; the input arrived as 16-bit PCM.
    pcm = pcm16_to_float(float_to_pcm16(wav, "input"))
    local = _single_threaded(lambda: converter.convert(pcm, RATE, "spkA", "spkB", "gl"))
    np.testing.assert_allclose(served, np.clip(local, -1, 1), atol=1.5 / 32768)  # but for the 16-bit wav


@pytest.mark.parametrize("fmt, subtype, rate", [("FLAC", "PCM_16", 22050), ("OGG", "VORBIS", 44100),
                                                ("WAV", "FLOAT", 8000)],
                         ids=["flac 22.05k", "ogg 44.1k", "float wav 8k"])
def test_convert_takes_other_formats_and_rates(server: Server, speech: np.ndarray, fmt: str, subtype: str,
                                               rate: int) -> None:
    import soxr

    wav = soxr.resample(speech[:16000], RATE, rate)
    status, _, body = _convert(server, _wav(wav, rate, fmt, subtype), target="spkA", vocoder="rtisi_la")
    assert status == 200, body[:300]
    served, served_rate = sf.read(io.BytesIO(body), dtype="float32")
    assert served_rate == RATE and abs(len(served) - RATE) <= 2 and np.abs(served).max() > 0


def test_one_shot_reference_then_convert(server: Server, speech: np.ndarray) -> None:
    refs = [("ref1.wav", _wav(speech[:12000])), ("ref2.flac", _wav(speech[20000:40000], fmt="FLAC"))]
    status, _, body = run(_post(f"{server.url}/api/reference", {"model": "oneshot"}, {"audio": refs}))
    assert status == 200, body[:300]
    ref = json.loads(body)
    assert ref["model"] == "oneshot" and ref["recordings"] == 2 and ref["label"] == "reference (2 recordings)"
    assert ref["seconds"] == pytest.approx(2.0)
    status, _, body = _convert(server, _wav(speech[:16000]), model="oneshot", target=None, reference=ref["id"])
    assert status == 200, body[:300]
    assert len(sf.read(io.BytesIO(body))[0]) == 16000
    # The id belongs to its model; a model without a reference encoder takes none.
    status, _, body = _convert(server, _wav(speech[:16000]), model="causal", target=None, reference=ref["id"])
    assert status == 400 and "was made with model oneshot" in json.loads(body)["error"]
    status, _, body = run(_post(f"{server.url}/api/reference", {"model": "causal"}, {"audio": refs}))
    assert status == 400 and "takes no reference recording" in json.loads(body)["error"]


def _bad_inputs(speech: np.ndarray) -> dict[str, tuple[dict[str, Any], bytes, int, str, str]]:
    """case -> (fields, file, status, code, message pattern)."""
    good = _wav(speech[:16000])
    return {
        "not audio": ({}, b"<html>hello</html>" * 20, 415, "not_audio", r"input.wav: not an audio file"),
        "empty file": ({}, b"", 422, "bad_audio", r"input.wav: empty file"),
        "truncated wav": ({}, good[:2000], 422, "bad_audio", r"truncated WAV file"),
        "too long": ({}, _wav(np.tile(speech, 2)[:6 * RATE]), 413, "too_long", r"6.0 s of audio, over .* 5 s"),
        "silent": ({}, _wav(np.zeros(RATE, np.float32)), 422, "bad_audio", r"is silent \(all samples are zero\)"),
        "near silence": ({}, _wav(speech[:RATE] * 1e-4), 422, "bad_audio", r"is silent \(peak -\d+ dBFS"),
        "too short": ({}, _wav(speech[:300]), 422, "bad_audio", r"too short \(300 samples"),
        "too large": ({}, _wav(np.tile(speech, 6), subtype="FLOAT"), 413, "too_large",
                      r"over this server's limit of 1 MB"),
        "unknown model": ({"model": "nope"}, good, 400, "unknown_model",
                          r"unknown model 'nope': .* causal, oneshot, live_oneshot"),
        "unknown speaker": ({"target": "spkZ"}, good, 400, "unknown_speaker",
                            r"'spkZ': model causal converts to spkA, spkB"),
        "unknown source": ({"source": "spkZ"}, good, 400, "unknown_speaker", r"unknown source speaker 'spkZ'"),
        "unknown vocoder": ({"vocoder": "wavenet"}, good, 400, "unknown_vocoder", r"'wavenet' is not offered"),
        "unknown reference": ({"target": None, "reference": "abc"}, good, 400, "unknown_reference",
                              r"unknown reference"),
        "no target": ({"target": None}, good, 400, "bad_request", r"either a target speaker or a reference"),
        "wrong pair": ({"source": "spkB"}, good, 400, "bad_request", r"spkB -> spkB: this model converts spkA -> spkB"),
    }


@pytest.mark.parametrize("case", list(_bad_inputs(np.zeros(1))), ids=str)
def test_bad_input_gets_one_json_line(server: Server, speech: np.ndarray, case: str) -> None:
    fields, audio, status, code, message = _bad_inputs(speech)[case]
    got, headers, body = _convert(server, audio, **fields)
    assert got == status and headers["Content-Type"].startswith("application/json"), body[:300]
    error = json.loads(body)
    assert error["code"] == code
    assert re.search(message, error["error"]), error["error"]
    assert "\n" not in error["error"] and "Traceback" not in body.decode()
    assert "Traceback" not in server.log_text()  # a client's mistake is no server fault


def test_malformed_requests(server: Server) -> None:
    async def requests() -> list[tuple[int, dict]]:
        async with aiohttp.ClientSession() as session:
            out = []
            for kwargs in ({"data": b"raw bytes", "headers": {"Content-Type": "audio/wav"}},  # not multipart
                           {"data": form({"model": "causal", "target": "spkB"})}):  # no audio
                async with session.post(f"{server.url}/api/convert", **kwargs) as response:
                    out.append((response.status, await response.json()))
            async with session.get(f"{server.url}/api/nothing") as response:
                out.append((response.status, await response.json()))
            return out

    (raw, raw_error), (missing, missing_error), (unknown, unknown_error) = run(requests())
    assert raw == 415 and raw_error["code"] == "not_multipart" and "send multipart/form-data" in raw_error["error"]
    assert missing == 400 and "no audio: send the recording as the file field 'audio'" in missing_error["error"]
    assert unknown == 404 and unknown_error["code"] == "not_found"


def test_a_world_model_offers_the_world_vocoder(exps: dict[str, Path]) -> None:
    from vc.audio.config import WorldConfig
    from vc.serve.catalog import describe

    root = exps["root"]
    cfg = FeatureConfig(kind="world", hop_length=80, world=WorldConfig(f0_method="dio"))
    extract_dump(DataDir.read(root / "data"), cfg, root / "world_dump", progress=False)
    compute_stats(FeatureDump.open(root / "world_dump")).save(root / "world_dump" / "stats.npz")
    (root / "world.yaml").write_text(yaml.safe_dump({
        "model": "cyclegan_vc", "model_params": CAUSAL, "data": {"segment_frames": 24},
        "train": {"max_steps": 1, "batch_size": 2, "save_interval": 1}}))
    assert main(["train", "--conf", str(root / "world.yaml"), "--exp", str(root / "world"), "--train-dump",
                 str(root / "world_dump"), "--speakers", "spkA,spkB", "--device", "cpu"]) == 0
    info = describe("world", Converter.load(root / "world", device="cpu"), []).info()
    assert info["targets"] == ["spkA", "spkB"] and info["vocoders"] == ["world"] and not info["streams"]
    assert "WORLD features cannot stream" in info["stream_error"]


# ---- WebSocket --------------------------------------------------------------------------------


async def _stream(url: str, start: dict[str, Any], audio: np.ndarray, block: int = BLOCK,
                  end: bool = True) -> tuple[list[dict], bytes, int | None]:
    """JSON messages, the PCM received, and the close code of one stream."""
    messages: list[dict] = []
    received = bytearray()
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/api/stream") as ws:
        await ws.send_json(start)
        ready = await ws.receive_json(timeout=30)
        messages.append(ready)
        if ready["type"] == "ready":
            for at in range(0, len(audio), block):
                await ws.send_bytes(float_to_pcm16(audio[at:at + block], "test"))
            if end:
                await ws.send_json({"type": "end"})
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                received += message.data
            elif message.type == aiohttp.WSMsgType.TEXT:
                messages.append(json.loads(message.data))
        return messages, bytes(received), ws.close_code


def test_stream_is_the_streaming_converter(server: Server, converter: Converter, speech: np.ndarray) -> None:
    wav = pcm16_to_float(float_to_pcm16(speech[:20000], "input"))
    # Uneven messages: the server re-blocks them, and the stream does not depend on the blocks.
    start = {"model": "causal", "target": "spkB", "block_ms": 20}
    messages, pcm, code = run(_stream(server.url, start, wav, block=500))
    ready, done = messages[0], messages[-1]
    assert ready["type"] == "ready" and ready["sample_rate"] == RATE and ready["block"] == BLOCK
    assert done["type"] == "done" and code == 1000 and "reason" not in done
    local = StreamingConverter(converter, "spkA", "spkB", block=BLOCK)
    assert ready["delay_ms"] == pytest.approx(1000 * local.delay / RATE) and ready["latency_ms"] == local.latency_ms
    expected = _single_threaded(lambda: np.concatenate([local.push(wav), local.flush()]))
    served = np.frombuffer(pcm, "<i2")
    assert len(served) == len(wav) + local.delay
    np.testing.assert_array_equal(served, np.frombuffer(float_to_pcm16(expected, "x"), "<i2"))  # bit for bit
    assert done["seconds_in"] == pytest.approx(len(wav) / RATE)
    assert done["pushes"] == len(range(0, len(wav), 500)) + 1  # each message completes a block, then the flush
    assert 0 < done["compute_ms_median"] <= done["compute_ms_p99"]


def test_one_shot_stream_is_the_streaming_converter(server: Server, exps: dict[str, Path], speech: np.ndarray) -> None:
    refs = [speech[:12000], speech[20000:40000]]
    fields = {"model": "live_oneshot"}
    status, _, body = run(_post(f"{server.url}/api/reference", fields,
                                {"audio": [(f"ref{i}.wav", _wav(r)) for i, r in enumerate(refs)]}))
    assert status == 200, body[:300]
    wav = pcm16_to_float(float_to_pcm16(speech[:16000], "input"))
    messages, pcm, code = run(_stream(server.url, {**fields, "reference": json.loads(body)["id"]}, wav))
    assert messages[0]["type"] == "ready" and messages[-1]["type"] == "done" and code == 1000
    conv = Converter.load(exps["live_oneshot"], device="cpu")

    def local() -> np.ndarray:
        ref = conv.reference([(pcm16_to_float(float_to_pcm16(r, "ref")), RATE) for r in refs])
        stream = StreamingConverter(conv, None, ref, block=BLOCK)
        return np.concatenate([stream.push(wav), stream.flush()])

    expected = float_to_pcm16(_single_threaded(local), "x")
    np.testing.assert_array_equal(np.frombuffer(pcm, "<i2"), np.frombuffer(expected, "<i2"))


STREAM_ERRORS = {
    "a model that cannot stream": ({"model": "oneshot", "target": "spkB"}, "cannot_stream", 1008, r"cannot stream"),
    "an unknown speaker": ({"model": "causal", "target": "spkZ"}, "unknown_speaker", 1008, r"'spkZ'"),
    "an offline vocoder": ({"model": "causal", "target": "spkB", "vocoder": "gl"}, "unknown_vocoder", 1008,
                           r"'gl' is not offered here .*: rtisi_la, rtpghi"),
    "a block under a hop": ({"model": "causal", "target": "spkB", "block_ms": 5}, "bad_request", 1008,
                            r"block of 80 samples: shorter than a hop"),
    "a bad block_ms": ({"model": "causal", "target": "spkB", "block_ms": "x"}, "bad_request", 1008, r"block_ms"),
}


@pytest.mark.parametrize("case", STREAM_ERRORS, ids=str)
def test_stream_start_errors(server: Server, case: str) -> None:
    start, code, close, pattern = STREAM_ERRORS[case]
    messages, pcm, got_close = run(_stream(server.url, start, np.zeros(0, np.float32)))
    assert messages[0]["type"] == "error" and messages[0]["code"] == code and got_close == close
    assert re.search(pattern, messages[0]["error"]), messages[0]["error"]
    assert pcm == b""


def test_stream_errors_midway(server: Server, speech: np.ndarray) -> None:
    async def odd_bytes() -> tuple[dict, int | None]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.url}/api/stream") as ws:
            await ws.send_str("not json")
            return await ws.receive_json(), (await ws.receive()).data

    async def odd_pcm() -> tuple[dict, int | None]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{server.url}/api/stream") as ws:
            await ws.send_json({"model": "causal", "target": "spkB"})
            assert (await ws.receive_json())["type"] == "ready"
            await ws.send_bytes(b"\x00" * 641)
            return await ws.receive_json(), (await ws.receive()).data

    error, close = run(odd_bytes())
    assert error["code"] == "bad_request" and "JSON objects" in error["error"] and close == 1008
    error, close = run(odd_pcm())
    assert error["code"] == "bad_audio" and "641 bytes" in error["error"] and close == 1008
    # --max-stream-seconds 3: the stream is cut there, with a reason.
    messages, _, close = run(_stream(server.url, {"model": "causal", "target": "spkB"}, np.tile(speech, 2)[:4 * RATE]))
    assert messages[-1]["code"] == "too_long" and "limit of 3 s" in messages[-1]["error"] and close == 1008


# ---- load and shutdown ------------------------------------------------------------------------


def _small_server(exps: dict[str, Path], log: str) -> Any:
    """One file worker, no queue, one live stream."""
    args = ["--model", f"causal={exps['causal']}", "--device", "cpu", "--workers", "1", "--queue", "0",
            "--stream-workers", "1", "--max-streams", "1", "--shutdown-timeout", "20"]
    return running_server(args, exps["root"] / log)


@pytest.fixture(scope="module")
def small_server(exps: dict[str, Path]) -> Server:
    with _small_server(exps, "small_server.log") as s:
        yield s


def test_full_pool_answers_503_and_recovers(small_server: Server, speech: np.ndarray) -> None:
    audio = _wav(np.tile(speech, 3)[:10 * RATE])

    async def burst() -> list[tuple[int, dict, bytes]]:
        fields = {"model": "causal", "target": "spkB", "vocoder": "gl"}
        url = f"{small_server.url}/api/convert"
        return await asyncio.gather(*(_post(url, fields, {"audio": [("in.wav", audio)]}) for _ in range(6)))

    for _ in range(3):  # 6 at once on one worker: all but the first few are refused
        results = run(burst())
        if any(status == 503 for status, _, _ in results):
            break
    statuses = [status for status, _, _ in results]
    assert set(statuses) == {200, 503} and statuses.count(200) >= 1, statuses
    for status, headers, body in results:
        if status == 503:
            assert int(headers["Retry-After"]) >= 1 and json.loads(body)["code"] == "busy"
    assert _convert(small_server, _wav(speech[:16000]))[0] == 200  # and it serves again


def test_full_stream_seats_answer_busy(small_server: Server, speech: np.ndarray) -> None:
    async def two() -> tuple[dict, int | None]:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"{small_server.url}/api/stream") as first:
            await first.send_json({"model": "causal", "target": "spkB"})
            assert (await first.receive_json())["type"] == "ready"
            async with session.ws_connect(f"{small_server.url}/api/stream") as second:
                await second.send_json({"model": "causal", "target": "spkB"})
                return await second.receive_json(), (await second.receive()).data

    error, close = run(two())
    assert error["code"] == "busy" and close == 1013


@pytest.fixture
def doomed_server(exps: dict[str, Path]) -> Server:
    with _small_server(exps, "doomed_server.log") as s:
        yield s


def test_sigterm_finishes_requests_in_flight(doomed_server: Server, speech: np.ndarray) -> None:
    small_server = doomed_server
    long_file = _wav(np.tile(speech, 8)[:30 * RATE])

    async def scenario() -> tuple[tuple[int, dict, bytes], list[dict], bytes, int | None, list[int]]:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{small_server.url}/api/stream")
            await ws.send_json({"model": "causal", "target": "spkB"})
            assert (await ws.receive_json())["type"] == "ready"
            sent = speech[:8000]
            for at in range(0, len(sent), BLOCK):
                await ws.send_bytes(float_to_pcm16(sent[at:at + BLOCK], "test"))
            conversion = asyncio.ensure_future(_post(f"{small_server.url}/api/convert",
                                                     {"model": "causal", "target": "spkB", "vocoder": "gl"},
                                                     {"audio": [("long.wav", long_file)]}))
            while True:  # until the conversion is on the worker
                async with session.get(f"{small_server.url}/health") as response:
                    if (await response.json())["file_jobs"]:
                        break
                await asyncio.sleep(0.02)
            small_server.process.terminate()  # SIGTERM
            messages, pcm = [], bytearray()
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    pcm += message.data
                else:
                    messages.append(json.loads(message.data))
            refused = []  # new connections are not taken any more
            await asyncio.sleep(0.2)
            try:
                async with aiohttp.ClientSession() as fresh, fresh.get(f"{small_server.url}/health") as response:
                    refused.append(response.status)
            except aiohttp.ClientConnectionError:
                pass
            return await conversion, messages, bytes(pcm), ws.close_code, refused

    (status, _, body), messages, pcm, close, refused = run(scenario())
    assert status == 200 and len(sf.read(io.BytesIO(body))[0]) == 30 * RATE  # finished, whole
    assert messages[-1]["type"] == "done" and messages[-1]["reason"] == "server shutting down" and close == 1001
    assert len(pcm) // 2 == 8000 + round(messages[-1]["delay_ms"] * RATE / 1000)  # all it took, converted
    assert refused == []
    assert small_server.process.wait(30) == 0
    assert "Traceback" not in small_server.log_text()


# ---- command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("args, status, message", [
    (["--model", "/nonexistent/exp"], 1, r"vc serve: error: /nonexistent/exp: experiment directory not found"),
    (["--model", "{causal}", "--model", "{causal}"], 1, r"a model is already called 'causal'; name them"),
    (["--model", "{causal}", "--max-seconds", "0"], 2, r"--max-seconds: must be above 0, got 0"),
], ids=["missing model", "same name twice", "bad limit"])
def test_cli_errors(exps: dict[str, Path], args: list[str], status: int, message: str) -> None:
    args = [a.format(causal=exps["causal"]) for a in args]
    result = subprocess.run([sys.executable, "-m", "vc", "serve", *args, "--port", str(free_port())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == status and re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_cli_port_in_use(exps: dict[str, Path]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "vc", "serve", "--model", str(exps["causal"]), "--port",
                                 str(port), "--device", "cpu"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
