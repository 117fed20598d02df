"""The quality targets a report checks (issue 16): does each system keep the words, reach
the target speaker and keep the sound quality, measured against the vocoder it uses; and
does the disentangle model's content code lose the speaker?

Every converted result of a comparison gets three checks, each PASS, MISS or n/a (the
numbers it needs were not computed):

- words: its WER <= the WER of the target's own recordings copy-synthesised through the
  same vocoder (the ``copysynth-target`` row) + ``wer_margin``; on a non-parallel eval set,
  where WER is measured against the ASR's reading of the source's copy synthesis, the
  ``copysynth-source`` row's WER (zero by construction) + ``wer_margin``;
- speaker: the share of utterances whose speaker embedding is nearer the target than the
  source (scores.csv), and the nearest-speaker accuracy, each at least its threshold, which
  is stricter for a target seen in training than for a one-shot target;
- quality: its DNSMOS OVRL >= that of the source copy-synthesised through the same vocoder
  (the ``copysynth-source`` row) - ``dnsmos_margin``.

And every latent speaker probe (``vc evaluate disentangle``'s summary.json) passes when its
accuracy on the content codes is at most ``probe_chance_factor`` x chance.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vc.errors import DataError
from vc.evaluate.metrics import METRIC_BY_KEY
from vc.report.compare import Comparison
from vc.report.results import Result

Status = Literal["PASS", "MISS", "n/a"]
EPS = 1e-9  # a value exactly at its threshold meets it, whatever the float rounding of a sum


@dataclass(frozen=True)
class Thresholds:
    """Every target's threshold, in one place. Rates are fractions (0.15 = 15 points)."""

    wer_margin: float = 0.15  # converted WER <= the target's copy-synthesised WER + this
    seen_nearest: float = 0.90  # seen target: nearest-speaker accuracy at least this
    seen_nearer: float = 1.0  # seen target: share of utterances nearer the target than the source (every one)
    oneshot_nearest: float = 0.60  # one-shot target: nearest-speaker accuracy at least this
    oneshot_nearer: float = 0.80  # one-shot target: share of utterances nearer the target than the source
    dnsmos_margin: float = 0.5  # converted DNSMOS OVRL >= the source's copy synthesis - this
    probe_chance_factor: float = 2.0  # latent probe accuracy on content codes <= this x chance


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Probe:
    """What a target needs of `vc evaluate disentangle`'s summary.json."""

    path: Path  # the probe's result dir
    code_accuracy: float
    chance: float


@dataclass(frozen=True)
class Check:
    status: Status
    group: str  # "flite_awb -> fest_slt", or "latent probe"
    subject: str  # the system's label, or the probe's dir
    name: str  # "words", "speaker (seen)", "speaker (one-shot)", "quality", "content codes"
    detail: str  # the numbers, and the threshold they were held to


def load_probe(path: str | Path) -> Probe:
    """The probe result dir ``path`` (its summary.json); a problem is one DataError."""
    summary = Path(path) / "summary.json"
    if not summary.is_file():
        raise DataError(f"{summary}: missing (a probe dir holds the summary.json of 'vc evaluate disentangle')")
    try:
        doc = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{summary}: unreadable ({e})") from None
    values = {}
    for key in ("code_accuracy", "chance"):
        value = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DataError(f"{summary}: \"{key}\" must be a number, found {value!r} (not a latent probe's summary?)")
        values[key] = float(value)
    return Probe(Path(path), values["code_accuracy"], values["chance"])


def check_targets(comparisons: list[Comparison], probes: list[Probe],
                  thresholds: Thresholds = THRESHOLDS) -> list[Check]:
    """Every system's three checks, comparison by comparison, then each probe's."""
    checks = []
    for comparison in comparisons:
        for system in (r for r in comparison.results if r.kind == "converted"):
            checks += [_words(comparison, system, thresholds), _speaker(comparison, system, thresholds),
                       _quality(comparison, system, thresholds)]
    return checks + [_probe(p, thresholds) for p in probes]


def format_targets(checks: list[Check]) -> str:
    """The text section: a heading per comparison, a line per check, and the count met."""
    lines = ["Targets (thresholds in vc/report/targets.py)"]
    group = None
    for check in checks:
        if check.group != group:
            group = check.group
            lines.append(f"  {group}")
        lines.append(f"    {check.status:4s}  {check.subject}: {check.name}: {check.detail}")
    met = sum(c.status == "PASS" for c in checks)
    missed = sum(c.status == "MISS" for c in checks)
    lines.append(f"  {met} of {len(checks)} targets met, {missed} missed, {len(checks) - met - missed} not measured")
    return "\n".join(lines)


