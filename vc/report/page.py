"""HTML assembly: one self-contained page (inline CSS, media as data URIs, no scripts, no
external references) from views whose media are already encoded."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

from vc.evaluate.metrics import METRICS, MISSING, Metric
from vc.report.cells import (
    best_system,
    format_summary,
    result_n,
    row_label,
    unit_arrow,
)
from vc.report.compare import Comparison
from vc.report.glossary import describe
from vc.report.results import Result
from vc.report.targets import Check


@dataclass
class RowView:
    label: str
    kind: str
    audio_uri: str
    png_uri: str
    hyp: str | None


@dataclass
class ExampleView:
    utt: str
    target_utt: str
    text: str | None
    rows: list[RowView]


@dataclass
class ComparisonView:
    comparison: Comparison
    examples: list[ExampleView] = field(default_factory=list)


@dataclass
class CurvesView:
    model: str  # the experiment dir as given in summary.json
    used_by: list[str]  # labels of the results it produced
    png_uri: str | None
    note: str | None = None  # why there is no figure


CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1f;
  margin:0 auto;max-width:1240px;padding:18px 28px 40px;background:#fff}
h1{font-size:22px;margin:6px 0 2px} h2{font-size:18px;margin:30px 0 8px;padding-bottom:4px;border-bottom:2px solid #ddd}
h3{font-size:15px;margin:22px 0 6px} h4{font-size:14px;margin:16px 0 4px}
.meta,.muted{color:#666;font-size:12px;font-weight:normal} nav a{margin-right:14px}
.scroll{overflow-x:auto}
table.metrics{border-collapse:collapse;margin:6px 0 4px;font-variant-numeric:tabular-nums;font-size:13px}
table.metrics th,table.metrics td{padding:4px 6px;border-bottom:1px solid #e3e3e3;text-align:right}
table.metrics td{white-space:nowrap}
table.metrics th{background:#f3f4f6;font-weight:600;vertical-align:bottom;min-width:52px;max-width:92px}
table.metrics th small{display:block;font-weight:normal;color:#555}
table.metrics .label{text-align:left;min-width:170px;max-width:280px;white-space:normal}
table.metrics td .ci{display:block;font-size:11px;color:#777;font-weight:normal}
table.metrics tr.ref td{background:#fafafa;color:#444}
table.metrics td b{color:#0a5e2a}
.badge{display:inline-block;font-size:11px;padding:0 6px;margin-left:6px;border-radius:8px;
  background:#e8eaf0;color:#333;vertical-align:1px;white-space:nowrap}
.badge.source{background:#fde8d8} .badge.target{background:#dcefdc}
.badge.copysynth-source,.badge.copysynth-target{background:#ece4f7}
.sub{display:block;color:#777;font-size:11px}
.example{margin:8px 0 18px} .text{margin:0 0 6px;color:#333}
.row{display:flex;align-items:center;gap:14px;padding:3px 0;border-top:1px solid #f0f0f0}
.row .who{width:230px;flex:none;font-size:13px}
.row img{width:320px;height:128px;flex:none}
.row .play{display:flex;flex-direction:column;gap:4px;min-width:0}
.row audio{width:300px;height:32px}
.hyp{font-size:12px;color:#555} .hyp q{color:#222}
table.targets{border-collapse:collapse;font-size:13px} table.targets td{padding:3px 8px;border-bottom:1px solid #eee}
table.targets td.group{font-weight:600;padding-top:10px}
td.pass{color:#0a5e2a;font-weight:600} td.miss{color:#b3261e;font-weight:600} td.na{color:#777}
figure{margin:10px 0} figure img{max-width:100%}
footer{margin-top:36px;padding-top:8px;border-top:2px solid #ddd;font-size:12.5px;color:#333}
footer dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px}
footer dt{font-weight:600} footer dd{margin:0}
code{font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:3px;word-break:break-all}
"""

STATUS_CLASS = {"PASS": "pass", "MISS": "miss", "n/a": "na"}
# References carry their role beside their label; systems need no mark.
KIND_BADGE = {"source": "unconverted · lower bound", "copysynth-source": "copy synthesis · vocoder bound",
              "converted": "", "copysynth-target": "copy synthesis · vocoder bound",
              "target": "real recordings · upper bound"}


