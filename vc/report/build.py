"""`vc report` end to end: load the result dirs, group them, print-ready text tables, and
REPORT_DIR/index.html written atomically (an error leaves no page, or the old one, behind)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vc.errors import ConfigError
from vc.report.compare import Comparison, group_results
from vc.report.curves import parse_train_log
from vc.report.examples import SAMPLE_RATE, Example, load_examples
from vc.report.figures import DYNAMIC_RANGE_DB, curves_png, spectrogram_pngs
from vc.report.media import png_uri, wav_uri
from vc.report.page import ComparisonView, CurvesView, ExampleView, RowView, render_page
from vc.report.results import Result, load_results
from vc.report.table import format_tables
from vc.report.targets import Check, check_targets, format_targets, load_probe
from vc.utils import atomic_path

DEFAULT_TITLE = "Voice conversion report"


@dataclass(frozen=True)
class Report:
    path: Path  # REPORT_DIR/index.html
    size: int  # bytes
    text: str  # the plain-text summary tables, then the targets
    comparisons: list[Comparison]
    targets: list[Check]


def write_report(result_dirs: list[str | Path], out_dir: str | Path, *, examples: int = 2,
                 title: str | None = None, command: str | None = None,
                 probes: list[str | Path] | None = None) -> Report:
    """Render the result dirs into ``out_dir``/index.html, with the targets checked on them and
    on the latent probes' result dirs ``probes``; ``command`` is shown in the footer."""
    if examples < 0:
        raise ConfigError(f"--examples must be 0 or more, got {examples}")
    if not result_dirs:
        raise ConfigError("no result directories given")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    results = load_results(list(result_dirs))
    comparisons = group_results(results)
    targets = check_targets(comparisons, [load_probe(p) for p in probes or []])
    views = [ComparisonView(c, [_example_view(e) for e in load_examples(c, examples)]) for c in comparisons]
    note = (f"Log-mel spectrograms (80 bands, 10 ms hop, {SAMPLE_RATE // 1000} kHz); one colour scale per sentence, "
            f"{DYNAMIC_RANGE_DB:.0f} dB below its loudest bin, and one time axis.")
    page = render_page(title or DEFAULT_TITLE, views, targets, training_curves(results),
                       command or "vc report " + " ".join(str(p) for p in result_dirs) + f" --out {out}",
                       time.strftime("%Y-%m-%d %H:%M"), note)
    data = page.encode("utf-8")
    path = out / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    text = format_tables(comparisons) + (f"\n\n{format_targets(targets)}" if targets else "")
    return Report(path, len(data), text, comparisons, targets)


def training_curves(results: list[Result]) -> list[CurvesView]:
    """One view per distinct experiment dir, in order of first use; a missing log is a note."""
    used: dict[Path, list[str]] = {}
    for r in results:
        if r.model is not None:
            used.setdefault(r.model, []).append(r.label)
    views = []
    for model, labels in used.items():
        log_path = model / "log" / "train.log"
        if not log_path.is_file():
            what = "the experiment dir does not exist" if not model.is_dir() else f"no {log_path.relative_to(model)}"
            views.append(CurvesView(str(model), labels, None, f"No training curves: {what}."))
            continue
        log = parse_train_log(log_path)
        if log.empty:
            views.append(CurvesView(str(model), labels, None, f"No training curves: {log_path} has no loss lines."))
            continue
        views.append(CurvesView(str(model), labels, png_uri(curves_png(log))))
    return views


def _example_view(example: Example) -> ExampleView:
    pngs = spectrogram_pngs([row.wav for row in example.rows], SAMPLE_RATE)
    rows = [RowView(row.label, row.kind, wav_uri(row.wav, SAMPLE_RATE), png_uri(png), row.hyp)
            for row, png in zip(example.rows, pngs)]
    return ExampleView(example.utt, example.target_utt, example.text, rows)


def human_size(size: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"
