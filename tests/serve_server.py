"""A real `vc serve` process on 127.0.0.1 for the tests, and a small client for it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

START_TIMEOUT_S = 120  # torch import and model loading on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status once it has shut down."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log_text(self) -> str:
        return self.log.read_text()


@contextmanager
def running_server(args: list[str], log: Path) -> Iterator[Server]:
    """`vc serve ARGS` on a free port, up once /health answers; stopped with SIGTERM after."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "vc", "serve", "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(server.url):
            if process.poll() is not None:
                raise RuntimeError(f"vc serve exited with {process.returncode}:\n{server.log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"vc serve did not come up in {START_TIMEOUT_S} s:\n{server.log_text()}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def form(fields: dict[str, Any], files: dict[str, list[tuple[str, bytes]]] | None = None) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for key, value in fields.items():
        if value is not None:
            data.add_field(key, str(value))
    for key, items in (files or {}).items():
        for name, content in items:
            data.add_field(key, content, filename=name, content_type="application/octet-stream")
    return data


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
