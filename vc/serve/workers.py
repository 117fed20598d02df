"""Torch inference in worker processes, off the event loop, bounded.

Processes, not threads: the conversions are many small torch calls and Python between them,
and two threads running them take as long as one thread running both (measured: 0.99x for
two streams, 0.87x for two file conversions, on 2 cores). Each worker is forked once the
models are loaded, so it starts at once and shares their weights with the server; it runs
one job at a time on one torch thread, fed through a pipe by one proxy thread here.

Files and streams get separate workers, so a live block never waits behind a file. File
jobs go to the next idle file worker; ``queue`` more may wait, the next is refused with
:class:`Busy` (HTTP 503 with Retry-After), so a burst costs clients a retry rather than the
server its memory and every client its latency. A live stream stays on one stream worker,
the least loaded when it starts, which holds its state between blocks.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import pickle
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

import torch

from vc.errors import VCError
from vc.serve.catalog import ServedModel
from vc.serve.errors import Busy, RequestError, classify
from vc.serve.jobs import Jobs

log = logging.getLogger("vc.serve")


class WorkerProcess:
    """One forked process running :class:`Jobs` methods one at a time."""

    def __init__(self, models: dict[str, ServedModel], name: str) -> None:
        self.name = name
        parent, child = multiprocessing.get_context("fork").Pipe()
        self.process = multiprocessing.get_context("fork").Process(target=_work, args=(child, models), name=name,
                                                                   daemon=True)
        self.process.start()
        child.close()
        self._conn: Connection = parent
        self._proxy = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.sessions = 0  # live streams it holds

    async def call(self, job: str, *args: Any) -> Any:
        """``Jobs.<job>(*args)`` in the process; its error as a RequestError."""
        reply = await asyncio.get_running_loop().run_in_executor(self._proxy, self._roundtrip, job, args)
        if reply[0] == "ok":
            return reply[1]
        _, status, code, message = reply
        raise RequestError(status, code, message)

    def _roundtrip(self, job: str, args: tuple) -> tuple:
        try:  # plain pickle: torch tensors (a reference's vector) by value, not by shared memory
            self._conn.send_bytes(pickle.dumps((job, args)))
            return pickle.loads(self._conn.recv_bytes())
        except (EOFError, OSError):
            log.error("worker %s exited (status %s)", self.name, self.process.exitcode)
            return ("error", 500, "internal", f"worker {self.name} has stopped; the server's log has the details")

    def stop(self) -> None:
        """Let the jobs already sent finish, then end the process."""
        self._proxy.shutdown(wait=True)
        try:
            self._conn.send_bytes(pickle.dumps(("stop", ())))
        except OSError:
            pass
        self.process.join(timeout=10)


def _work(conn: Connection, models: dict[str, ServedModel]) -> None:
    """The worker's loop: a job in, its result or its error out, until told to stop."""
    # SIGINT from a terminal reaches the whole process group; the server decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(1)
    jobs = Jobs(models)
    while True:
        try:
            job, args = pickle.loads(conn.recv_bytes())
        except EOFError:  # the server is gone
            return
        if job == "stop":
            return
        try:
            reply: tuple = ("ok", getattr(jobs, job)(*args))
        except VCError as e:
            error = classify(e)
            reply = ("error", error.status, error.code, str(error))
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("job %s failed [%s]", job, ref)
            reply = ("error", 500, "internal", f"internal error [{ref}]; the server's log has the details")
        conn.send_bytes(pickle.dumps(reply))


class FilePool:
    """File jobs on ``workers`` processes, at most ``queue`` waiting; Busy beyond."""

    def __init__(self, models: dict[str, ServedModel], workers: int, queue: int) -> None:
        self.workers = [WorkerProcess(models, f"file-worker-{i}") for i in range(workers)]
        self.queue = queue
        self.jobs = 0  # running + waiting; only touched on the event loop
        self._idle: asyncio.Queue[WorkerProcess] | None = None  # made on the event loop, at first use
        self._mean_s = 1.0  # running mean of a job's duration, for Retry-After

    async def run(self, job: str, *args: Any) -> Any:
        if self.jobs >= len(self.workers) + self.queue:
            raise Busy(f"the server is busy ({self.jobs} file jobs running or queued, the most it takes); "
                       "try again shortly", self._retry_after())
        if self._idle is None:
            self._idle = asyncio.Queue()
            for worker in self.workers:
                self._idle.put_nowait(worker)
        self.jobs += 1
        try:
            worker = await self._idle.get()
            loop = asyncio.get_running_loop()
            start = loop.time()
            try:
                return await worker.call(job, *args)
            finally:
                self._idle.put_nowait(worker)
                self._mean_s += 0.2 * (loop.time() - start - self._mean_s)
        finally:
            self.jobs -= 1

    def _retry_after(self) -> int:
        """Seconds until a place is likely free: the queue ahead, drained by every worker."""
        return max(1, math.ceil(self._mean_s * (self.queue + 1) / len(self.workers)))

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


class StreamPool:
    """Live streams on ``workers`` processes, at most ``limit`` at once; Busy beyond."""

    def __init__(self, models: dict[str, ServedModel], workers: int, limit: int) -> None:
        self.workers = [WorkerProcess(models, f"stream-worker-{i}") for i in range(workers)]
        self.limit = limit

    @property
    def sessions(self) -> int:
        return sum(w.sessions for w in self.workers)

    def take(self) -> WorkerProcess:
        """The least loaded worker, which holds the new stream until :meth:`release`."""
        if self.sessions >= self.limit:
            raise Busy(f"the server is busy ({self.sessions} live streams, the most it takes); try again shortly", 5)
        worker = min(self.workers, key=lambda w: w.sessions)
        worker.sessions += 1
        return worker

    def release(self, worker: WorkerProcess) -> None:
        worker.sessions -= 1

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
