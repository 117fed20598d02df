"""Shared benchmark helpers: the timing protocol of ../shared/ANCHORS.md, test audio, tables.

Protocol: torch on 2 threads, each side run twice to warm up, then the median of 5 runs,
both sides in one process on the same input.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

MALLOC_ENV = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
CONF = Path(__file__).resolve().parent.parent / "egs" / "synth" / "vc1" / "conf"
DUMMY_PHONES = 60  # about the size of the synth corpus' espeak-ng inventory
RECOGNIZER_SPEAKERS = 12  # the demo's training speakers, for the recogniser's speaker adversary


def parser(description: str | None) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: where ours runs, threads, repeats."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="device for ours: cpu or cuda [cpu]")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads [2]")
    p.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported [5]")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs first [2]")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    missing = [name for name in MALLOC_ENV if name not in os.environ]
    print(f"torch {torch.__version__}, {args.threads} threads, ours on {device}; median of {args.repeats} "
          f"after {args.warmup} warm-ups; "
          + (f"malloc tuning NOT set ({', '.join(missing)}): expect noise, use `make bench`" if missing
             else "malloc env set as in ANCHORS.md"))
    return device


def median_seconds(fn: Callable[[], object], args: argparse.Namespace, device: torch.device | None = None) -> float:
    """Median wall time of ``fn``; on CUDA the device is synchronised before each clock read."""
    return statistics.median(alternated_times({"fn": fn}, args, device)["fn"])


def alternated_times(fns: dict[str, Callable[[], object]], args: argparse.Namespace,
                     device: torch.device | None = None) -> dict[str, list[float]]:
    """Wall times of each of ``fns``, run in turn: all warm up, then every repeat times each
    once (A, B, A, B, ...), so a shared host's drifting load falls on every side alike.
    On CUDA the device is synchronised before each clock read."""

    def sync() -> None:
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(args.warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.repeats):
        for name, fn in fns.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def phonetic_params(num_speakers: int = RECOGNIZER_SPEAKERS) -> dict[str, Any]:
    """``model_params.phonetic`` as the experiment builder fills it from ``content_model: exp/phones``:
    phones_quick.yaml's model_params with a dummy inventory of ``DUMMY_PHONES`` phones and the
    training speakers' count (the weights stay random; speed does not depend on them)."""
    from vc.config import load_yaml

    params = load_yaml(CONF / "phones_quick.yaml")["model_params"]
    return {**params, "phones": [f"ph{i}" for i in range(DUMMY_PHONES)], "num_speakers": num_speakers}


def model_params(config: dict[str, Any], num_speakers: int | None = None) -> dict[str, Any]:
    """A quick config's ``model_params`` as training builds them: ``phonetic`` filled in (random
    weights) when the config names a ``content_model``, and ``num_speakers`` when given."""
    params = dict(config["model_params"])
    if num_speakers is not None:
        params["num_speakers"] = num_speakers
    if config.get("content_model"):
        params["phonetic"] = phonetic_params()
    return params


def speech(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    """The CMU ARCTIC utterance pysptk ships (arctic_a0007, 16 kHz), looped to ``seconds``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysptk
    from vc.audio.io import load_wav

    wav, _ = load_wav(pysptk.util.example_audio_file(), sample_rate)
    return np.tile(wav, int(np.ceil(seconds * sample_rate / len(wav))))[: int(seconds * sample_rate)]


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, the rest right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def add_precision_option(p: argparse.ArgumentParser) -> None:
    """``--precision fp32|mixed|both`` for benchmarks that time training or inference both ways."""
    p.add_argument("--precision", choices=["fp32", "mixed", "both"], default="both",
                   help="fp32, mixed (CUDA AMP or CPU bf16 autocast), or both [both]")


def mixed_flags(args: argparse.Namespace) -> list[bool]:
    """The ``mixed`` settings ``--precision`` asks for, fp32 first."""
    return {"fp32": [False], "mixed": [True], "both": [False, True]}[args.precision]
