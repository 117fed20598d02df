"""How a metric, a value and a row read, in the text table and the HTML page alike; every
header and format comes from the metric registry."""

from __future__ import annotations

import math

from vc.evaluate.metrics import MISSING, Metric
from vc.report.results import Result, Summary

ARROW = {"lower": "↓", "higher": "↑"}
REFERENCE_TAGS = {"source": "unconverted source, lower bound", "target": "real target recordings, upper bound"}
BOUNDS = {"source": "lower bound", "copysynth-source": "vocoder bound", "copysynth-target": "vocoder bound",
          "target": "upper bound"}


def format_summary(metric: Metric, summary: Summary | None) -> str:
    """'9.53 ± 0.41'; the mean alone when the interval is undefined (n == 1); '—' when absent."""
    if summary is None or not math.isfinite(summary.mean):
        return MISSING
    mean = metric.format(summary.mean)
    if not math.isfinite(summary.ci95):
        return mean
    return f"{mean} ± {metric.format(summary.ci95)}"


def unit_arrow(metric: Metric) -> str:
    """'dB ↓': the unit and which direction is better."""
    return f"{metric.unit} {ARROW[metric.better]}".strip()


def row_label(result: Result) -> str:
    """The JSON label, with the reference's role appended unless the label already says it:
    a copy synthesis is a vocoder bound; the real recordings, a lower or upper bound, and
    whose they are when the label does not say."""
    if result.kind == "converted":
        return result.label
    lowered = result.label.lower()
    if "bound" in lowered:
        return result.label
    if result.kind in REFERENCE_TAGS and result.kind not in lowered:
        return f"{result.label} ({REFERENCE_TAGS[result.kind]})"
    return f"{result.label}, {BOUNDS[result.kind]}"


def best_system(results: list[Result], metric: Metric) -> Result | None:
    """The converted result with the best mean for ``metric`` (None when none has one)."""
    scored = [r for r in results if r.kind == "converted" and metric.key in r.metrics
              and math.isfinite(r.metrics[metric.key].mean)]
    if not scored:
        return None
    sign = 1 if metric.better == "lower" else -1
    return min(scored, key=lambda r: sign * r.metrics[metric.key].mean)


def result_n(result: Result) -> int:
    """Utterances a result covers: its scores.csv rows."""
    return len(result.scores)
