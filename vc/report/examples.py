"""The listening examples of a comparison: for each chosen sentence, the source recording,
every copy synthesis and system output in the comparison's row order, and the target
recording, loaded at one rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vc.audio.io import load_wav
from vc.data.datadir import load_utterance
from vc.errors import DataError, VCError
from vc.report.compare import Comparison
from vc.report.results import Result

SAMPLE_RATE = 16000  # the evaluators' rate; the page's players and spectrograms use it too


@dataclass
class ExampleRow:
    label: str  # the result's label; the page marks the kind beside it
    kind: str  # the result's kind (vc.evaluate.kinds)
    wav: np.ndarray
    hyp: str | None  # ASR hypothesis, when the result has one


@dataclass
class Example:
    utt: str
    target_utt: str
    text: str | None  # the transcript, when the data dir has one
    rows: list[ExampleRow]


def load_examples(comparison: Comparison, count: int) -> list[Example]:
    """The first ``count`` sentences (by utt id) that every result of the comparison scored."""
    source_ref = _first(comparison, "source")
    target_ref = _first(comparison, "target")
    data = comparison.results[0].data
    examples = []
    for utt in comparison.examples(count):
        target_utt = comparison.results[0].score(utt).target_utt  # type: ignore[union-attr]
        rows = [ExampleRow(source_ref.label if source_ref else "source recording", "source",
                           _from_data(source_ref or comparison.results[0], utt), _hyp(source_ref, utt))]
        for result in comparison.results:
            if result.kind not in ("source", "target"):  # converted or copy-synthesised: a wav of its own
                rows.append(ExampleRow(result.label, result.kind, _scored_wav(result, utt), _hyp(result, utt)))
        rows.append(ExampleRow(target_ref.label if target_ref else "target recording", "target",
                               _from_data(target_ref or comparison.results[0], target_utt), _hyp(target_ref, utt)))
        text = data.text.get(utt) if data.text is not None else None
        examples.append(Example(utt, target_utt, text, rows))
    return examples


def _first(comparison: Comparison, kind: str) -> Result | None:
    return next((r for r in comparison.results if r.kind == kind), None)


def _hyp(result: Result | None, utt: str) -> str | None:
    score = result.score(utt) if result is not None else None
    return score.hyp if score is not None and score.hyp else None


def _from_data(result: Result, utt: str) -> np.ndarray:
    try:
        return load_utterance(result.data, utt, SAMPLE_RATE)
    except VCError as e:
        raise DataError(f"{result.path}: {e}") from None


def _scored_wav(result: Result, utt: str) -> np.ndarray:
    wav = result.score(utt).wav  # type: ignore[union-attr]
    try:
        return load_wav(wav, SAMPLE_RATE, name=wav)[0]
    except VCError as e:
        raise DataError(f"{result.path}/scores.csv: utterance {utt}: {e}") from None
