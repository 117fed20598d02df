"""Read and check one result directory of `vc evaluate`: summary.json and scores.csv.

Every problem is one DataError naming the file (and line or key) and what is wrong, so a
report is never rendered from half-understood input.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vc.data.datadir import DataDir
from vc.errors import DataError
from vc.evaluate.kinds import KINDS, Kind
from vc.evaluate.metrics import METRIC_BY_KEY

SCORE_COLUMNS = ("utt", "target_utt", "wav")  # the columns every scores.csv starts with


@dataclass(frozen=True)
class Summary:
    """One metric over a result's utterances; NaN where undefined (e.g. ci95 with n == 1)."""

    mean: float
    ci95: float
    n: int
    pooled: float | None = None  # WER/CER over all words/characters, when written


@dataclass(frozen=True)
class Score:
    """One row of scores.csv."""

    utt: str  # the source utterance id
    target_utt: str  # the target's recording of the same sentence (non-parallel: of another one)
    wav: str  # what was scored: the converted wav, or the reference's wav.scp entry
    values: dict[str, float]  # metric key -> value; a metric left empty in the row is absent
    hyp: str | None = None  # ASR hypothesis
    nearest_spk: str | None = None


@dataclass
class Result:
    path: Path  # the result dir
    label: str
    kind: Kind
    src_spk: str
    tgt_spk: str
    data_path: Path
    data: DataDir
    model: Path | None
    vocoder: str | None
    metrics: dict[str, Summary]  # registry keys only, in the file's order
    scores: list[Score] = field(default_factory=list)
    oneshot: bool = False  # a converted set whose target was unseen in training
    parallel: bool = True  # the target's rows say the same sentences (false: a non-parallel eval set)

    @property
    def comparison(self) -> tuple[str, str]:
        return self.src_spk, self.tgt_spk

    def score(self, utt: str) -> Score | None:
        return self._by_utt.get(utt)

    def __post_init__(self) -> None:
        self._by_utt = {s.utt: s for s in self.scores}


def load_results(paths: list[str | Path]) -> list[Result]:
    """Every result dir in command-line order; the same dir twice is an error."""
    seen: dict[Path, str] = {}
    results = []
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise DataError(f"{path}: given twice (also as {seen[resolved]})")
        seen[resolved] = str(path)
        results.append(load_result(path))
    return results


def load_result(path: str | Path) -> Result:
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a result directory (it does not exist)" if not root.exists()
                        else f"{root}: not a result directory (a file)")
    summary_path = root / "summary.json"
    doc = _read_json(summary_path)
    where = str(summary_path)
    label = _string(doc, "label", where)
    kind = _string(doc, "kind", where)
    if kind not in KINDS:
        raise DataError(f"{where}: \"kind\" is {kind!r}; expected one of {', '.join(KINDS)}")
    src_spk, tgt_spk = _string(doc, "src_spk", where), _string(doc, "tgt_spk", where)
    data_path = Path(_string(doc, "data", where))
    model = _optional_string(doc, "model", where)
    vocoder = _optional_string(doc, "vocoder", where)
    oneshot = doc.get("oneshot", False)
    if not isinstance(oneshot, bool):
        raise DataError(f"{where}: \"oneshot\" must be true or false, found {oneshot!r}")
    parallel = doc.get("parallel", True)  # summaries older than non-parallel evaluation were parallel
    if not isinstance(parallel, bool):
        raise DataError(f"{where}: \"parallel\" must be true or false, found {parallel!r}")
    metrics = _read_metrics(doc.get("metrics"), where)
    scores = read_scores(root / "scores.csv")
    data = _read_data(data_path, where)
    return Result(root, label, kind, src_spk, tgt_spk, data_path, data,  # type: ignore[arg-type]
                  Path(model) if model is not None else None, vocoder, metrics, scores, oneshot, parallel)


def read_scores(path: Path) -> list[Score]:
    """scores.csv rows; metric columns not in the registry are ignored (a newer evaluator's)."""
    if not path.is_file():
        raise DataError(f"{path}: missing (a result dir needs summary.json and scores.csv)")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: unreadable ({e})") from None
    if not rows:
        raise DataError(f"{path}: empty (no header line)")
    header = rows[0]
    missing = [c for c in SCORE_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: header lacks column {', '.join(repr(c) for c in missing)} "
                        f"(expected {','.join(SCORE_COLUMNS)},<metrics...>)")
    col = {name: i for i, name in enumerate(header)}
    metric_cols = [name for name in header if name in METRIC_BY_KEY]
    scores: list[Score] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], 2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
        utt = row[col["utt"]]
        if not utt:
            raise DataError(f"{path}:{line}: empty 'utt'")
        if utt in seen:
            raise DataError(f"{path}:{line}: utterance {utt!r} listed twice")
        seen.add(utt)
        values = {}
        for key in metric_cols:
            cell = row[col[key]].strip()
            if cell:
                try:
                    values[key] = float(cell)
                except ValueError:
                    raise DataError(f"{path}:{line}: {key} is not a number: {cell!r}") from None
        scores.append(Score(utt, row[col["target_utt"]], row[col["wav"]], values,
                            hyp=row[col["hyp"]] if "hyp" in col else None,
                            nearest_spk=row[col["nearest_spk"]] or None if "nearest_spk" in col else None))
    if not scores:
        raise DataError(f"{path}: no utterances (only a header)")
    return scores


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(f"{path}: missing (a result dir needs summary.json and scores.csv)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: unreadable ({e})") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object, found {type(doc).__name__}")
    return doc


def _string(doc: dict[str, Any], key: str, where: str) -> str:
    if key not in doc:
        raise DataError(f"{where}: missing key \"{key}\"")
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise DataError(f"{where}: \"{key}\" must be a non-empty string, found {value!r}")
    return value


def _optional_string(doc: dict[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: \"{key}\" must be a string or null, found {value!r}")
    return value or None


def _number(value: Any, where: str) -> float:
    # null stands for NaN: strict JSON writers cannot write NaN.
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(f"{where} must be a number, found {value!r}")
    return float(value)


def _read_metrics(metrics: Any, where: str) -> dict[str, Summary]:
    if not isinstance(metrics, dict):
        raise DataError(f"{where}: \"metrics\" must be an object of metric key -> {{mean, ci95, n}}")
    out = {}
    for key, entry in metrics.items():
        if key not in METRIC_BY_KEY:
            continue  # not a registry metric (e.g. an older evaluator's extra): nothing to show it with
        at = f"{where}: metrics.{key}"
        if not isinstance(entry, dict) or "mean" not in entry:
            raise DataError(f"{at} must be an object with \"mean\", \"ci95\" and \"n\"")
        n = entry.get("n", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DataError(f"{at}.n must be a count, found {n!r}")
        pooled = entry.get("pooled")
        out[key] = Summary(_number(entry["mean"], f"{at}.mean"), _number(entry.get("ci95"), f"{at}.ci95"), n,
                           None if pooled is None else _number(pooled, f"{at}.pooled"))
    return out


def _read_data(data_path: Path, where: str) -> DataDir:
    if not data_path.is_dir():
        state = "does not exist" if not data_path.exists() else "is not a directory"
        raise DataError(f"{where}: data dir {data_path} {state} (moved or deleted since the evaluation?)")
    try:
        return DataDir.read(data_path)
    except DataError as e:
        raise DataError(f"{where}: data dir: {e}") from None
