"""The server's knobs and their defaults (`vc serve --help` shows them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    workers: int = cores()  # processes converting uploaded files (one torch thread each)
    queue: int = 8  # file jobs waiting for a worker; one more is answered 503
    stream_workers: int = cores()  # processes running live streams
    max_streams: int = cores()  # live WebSocket streams at once: as many as hold real time (bench/RESULTS.md)
    max_upload_mb: float = 20.0  # one request's body
    max_seconds: float = 60.0  # one uploaded recording's duration
    max_stream_seconds: float = 600.0  # one live stream's duration
    shutdown_timeout: float = 30.0  # on SIGTERM, how long in-flight requests may take to finish

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def public(self) -> dict[str, float]:
        """The limits a client must respect (GET /api/models)."""
        return {"max_upload_mb": self.max_upload_mb, "max_seconds": self.max_seconds,
                "max_stream_seconds": self.max_stream_seconds}
