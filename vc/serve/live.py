"""GET /api/stream (WebSocket): live conversion through a StreamingConverter on a stream worker.

Protocol (docs/serve.md):

1. The client sends one text message, JSON: ``{"model": NAME, "target": SPEAKER}`` or
   ``{"model": NAME, "reference": ID}`` (from POST /api/reference), optionally ``"source"``,
   ``"vocoder"`` (rtisi_la, rtpghi) and ``"block_ms"`` (20).
2. The server answers ``{"type": "ready", "sample_rate", "block", "delay_ms", "latency_ms"}``.
3. The client sends binary messages of 16-bit little-endian mono PCM at that rate, any
   length up to a second; the server answers each with the converted PCM it completes, as
   many samples as came in once whole blocks are in, ``delay_ms`` behind the input.
4. The client sends ``{"type": "end"}``; the server sends the rest of the audio, then
   ``{"type": "done", ...}`` with the stream's statistics, and closes (1000). On SIGTERM the
   server ends every stream the same way, with ``"reason": "server shutting down"`` (1001).

Any error is ``{"type": "error", "code", "error"}`` and a close: 1013 when the server is
full (try again later), 1009 for a message too large, 1011 for a server fault, 1008 else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from vc.errors import VCError
from vc.serve.catalog import Choice, ServedModel, choose, choose_model
from vc.serve.errors import RequestError, classify
from vc.serve.state import STATE, ServerState

log = logging.getLogger("vc.serve")

START_TIMEOUT_S = 10.0  # for the first message
IDLE_S = 30.0  # with no message at all, the stream is dropped
MAX_MESSAGE_S = 1.0  # of audio in one binary message
MAX_BLOCK_MS = 1000.0
_CLOSE_CODES = {"busy": WSCloseCode.TRY_AGAIN_LATER, "too_large": WSCloseCode.MESSAGE_TOO_BIG,
                "internal": WSCloseCode.INTERNAL_ERROR}


async def stream_handler(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    # The limit is checked again in samples; this one keeps aiohttp from buffering more.
    ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024, heartbeat=IDLE_S / 2)
    await ws.prepare(request)
    try:
        await _session(ws, state)
    except VCError as e:
        await _fail(ws, classify(e))
    except ConnectionError:  # the client went away mid-send
        log.info("live stream: the client left")
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("live stream failed [%s]", ref)
        await _fail(ws, RequestError(500, "internal", f"internal error [{ref}]; the server's log has the details"))
    return ws


async def _session(ws: web.WebSocketResponse, state: ServerState) -> None:
    model, choice, block = await _start(ws, state)
    worker = state.streams.take()
    key = secrets.token_hex(8)
    finished = False
    try:
        started = time.perf_counter()
        ready = await worker.call("open", key, model.name, choice.source, choice.target, choice.vocoder, block)
        await ws.send_json({"type": "ready", "model": model.name, **ready,
                            "setup_ms": 1000 * (time.perf_counter() - started)})
        rate = ready["sample_rate"]
        pending = b""  # received, short of a whole block
        received = 0  # samples
        stop = asyncio.ensure_future(state.stopping.wait())
        try:
            while True:
                message = await _receive(ws, stop)
                if message is None:  # the server is stopping: finish what came in
                    break
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return  # the client left; there is no one to send the rest to
                if message.type == WSMsgType.TEXT:
                    if _text(message.data).get("type") == "end":
                        break
                    raise RequestError(400, "bad_request", 'expected binary PCM or {"type": "end"}')
                _check_pcm(message.data, rate)
                received += len(message.data) // 2
                if received > state.settings.max_stream_seconds * rate:
                    raise RequestError(413, "too_long", f"the stream passed this server's limit of "
                                                        f"{state.settings.max_stream_seconds:g} s")
                pending += message.data
                whole = len(pending) // (2 * block) * (2 * block)
                if whole:  # whole blocks only: a client sending tiny messages costs no more pushes
                    await ws.send_bytes(await worker.call("push", key, pending[:whole]))
                    pending = pending[whole:]
        finally:
            stop.cancel()
        tail, summary = await worker.call("finish", key, pending)
        finished = True
        await ws.send_bytes(tail)
        stopping = state.stopping.is_set()
        await ws.send_json({"type": "done", **summary, **({"reason": "server shutting down"} if stopping else {})})
        await ws.close(code=WSCloseCode.GOING_AWAY if stopping else WSCloseCode.OK)
    finally:
        if not finished:
            with contextlib.suppress(VCError):  # a worker that has died has forgotten it anyway
                await worker.call("drop", key)
        state.streams.release(worker)


async def _start(ws: web.WebSocketResponse, state: ServerState) -> tuple[ServedModel, Choice, int]:
    """The model, conversion and block (samples) the first message asks for."""
    try:
        message = await ws.receive(timeout=START_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise RequestError(408, "bad_request", f"no start message within {START_TIMEOUT_S:g} s") from None
    if message.type != WSMsgType.TEXT:
        raise RequestError(400, "bad_request", 'the first message must be JSON text: {"model": ..., "target": ...}')
    start = _text(message.data)
    model = choose_model(state.models, _field(start, "model"))
    if model.stream_error:
        raise RequestError(400, "cannot_stream", f"model {model.name}: {model.stream_error}")
    reference = _field(start, "reference")
    choice = choose(model, _field(start, "target"), state.references.get(reference, model.name) if reference else None,
                    _field(start, "source"), _field(start, "vocoder"), model.stream_vocoders)
    block_ms = start.get("block_ms", 20.0)
    if isinstance(block_ms, bool) or not isinstance(block_ms, (int, float)) or not 0 < block_ms <= MAX_BLOCK_MS:
        raise RequestError(400, "bad_request", f"block_ms must be a number in (0, {MAX_BLOCK_MS:g}], got {block_ms!r}")
    return model, choice, round(block_ms * model.converter.sample_rate / 1000)


async def _receive(ws: web.WebSocketResponse, stop: asyncio.Future) -> Any:
    """The next message; None once the server is stopping; RequestError after IDLE_S of nothing."""
    receive = asyncio.ensure_future(ws.receive())
    done, _ = await asyncio.wait({receive, stop}, timeout=IDLE_S, return_when=asyncio.FIRST_COMPLETED)
    if receive in done:
        return receive.result()
    receive.cancel()
    if stop in done:
        return None
    raise RequestError(408, "idle", f"no audio for {IDLE_S:g} s; the stream is closed")


def _text(data: str) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except json.JSONDecodeError:
        message = None
    if not isinstance(message, dict):
        raise RequestError(400, "bad_request", f"text messages are JSON objects, got {data[:60]!r}")
    return message


def _field(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is not None and not isinstance(value, str):
        raise RequestError(400, "bad_request", f"{key} must be a string, got {value!r}")
    return value or None


def _check_pcm(data: bytes, rate: int) -> None:
    if len(data) % 2:
        raise RequestError(400, "bad_audio",
                           f"a binary message of {len(data)} bytes: 16-bit PCM comes in whole samples")
    if len(data) // 2 > MAX_MESSAGE_S * rate:
        raise RequestError(413, "too_large", f"a binary message of {len(data) // 2} samples: send at most "
                                             f"{MAX_MESSAGE_S:g} s ({int(MAX_MESSAGE_S * rate)} samples) at once")


async def _fail(ws: web.WebSocketResponse, error: RequestError) -> None:
    if ws.closed:
        return
    try:
        await ws.send_json({"type": "error", "code": error.code, "error": str(error)})
        await ws.close(code=_CLOSE_CODES.get(error.code, WSCloseCode.POLICY_VIOLATION), message=error.code.encode())
    except ConnectionError:  # the client is gone already
        pass
