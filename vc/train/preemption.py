"""Stopping training cleanly on SIGTERM or SIGINT: what Slurm sends a preempted job before it
kills it, and what Ctrl-C sends.

The first signal is only noted; the trainer finishes the step it is in, writes a checkpoint
and raises :class:`Preempted`, which `vc` turns into exit status 75 (EX_TEMPFAIL: try again),
the status recipes/utils/slurm.pl requeues on; `vc train --resume` then continues exactly.
A second SIGINT stops at once (KeyboardInterrupt), for a user who will not wait for the step.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

from vc.errors import VCError

PREEMPTED_EXIT_STATUS = 75  # sysexits.h EX_TEMPFAIL
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(VCError):
    """Training stopped at a step boundary on a signal, with a checkpoint written."""

    exit_status = PREEMPTED_EXIT_STATUS


class StopSignals:
    """While entered (in the main thread; elsewhere signals cannot be caught and nothing is
    installed), SIGTERM and SIGINT set :attr:`received` instead of stopping the process."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._note) for sig in SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous = {}

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.received == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: do not wait for the step
        self.received = signal.Signals(signum)
