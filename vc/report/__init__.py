"""`vc report`: read the result dirs `vc evaluate` writes, print a summary table per
comparison and write one self-contained HTML page with tables, listening examples,
spectrograms and training curves.

    results.py   load and check a result dir (summary.json, scores.csv, its data dir)
    compare.py   group results by (source, target) and order their rows
    cells.py     how values, headers and row labels read (from the metric registry)
    table.py     the plain-text table
    curves.py    parse log/train.log
    examples.py  load the listening examples' audio
    targets.py   the quality targets, checked against the vocoder bounds and the latent probes
    figures.py   spectrogram and training-curve PNGs
    media.py     data URIs
    glossary.py  one sentence per metric
    page.py      the HTML
    build.py     all of it, written atomically
"""

from vc.report.build import Report, human_size, training_curves, write_report
from vc.report.compare import Comparison, group_results
from vc.report.curves import TrainLog, parse_train_lines, parse_train_log
from vc.report.results import (
    Result,
    Score,
    Summary,
    load_result,
    load_results,
    read_scores,
)
from vc.report.table import format_table, format_tables

__all__ = [
    "Comparison", "Report", "Result", "Score", "Summary", "TrainLog", "format_table", "format_tables",
    "group_results", "human_size", "load_result", "load_results", "parse_train_lines", "parse_train_log",
    "read_scores", "training_curves", "write_report",
]
