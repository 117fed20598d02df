"""The routes of `vc serve` and the server's life (docs/serve.md).

    GET  /                 the page (static/index.html; plain HTML, CSS and JavaScript)
    GET  /health           {"status": "ok", ...load}
    GET  /api/models       the models, their speakers, rates and vocoders, and the limits
    POST /api/convert      multipart: audio, model, target | reference, source, vocoder -> audio/wav
    POST /api/reference    multipart: model, audio (1-8 recordings) -> {"id", ...} for one-shot targets
    GET  /api/stream       WebSocket: live conversion (vc.serve.live)

Every failure is JSON ``{"error": one line, "code": ...}`` with its HTTP status; a server
fault is logged with its traceback, and the client gets only an id to quote. On SIGTERM
the server stops listening, lets the requests in flight finish (live streams send what
they have and close), and exits.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web

from vc.errors import ConfigError, VCError
from vc.serve.catalog import ServedModel, choose, choose_model
from vc.serve.errors import Busy, RequestError, classify
from vc.serve.forms import read_form
from vc.serve.live import stream_handler
from vc.serve.settings import Settings
from vc.serve.state import STATE, ServerState

log = logging.getLogger("vc.serve")
STATIC = Path(__file__).parent / "static"
MAX_REFERENCES = 8  # recordings in one POST /api/reference

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(models: dict[str, ServedModel], settings: Settings) -> web.Application:
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_upload_bytes)
    state = ServerState(models, settings)
    app[STATE] = state
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/health", health)
    app.router.add_get("/api/models", list_models)
    app.router.add_post("/api/convert", convert)
    app.router.add_post("/api/reference", reference)
    app.router.add_get("/api/stream", stream_handler)

    async def stop_streams(_: web.Application) -> None:
        state.stopping.set()

    async def stop_workers(_: web.Application) -> None:
        state.files.stop()
        state.streams.stop()

    app.on_shutdown.append(stop_streams)
    app.on_cleanup.append(stop_workers)
    return app


def serve(models: dict[str, ServedModel], settings: Settings, host: str, port: int) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully."""
    names = ", ".join(models)

    def started(_: str) -> None:
        log.info("serving %s on http://%s:%d (%d file workers, queue %d; %d stream workers, %d live streams)", names,
                 host, port, settings.workers, settings.queue, settings.stream_workers, settings.max_streams)

    try:
        web.run_app(create_app(models, settings), host=host, port=port, shutdown_timeout=settings.shutdown_timeout,
                    print=started, access_log=logging.getLogger("vc.serve.access"))
    except OSError as e:
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    log.info("stopped")


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except VCError as e:
        error = classify(e)
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Busy) else None
        return _error(error.status, error.code, str(error), headers)
    except ConnectionError:  # the client went away; aiohttp closes the connection
        raise
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return _error(e.status, e.reason.lower().replace(" ", "_"), f"{request.method} {request.path}: {e.reason}")
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("%s %s failed [%s]", request.method, request.path, ref)
        return _error(500, "internal", f"internal error [{ref}]; the server's log has the details")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message, "code": code}, status=status, headers=headers)


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    workers = state.files.workers + state.streams.workers
    return web.json_response({"status": "stopping" if state.stopping.is_set() else "ok", "models": len(state.models),
                              "file_jobs": state.files.jobs, "workers": len(state.files.workers),
                              "queue": state.files.queue, "streams": state.streams.sessions,
                              "max_streams": state.streams.limit,
                              "workers_alive": sum(w.process.is_alive() for w in workers)})


async def list_models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"models": [m.info() for m in state.models.values()], "limits": state.settings.public()})


async def convert(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await read_form(request, state.settings.max_upload_bytes)
    model = choose_model(state.models, form.text("model"))
    ref = form.text("reference")
    choice = choose(model, form.text("target"), state.references.get(ref, model.name) if ref else None,
                    form.text("source"), form.text("vocoder"), model.vocoders)
    (upload,) = form.uploads("audio", most=1)
    started = time.perf_counter()
    wav, seconds = await state.files.run("convert", model.name, choice.source, choice.target, choice.vocoder,
                                         (upload.name, upload.data), state.settings.max_seconds)
    return web.Response(body=wav, content_type="audio/wav", headers={
        "Content-Disposition": f'attachment; filename="{Path(upload.name).stem}_converted.wav"',
        "X-Audio-Seconds": f"{seconds:.3f}", "X-Elapsed-Seconds": f"{time.perf_counter() - started:.3f}"})


async def reference(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await read_form(request, state.settings.max_upload_bytes)
    model = choose_model(state.models, form.text("model"))
    if not model.one_shot:
        raise RequestError(400, "bad_request", f"model {model.name} converts to its training speakers only "
                                               f"({', '.join(model.targets)}); it takes no reference recording")
    uploads = form.uploads("audio", most=MAX_REFERENCES)
    ref, seconds = await state.files.run("reference", model.name, [(u.name, u.data) for u in uploads],
                                         state.settings.max_seconds)
    return web.json_response({"id": state.references.add(model.name, ref), "model": model.name, "label": ref.label,
                              "recordings": len(uploads), "seconds": round(seconds, 3)})
