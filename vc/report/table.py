"""The plain-text summary table `vc report` prints (and `make demo` ends with): one block per
comparison, the SUMMARY_KEYS columns, mean ± 95% CI formatted by the registry."""

from __future__ import annotations

import textwrap

from vc.evaluate.metrics import METRIC_BY_KEY, SUMMARY_KEYS, Metric
from vc.report.cells import format_summary, result_n, row_label, unit_arrow
from vc.report.compare import Comparison

LABEL_WIDTH = 36  # longer labels are cut with "…": the table must fit a 140-column terminal
GAP = "  "


def format_tables(comparisons: list[Comparison], keys: tuple[str, ...] = SUMMARY_KEYS) -> str:
    """Every comparison's block, with the columns lined up across blocks."""
    metrics = [METRIC_BY_KEY[k] for k in keys]
    cells = {id(c): _cells(c, metrics) for c in comparisons}
    everything = [row for c in comparisons for row in cells[id(c)]]
    label_width = max(len(row[0]) for row in everything)
    widths = [max([len(row[j + 1]) for row in everything] + [_min_width(m)]) for j, m in enumerate(metrics)]
    return "\n\n".join(_block(c, metrics, cells[id(c)], label_width, widths) for c in comparisons)


def format_table(comparison: Comparison, keys: tuple[str, ...] = SUMMARY_KEYS) -> str:
    return format_tables([comparison], keys)


def _cells(comparison: Comparison, metrics: list[Metric]) -> list[list[str]]:
    """[label, cell per metric] per result."""
    return [[_cut(row_label(r), LABEL_WIDTH)] + [format_summary(m, r.metrics.get(m.key)) for m in metrics]
            for r in comparison.results]


def _min_width(metric: Metric) -> int:
    # Wide enough for the title's longest word and for the unit; the title wraps to fit.
    return max([len(w) for w in metric.title.split()] + [len(unit_arrow(metric)), 6])


def _block(comparison: Comparison, metrics: list[Metric], rows: list[list[str]], label_width: int,
           widths: list[int]) -> str:
    headers = [textwrap.wrap(m.title, w) + [unit_arrow(m)] for m, w in zip(metrics, widths)]
    rows = [row[1:] for row in rows]
    labels = [_cut(row_label(r), LABEL_WIDTH) for r in comparison.results]
    ns = [result_n(r) for r in comparison.results]
    if len(set(ns)) > 1:  # only worth a column when the results cover different utterances
        headers.append(["n"])
        widths = [*widths, max(len(str(n)) for n in ns)]
        rows = [[*row, str(n)] for row, n in zip(rows, ns)]
    depth = max(len(h) for h in headers)
    lines = [_heading(comparison)]
    for i in range(depth):
        # Bottom-align the header cells so every unit/arrow sits on the last header line.
        parts = [h[i - (depth - len(h))] if i >= depth - len(h) else "" for h in headers]
        lines.append(_row("", parts, label_width, widths))
    lines.append("  " + "-" * (label_width + sum(len(GAP) + w for w in widths)))
    lines.extend(_row(label, row, label_width, widths) for label, row in zip(labels, rows))
    return "\n".join(line.rstrip() for line in lines)


def _heading(comparison: Comparison) -> str:
    return f"{comparison.title} ({comparison.scope()})"


def _row(label: str, cells: list[str], label_width: int, widths: list[int]) -> str:
    return "  " + label.ljust(label_width) + "".join(GAP + c.rjust(w) for c, w in zip(cells, widths))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