def render_page(title: str, views: list[ComparisonView], targets: list[Check], curves: list[CurvesView],
                command: str, generated: str, spectrogram_note: str) -> str:
    results = [r for v in views for r in v.comparison.results]
    present = [m for m in METRICS if any(m.key in r.metrics for r in results)]
    body = [f"<h1>{_e(title)}</h1>",
            (f'<p class="meta">{len(results)} result{"s" if len(results) != 1 else ""} in {len(views)} '
            f'comparison{"s" if len(views) != 1 else ""} &middot; generated {_e(generated)}</p>'),
            _nav(views, bool(targets), curves)]
    for i, view in enumerate(views):
        body.append(_comparison(i, view, spectrogram_note))
    if targets:
        body.append(_targets(targets))
    if curves:
        body.append('<h2 id="training">Training curves</h2>')
        body.extend(_curves(c) for c in curves)
    body.append(_footer(present, views, command))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{_e(title)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def metrics_table(comparison: Comparison) -> str:
    """Every metric any row has (registry order): mean ± 95% CI, the best system's in bold."""
    metrics = [m for m in METRICS if any(m.key in r.metrics for r in comparison.results)]
    best = {m.key: best_system(comparison.results, m) for m in metrics}
    head = ['<th class="label">result</th>'] + [
        f'<th title="{_e(m.key)}">{_e(m.title)}<small>{_e(unit_arrow(m))}</small></th>' for m in metrics
    ] + ["<th>n<small>utts</small></th>"]
    rows = []
    for r in comparison.results:
        cells = [f'<td class="label">{_result_cell(r)}</td>']
        for m in metrics:
            mean, _, ci = format_summary(m, r.metrics.get(m.key)).partition(" ± ")
            text = f"<b>{_e(mean)}</b>" if best[m.key] is r else _e(mean)
            if ci:  # on a line of its own, so that a dozen metrics fit the page's width
                text += f'<span class="ci">± {_e(ci)}</span>'
            cells.append(f'<td title="{_e(_cell_title(m, r))}">{text}</td>')
        cells.append(f"<td>{result_n(r)}</td>")
        rows.append(f'<tr class="{"ref" if r.kind != "converted" else "sys"}">' + "".join(cells) + "</tr>")
    return ('<div class="scroll"><table class="metrics">\n<thead><tr>' + "".join(head) + "</tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody></table></div>")


def _nav(views: list[ComparisonView], targets: bool, curves: list[CurvesView]) -> str:
    links = [f'<a href="#cmp{i}">{_e(v.comparison.title.replace("->", "→"))}</a>' for i, v in enumerate(views)]
    if targets:
        links.append('<a href="#targets">targets</a>')
    if curves:
        links.append('<a href="#training">training curves</a>')
    links.append('<a href="#about">metrics &amp; inputs</a>')
    return "<nav>" + "".join(links) + "</nav>"


def _comparison(i: int, view: ComparisonView, spectrogram_note: str) -> str:
    c = view.comparison
    scope = c.scope("scored by every row")
    parts = [f'<h2 id="cmp{i}">{_e(c.src_spk)} → {_e(c.tgt_spk)} <span class="muted">({_e(scope)})</span></h2>',
             metrics_table(c),
             ('<p class="muted">mean ± half-width of the 95% confidence interval over utterances; ↓ lower is '
             "better, ↑ higher is better; bold: the best converted system; — not computed or undefined.</p>")]
    if view.examples:
        parts.append(f"<h3>Listening examples</h3><p class=\"muted\">{_e(spectrogram_note)}</p>")
        parts.extend(_example(e) for e in view.examples)
    return "\n".join(parts)


def _example(example: ExampleView) -> str:
    text = f'<p class="text">“{_e(example.text)}”</p>' if example.text else ""
    rows = []
    for row in example.rows:
        hyp = f'<span class="hyp">ASR: <q>{_e(row.hyp)}</q></span>' if row.hyp is not None else ""
        rows.append(f'<div class="row {row.kind}"><div class="who">{_e(row.label)}{_badge(row.kind)}</div>'
                    f'<img alt="log-mel spectrogram: {_e(row.label)}" src="{row.png_uri}">'
                    f'<div class="play"><audio controls preload="metadata" src="{row.audio_uri}"></audio>{hyp}</div>'
                    "</div>")
    return (f'<div class="example"><h4>{_e(example.utt)} <span class="muted">(target: {_e(example.target_utt)})'
            f"</span></h4>{text}" + "".join(rows) + "</div>")


def _targets(checks: list[Check]) -> str:
    """One row per check under a row per comparison, each with its status and its numbers."""
    rows, group = [], None
    for c in checks:
        if c.group != group:
            group = c.group
            rows.append(f'<tr><td class="group" colspan="4">{_e(group.replace("->", "→"))}</td></tr>')
        rows.append(f'<tr><td class="{STATUS_CLASS[c.status]}">{_e(c.status)}</td><td>{_e(c.subject)}</td>'
                    f"<td>{_e(c.name)}</td><td>{_e(c.detail)}</td></tr>")
    met = sum(c.status == "PASS" for c in checks)
    return ('<h2 id="targets">Targets</h2>'
            f'<p class="muted">{met} of {len(checks)} met. Words and quality are measured against copy synthesis '
            "through the system's own vocoder; the thresholds are in vc/report/targets.py.</p>"
            '<div class="scroll"><table class="targets">' + "".join(rows) + "</table></div>")


def _curves(view: CurvesView) -> str:
    head = f'<h3><code>{_e(view.model)}</code> <span class="muted">{_e(", ".join(view.used_by))}</span></h3>'
    if view.png_uri is None:
        return head + f'<p class="muted">{_e(view.note or "no training log")}</p>'
    return head + f'<figure><img alt="training curves of {_e(view.model)}" src="{view.png_uri}"></figure>'


def _footer(present: list[Metric], views: list[ComparisonView], command: str) -> str:
    terms = "".join(f"<dt>{_e(m.title)}{' (' + _e(m.unit) + ')' if m.unit else ''} "
                    f"{'↓' if m.better == 'lower' else '↑'}</dt><dd>{_e(describe(m))}</dd>" for m in present)
    inputs = []
    for view in views:
        for r in view.comparison.results:
            extra = "".join(f"; {k} <code>{_e(str(v))}</code>" for k, v in
                            (("model", r.model), ("vocoder", r.vocoder)) if v is not None)
            inputs.append(f"<li>{_e(row_label(r))}: <code>{_e(str(r.path))}</code>; data "
                          f"<code>{_e(str(r.data_path))}</code>{extra}</li>")
    return (f'<footer id="about"><h3>What the metrics mean</h3><dl>{terms}</dl>'
            "<p>The source row scores the unconverted source recordings against the target (what conversion "
            "must improve on); the target row scores the target speaker's own recordings (the best any "
            "system could reach with these measures). A copy-synthesis row scores those recordings after "
            "analysis and resynthesis through a vocoder, with no model in between: the vocoder bound, what a "
            "system using that vocoder could reach with perfect features, so the gap between it and a "
            "system is the model's own loss.</p>"
            f"<h3>Inputs</h3><p>Command: <code>{_e(command)}</code></p><ul>{''.join(inputs)}</ul></footer>")


def _badge(kind: str) -> str:
    return f'<span class="badge {kind}">{KIND_BADGE[kind]}</span>' if KIND_BADGE[kind] else ""


def _result_cell(r: Result) -> str:
    sub = f'<span class="sub">vocoder {_e(r.vocoder)}</span>' if r.vocoder else ""
    return f"{_e(r.label)}{_badge(r.kind)}{sub}"


def _cell_title(m: Metric, r: Result) -> str:
    s = r.metrics.get(m.key)
    if s is None:
        return "not computed"
    text = f"{format_summary(m, s)} {m.unit}".strip() + f", n={s.n}"
    if s.pooled is not None and math.isfinite(s.pooled):
        text += f", pooled over all utterances: {m.format(s.pooled)}"
    return text if format_summary(m, s) != MISSING else text + " (undefined)"


def _e(text: str) -> str:
    return html.escape(text, quote=True)
