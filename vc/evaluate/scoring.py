"""Score a converted set against the target speaker's parallel recordings.

Converted utterances keep their source ids (``<src>_par001``); the target's recording of
the same sentence is the data dir utterance with the same suffix (``<tgt>_par001``), as the
synthetic corpus and the parallel eval sets of the real recipes name them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vc.audio.io import load_wav
from vc.data.datadir import DataDir, load_utterance
from vc.errors import DataError
from vc.evaluate.mcd import SCORING_CONFIG, mcd_dtw, mcep_of
from vc.utils import atomic_write_text


@dataclass
class UttScore:
    utt: str
    target_utt: str
    mcd: float  # converted vs target
    source_mcd: float  # unconverted source vs target: what conversion should beat


def score_mcd(converted: dict[str, str], data: DataDir, tgt: str) -> list[UttScore]:
    """MCD-DTW of each converted utterance, and of its unconverted source, to the target's."""
    if tgt not in data.speakers:
        raise DataError(f"unknown target speaker {tgt!r} (the data dir has: {', '.join(data.speakers)})")
    sr = SCORING_CONFIG.sample_rate
    scores = []
    for utt, path in sorted(converted.items()):
        src = data.utt2spk.get(utt)
        if src is None:
            raise DataError(f"converted utterance {utt!r} is not in the data dir")
        target_utt = tgt + utt[len(src):]
        if target_utt not in data.utt2spk:
            raise DataError(f"no parallel recording {target_utt!r} of {tgt!r} for converted utterance {utt!r}")
        target = mcep_of(load_utterance(data, target_utt, sr))
        source = mcep_of(load_utterance(data, utt, sr))
        out, _ = load_wav(path, sr, name=f"converted {utt}")
        scores.append(UttScore(utt, target_utt, mcd_dtw(target, mcep_of(out)), mcd_dtw(target, source)))
    return scores


def mean_ci95(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its normal-approximation 95% confidence interval."""
    x = np.asarray(values, dtype=np.float64)
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(half)


def write_results(scores: list[UttScore], out: Path) -> dict[str, dict[str, float]]:
    """scores.csv (one row per utterance) and summary.json (mean and 95% CI per metric)."""
    out.mkdir(parents=True, exist_ok=True)
    rows = [["utt", "target_utt", "mcd_db", "source_mcd_db"]]
    rows += [[s.utt, s.target_utt, f"{s.mcd:.4f}", f"{s.source_mcd:.4f}"] for s in scores]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    atomic_write_text(out / "scores.csv", buffer.getvalue())
    summary = {}
    for key in ("mcd", "source_mcd"):
        mean, ci = mean_ci95([getattr(s, key) for s in scores])
        summary[f"{key}_db"] = {"mean": mean, "ci95": ci, "n": len(scores)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary

