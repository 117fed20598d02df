"""Score a model's translations (``vc image evaluate``): results.json and the summary table.

Each direction is scored twice on the same test images: the translations, and the
untranslated source images (the baseline translation must beat). The target domain's own
real test images are scored too: what the classifiers reach on the real thing (an upper
bound, and a check of the classifiers). The table has one row group per target domain;
a multi-domain model's directions into one target are pooled (image-weighted means).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vc.errors import ConfigError, DataError
from vc.image.classifier import STEPS, ImageClassifier, content_classifier, domain_classifier
from vc.image.imageset import ImageSet, imageset_path
from vc.image.metrics import content_accuracy, domain_rate, l1, ssim
from vc.image.translate import Translations
from vc.utils import atomic_write_text

RESULTS = "results.json"
METRICS = ("domain_rate", "content_acc", "l1", "ssim")
HEADERS = {"domain_rate": "domain rate (target)", "content_acc": "content acc.", "l1": "L1", "ssim": "SSIM"}
MISSING = "-"

Scores = dict[str, Any]  # n and each of METRICS (None where undefined)


def evaluate_translations(translated: str | Path, out: str | Path, data: str | Path | None = None,
                          label: str | None = None, seed: int = 0, steps: int = STEPS,
                          cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Score every direction in ``translated`` (a `vc image translate` output); write ``out``/results.json."""
    t = Translations.read(translated)
    data = Path(data if data is not None else t.data)
    cache = Path(cache_dir) if cache_dir is not None else Path(out) / "classifiers"
    domain_clf = domain_classifier([ImageSet.load(imageset_path(data, "valid", d)) for d in t.domains],
                                   seed, steps, cache)
    content_clfs: dict[str, ImageClassifier] = {}
    directions = []
    for d in t.directions:
        if d.target not in content_clfs:
            content_clfs[d.target] = content_classifier(ImageSet.load(imageset_path(data, "train", d.target)),
                                                        seed, steps, cache)
        source = ImageSet.load(imageset_path(data, t.split, d.source))
        translated_set = ImageSet.load(t.path(translated, d))
        if len(translated_set) != len(source) or not np.array_equal(translated_set.labels, source.labels):
            raise DataError(f"{t.path(translated, d)}: does not match {imageset_path(data, t.split, d.source)} "
                            "(translated from other images: translate again)")
        judges = (domain_clf, content_clfs[d.target])
        directions.append({
            "source": d.source, "target": d.target, "n": len(source),
            "source_images": _score(source.images, d.target, source.labels, translated_set.targets, *judges),
            "translated": _score(translated_set.images, d.target, source.labels, translated_set.targets, *judges)})
    targets = {}
    for target, clf in content_clfs.items():
        real = ImageSet.load(imageset_path(data, t.split, target))
        targets[target] = _score(real.images, target, real.labels, None, domain_clf, clf)
    results = {
        "label": label or Path(t.model).name, "model": t.model, "step": t.step, "using_ema": t.using_ema,
        "data": str(data), "split": t.split, "translated": str(translated), "domains": t.domains,
        "classifiers": {"seed": seed, "steps": steps, "domain": domain_clf.fingerprint,
                        "content": {k: c.fingerprint for k, c in content_clfs.items()}},
        "directions": directions, "targets": targets,
    }
    atomic_write_text(Path(out) / RESULTS, json.dumps(results, indent=2) + "\n")
    return results


def _score(images: np.ndarray, target: str, labels: np.ndarray, targets: np.ndarray | None,
           domain_clf: ImageClassifier, content_clf: ImageClassifier) -> Scores:
    """Scores of ``images`` meant to be ``target``-domain images showing ``labels`` (and equal to ``targets``)."""
    paired = targets is not None
    return {"n": len(images), "domain_rate": domain_rate(domain_clf, images, target),
            "content_acc": content_accuracy(content_clf, images, labels),
            "l1": l1(images, targets) if paired else None, "ssim": ssim(images, targets) if paired else None}


def load_results(result_dir: str | Path) -> dict[str, Any]:
    path = Path(result_dir) / RESULTS
    if not path.is_file():
        raise DataError(f"{path}: not found (score the translations with 'vc image evaluate' first)")
    try:
        results = json.loads(path.read_text())
    except ValueError as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    missing = [k for k in ("label", "data", "split", "directions", "targets", "classifiers")
               if not isinstance(results, dict) or k not in results]
    if missing:
        raise DataError(f"{path}: not written by 'vc image evaluate' (no {missing[0]!r})")
    return results


# ---- the table ------------------------------------------------------------------------------


@dataclass
class Row:
    direction: str  # "fashion->edges"; "*->stix" pools a multi-domain model's sources
    images: str  # "source", "translated" (or the system's label), "target (real)"
    scores: Scores


@dataclass
class Block:
    title: str  # the data dir, split and domains every row of it was scored on
    rows: list[Row]


def table_blocks(results: list[dict[str, Any]]) -> list[Block]:
    """Rows of one or more systems' results, one block per data dir, split and set of domains: per
    target domain, the untranslated source, each system's translations, then the real target images."""
    by_data: dict[tuple[str, str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for r in results:
        by_data.setdefault((r["data"], r["split"], tuple(r["domains"])), []).append(r)
    blocks = []
    several = len(results) > 1  # then a translated row is named by its system
    for (data, split, domains), group in by_data.items():
        _check_same_classifiers(group)
        rows = []
        for target, directions in _by_target(group[0]).items():
            label = directions[0]["source"] + "->" + target if len(directions) == 1 else f"*->{target}"
            rows.append(Row(label, "source", _pool(d["source_images"] for d in directions)))
            for r in group:
                name = r["label"] if several else "translated"
                rows.append(Row(label, name, _pool(d["translated"] for d in _by_target(r)[target])))
            rows.append(Row(label, "target (real)", group[0]["targets"][target]))
        blocks.append(Block(f"{data} ({split} split; domains {', '.join(domains)})", rows))
    return blocks


def format_table(results: list[dict[str, Any]]) -> str:
    """The plain-text table: columns lined up across blocks; L1/SSIM only where the test set is paired."""
    blocks = table_blocks(results)
    metrics = present_metrics([row for b in blocks for row in b.rows])
    head = ["direction", "images", *(HEADERS[m] for m in metrics)]
    cells = [[[row.direction, row.images, *(format_score(row.scores.get(m)) for m in metrics)] for row in b.rows]
             for b in blocks]
    widths = [max(len(c[j]) for c in [head, *(line for lines in cells for line in lines)]) for j in range(len(head))]

    def line(parts: list[str]) -> str:
        return "   ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip()

    return "\n\n".join("\n".join([b.title, line(head), *(line(c) for c in lines)]) for b, lines in zip(blocks, cells))


def present_metrics(rows: list[Row]) -> list[str]:
    return [m for m in METRICS if any(row.scores.get(m) is not None for row in rows)]


def format_score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.2f}"


def _by_target(results: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Directions grouped by target domain: a pair's in their order (x->y first), N domains' in domain order."""
    domains = results["domains"]
    grouped: dict[str, list[dict[str, Any]]] = {
        t: [] for t in (domains if len(domains) > 2 else [d["target"] for d in results["directions"]])}
    for d in results["directions"]:
        grouped[d["target"]].append(d)
    return grouped


def _pool(scores: Iterable[Scores]) -> Scores:
    """Image-weighted means of several directions' scores (one direction: its own)."""
    scores = list(scores)
    n = sum(s["n"] for s in scores)
    pooled: Scores = {"n": n}
    for m in METRICS:
        values = [s[m] for s in scores]
        pooled[m] = None if None in values else sum(v * s["n"] for v, s in zip(values, scores)) / n
    return pooled


def _check_same_classifiers(group: list[dict[str, Any]]) -> None:
    """One table shares its source and target rows, so its systems must be scored by the same classifiers."""
    first = group[0]
    for r in group[1:]:
        if any(r["classifiers"][k] != first["classifiers"][k] for k in ("domain", "content")):
            raise ConfigError(f"{r['label']} and {first['label']} were scored by differently trained "
                              "classifiers; evaluate them with the same --seed and --classifier-steps")
