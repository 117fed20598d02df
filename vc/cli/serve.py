"""`vc serve`: conversion over HTTP and WebSocket, with a page for the browser (docs/serve.md).

Loads each ``--model`` once, then answers until SIGTERM or Ctrl-C, when it stops listening
and lets the requests in flight finish. Logs (requests, and the traceback of any server
fault) go to stderr.
"""

from __future__ import annotations

import argparse

from vc.cli.argtypes import positive_number, whole_number


def register(subparsers: argparse._SubParsersAction) -> None:
    from vc.serve.settings import Settings

    d = Settings()
    p = subparsers.add_parser(
        "serve", help="serve conversion over HTTP and WebSocket, with a browser page",
        description="Serve trained models: a page at /, file conversion (POST /api/convert), one-shot references "
                    "(POST /api/reference) and live streams (WebSocket /api/stream).",
    )
    p.add_argument("--model", required=True, action="append", metavar="[NAME=]EXP",
                   help="experiment directory of a model to serve, named after its directory unless NAME= is "
                        "given; repeat for several")
    p.add_argument("--vocoder", action="append", default=[], metavar="EXP",
                   help="a trained vocoder's experiment directory, offered with every model whose features it takes")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every interface [127.0.0.1]")
    p.add_argument("--port", type=whole_number(1), default=8000, help="port [8000]")
    p.add_argument("--workers", type=whole_number(1), default=d.workers,
                   help=f"processes converting files, one torch thread each [{d.workers}: the cores]")
    p.add_argument("--queue", type=whole_number(0), default=d.queue,
                   help=f"file requests that may wait for a worker; the next gets 503 [{d.queue}]")
    p.add_argument("--stream-workers", type=whole_number(1), default=d.stream_workers,
                   help=f"processes running live streams [{d.stream_workers}: the cores]")
    p.add_argument("--max-streams", type=whole_number(1), default=d.max_streams,
                   help=f"live streams at once; the next gets 'busy' [{d.max_streams}]")
    p.add_argument("--max-upload-mb", type=positive_number, default=d.max_upload_mb,
                   help=f"largest request body, MB [{d.max_upload_mb:g}]")
    p.add_argument("--max-seconds", type=positive_number, default=d.max_seconds,
                   help=f"longest uploaded recording, seconds [{d.max_seconds:g}]")
    p.add_argument("--max-stream-seconds", type=positive_number, default=d.max_stream_seconds,
                   help=f"longest live stream, seconds [{d.max_stream_seconds:g}]")
    p.add_argument("--shutdown-timeout", type=positive_number, default=d.shutdown_timeout,
                   help=f"on SIGTERM, seconds the requests in flight may take to finish [{d.shutdown_timeout:g}]")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    import torch

    from vc.errors import ConfigError

    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise ConfigError("vc serve needs the 'aiohttp' package: pip install 'vc[serve]'") from None
    from vc.serve.app import serve
    from vc.serve.catalog import load_models
    from vc.serve.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)  # before loading: the worker processes are the parallelism, one thread each
    settings = Settings(workers=args.workers, queue=args.queue, stream_workers=args.stream_workers,
                        max_streams=args.max_streams, max_upload_mb=args.max_upload_mb, max_seconds=args.max_seconds,
                        max_stream_seconds=args.max_stream_seconds, shutdown_timeout=args.shutdown_timeout)
    serve(load_models(args.model, args.vocoder, args.device), settings, args.host, args.port)
    return 0
