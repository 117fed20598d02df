"""What every handler shares: the models, the limits, the worker pools and the references."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from vc.serve.catalog import ServedModel
from vc.serve.references import ReferenceStore
from vc.serve.settings import Settings
from vc.serve.workers import FilePool, StreamPool


@dataclass
class ServerState:
    models: dict[str, ServedModel]
    settings: Settings
    files: FilePool = field(init=False)  # file conversions and references: bounded, 503 past the queue
    streams: StreamPool = field(init=False)  # live streams, each on one worker
    references: ReferenceStore = field(default_factory=ReferenceStore)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set on SIGTERM: streams wind up

    def __post_init__(self) -> None:
        s = self.settings
        # Forked here, before the event loop or any thread starts.
        self.files = FilePool(self.models, s.workers, s.queue)
        self.streams = StreamPool(self.models, s.stream_workers, s.max_streams)


STATE = web.AppKey("state", ServerState)
