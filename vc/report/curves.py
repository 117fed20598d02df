"""Training curves from an experiment's log/train.log, as the trainer writes it:

    2026-11-22 01:56:33 starting at step 0 of 400 on cpu (world size 1, amp torch.bfloat16)
    2026-11-22 01:57:29 step=50 g/total=20.7 g/adv=1.79 d/total=1.85 lr.generator=0.0005 it/s=0.90
    2026-11-22 02:04:16 valid step=400 cycle_l1=0.41 identity_l1=0.36

Any other line is free text and skipped. A resumed run appends a new "starting at" (or
"resumed at") block; the steps it repeats replace the earlier ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

Series = list[tuple[int, float]]  # (step, value), in step order

_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\S*\s+")
_START = re.compile(r"^(?:starting|resumed) at step (\d+)(?: of (\d+))?")
_TRAIN = re.compile(r"^step=(\d+)\s+(.*)$")
_VALID = re.compile(r"^valid step=(\d+)\s+(.*)$")
_SKIP_PREFIXES = ("lr.", "it/s")  # learning rates and speed: not losses


@dataclass
class TrainLog:
    train: dict[str, Series] = field(default_factory=dict)  # loss key (e.g. "g/adv") -> series
    valid: dict[str, Series] = field(default_factory=dict)  # validation metric -> series
    starts: list[int] = field(default_factory=list)  # the step each run (first, then resumes) began at
    max_steps: int | None = None

    @property
    def empty(self) -> bool:
        return not self.train and not self.valid

    def groups(self) -> dict[str, dict[str, Series]]:
        """Training losses by prefix before "/" ("g", "d", "ae"...), a key without one on its own."""
        grouped: dict[str, dict[str, Series]] = {}
        for key, series in self.train.items():
            prefix = key.split("/", 1)[0] if "/" in key else key
            grouped.setdefault(prefix, {})[key] = series
        return grouped


def parse_train_log(path: str | Path) -> TrainLog:
    with open(path, encoding="utf-8", errors="replace") as f:
        return parse_train_lines(f)


def parse_train_lines(lines: Iterable[str]) -> TrainLog:
    log = TrainLog()
    for raw in lines:
        line = _STAMP.sub("", raw.strip(), count=1)
        if m := _START.match(line):
            step = int(m.group(1))
            log.starts.append(step)
            if m.group(2) is not None:
                log.max_steps = int(m.group(2))
            # Steps past the checkpoint a run resumed from are trained again: keep the new ones.
            for table in (log.train, log.valid):
                for key in list(table):
                    table[key] = [(s, v) for s, v in table[key] if s <= step]
                    if not table[key]:
                        del table[key]
        elif m := _VALID.match(line):
            _add(log.valid, int(m.group(1)), m.group(2))
        elif m := _TRAIN.match(line):
            _add(log.train, int(m.group(1)), m.group(2))
    return log


def _add(table: dict[str, Series], step: int, fields: str) -> None:
    for token in fields.split():
        key, sep, value = token.partition("=")
        if not sep or not key or key.startswith(_SKIP_PREFIXES):
            continue
        try:
            number = float(value)
        except ValueError:
            continue  # a line cut short by a crash, or a field that is not a number
        series = table.setdefault(key, [])
        if series and series[-1][0] >= step:  # a repeated step (a resume without a start line)
            series[:] = [(s, v) for s, v in series if s < step]
        series.append((step, number))