def _bound(comparison: Comparison, kind: str, system: Result) -> Result | None:
    """The comparison's copy synthesis of ``kind`` through the system's vocoder."""
    return next((r for r in comparison.results if r.kind == kind and r.vocoder == system.vocoder), None)


def _mean(result: Result, key: str) -> float | None:
    summary = result.metrics.get(key)
    return summary.mean if summary is not None and math.isfinite(summary.mean) else None


def _check(comparison: Comparison, system: Result, name: str, status: Status, detail: str) -> Check:
    return Check(status, comparison.title, system.label, name, detail)


def _words(comparison: Comparison, system: Result, t: Thresholds) -> Check:
    # Non-parallel: the references are the ASR's reading of the source's copy synthesis, whose
    # own row is the bound (the target's recordings say other words).
    bound = "copysynth-target" if comparison.parallel else "copysynth-source"
    return _versus_bound(comparison, system, "words", "wer", bound, t.wer_margin)


def _speaker(comparison: Comparison, system: Result, t: Thresholds) -> Check:
    kind, need_nearest, need_nearer = (("one-shot", t.oneshot_nearest, t.oneshot_nearer) if system.oneshot
                                       else ("seen", t.seen_nearest, t.seen_nearer))
    name = f"speaker ({kind})"
    nearest = _mean(system, "nearest_correct")
    pairs = [(s.values["sim_target"], s.values["sim_source"]) for s in system.scores
             if "sim_target" in s.values and "sim_source" in s.values]
    if nearest is None or not pairs:
        return _check(comparison, system, name, "n/a", "no speaker similarity scores")
    nearer = sum(target > source for target, source in pairs)
    ok = nearest >= need_nearest - EPS and nearer >= need_nearer * len(pairs) - EPS
    share = "all" if need_nearer >= 1 else f">= {_pct(need_nearer)}"
    return _check(comparison, system, name, "PASS" if ok else "MISS",
                  f"nearest-speaker accuracy {_pct(nearest)} (need >= {_pct(need_nearest)}), nearer the target than "
                  f"the source in {nearer} of {len(pairs)} utterances (need {share})")


def _quality(comparison: Comparison, system: Result, t: Thresholds) -> Check:
    return _versus_bound(comparison, system, "quality", "dnsmos_ovrl", "copysynth-source", t.dnsmos_margin)


def _versus_bound(comparison: Comparison, system: Result, name: str, key: str, kind: str, margin: float) -> Check:
    """PASS when the system's mean ``key`` is no more than ``margin`` worse (in the metric's
    own direction) than that of the copy synthesis of ``kind`` through the system's vocoder."""
    metric = METRIC_BY_KEY[key]
    bound = _bound(comparison, kind, system)
    value = _mean(system, key)
    reference = _mean(bound, key) if bound is not None else None
    role = kind.removeprefix("copysynth-")
    if value is None or reference is None:
        speaker = comparison.src_spk if role == "source" else comparison.tgt_spk
        why = (f"no {metric.title}" if value is None else
               f"no copy synthesis of {speaker} through vocoder {system.vocoder} with a {metric.title}")
        return _check(comparison, system, name, "n/a", why)
    sign = 1 if metric.better == "lower" else -1
    limit = reference + sign * margin
    ok = sign * (value - limit) <= EPS
    unit, margin_unit = ("%", " points") if metric.percent else ("", "")
    relation = ("<=" if ok else ">") if sign > 0 else (">=" if ok else "<")
    return _check(comparison, system, name, "PASS" if ok else "MISS",
                  f"{metric.title} {metric.format(value)}{unit} {relation} {metric.format(limit)}{unit} (the {role} "
                  f"copy-synthesised {metric.format(reference)}{unit} {'+' if sign > 0 else '-'} "
                  f"{metric.format(margin)}{margin_unit})")


def _probe(probe: Probe, t: Thresholds) -> Check:
    limit = t.probe_chance_factor * probe.chance
    ok = probe.code_accuracy <= limit + EPS
    return Check("PASS" if ok else "MISS", "latent probe", str(probe.path), "content codes",
                 f"speaker accuracy {probe.code_accuracy:.2f} {'<=' if ok else '>'} {limit:.2f} "
                 f"({t.probe_chance_factor:g} x chance {probe.chance:.2f})")


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f}%"
