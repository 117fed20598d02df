"""Score a set of utterances against the target speaker's parallel recordings.

What is scored is a converted set (``vc convert``'s wav.scp) or a reference: the data dir's
own recordings of the source (unconverted: what conversion should improve on) or of the
target (the best any system could do), or those recordings copy-synthesised through a
vocoder (``vc vocode --data``: the vocoder bound, what a system could reach with that
vocoder if its features were perfect). Converted utterances keep their source ids
(``<src>_par001``); the target's recording of the same sentence is the data dir utterance
with the same suffix (``<tgt>_par001``), as the synthetic corpus and the parallel eval sets
of the real recipes name them.

A non-parallel eval set (``parallel=False``: corpora whose speakers never read the same
sentence) has no such recording. There each source utterance is paired, in sorted order, with
one of the target's recordings of another sentence (the row the target references score);
the spectral metrics (MCD, F0), which need the same sentence, are refused, speaker similarity
leaves out only the two recordings of the item, and word error is measured against given
transcripts (``transcripts``: for example the ASR's reading of the source's copy synthesis,
``vc evaluate transcribe``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from vc.audio.io import load_wav
from vc.data.datadir import DataDir, load_utterance
from vc.errors import ConfigError, DataError
from vc.evaluate.kinds import REFERENCES, Kind
from vc.evaluate.metrics import GROUPS, METRICS
from vc.utils import atomic_write_text

SAMPLE_RATE = 16000  # every evaluator's rate


SPECTRAL_GROUPS = ("mcd", "f0")  # need the target's recording of the same sentence


@dataclass(frozen=True)
class Item:
    utt: str  # the source utterance (a converted output keeps its id)
    src: str
    target_utt: str  # the target's recording of the same sentence (non-parallel: of the paired one)
    wav: str  # what is scored: a converted or copy-synthesised wav's path, or the data dir's wav.scp entry


@dataclass
class EvalSet:
    kind: Kind
    data: DataDir
    tgt: str
    items: list[Item]
    parallel: bool = True
    transcripts: dict[str, str] | None = None  # utt -> reference text for word error; None: the data dir's

    @property
    def sources(self) -> list[str]:
        return sorted({item.src for item in self.items})

    def spoken_utt(self, item: Item) -> str:
        """The data dir utterance whose words ``item``'s wav says: the target's for target rows."""
        return item.target_utt if self.kind in ("target", "copysynth-target") else item.utt

    def excluded(self, item: Item) -> frozenset[str]:
        """Recordings left out of the speaker representations when ``item`` is scored: every
        recording of its sentence (parallel), or its own two recordings (non-parallel)."""
        if not self.parallel:
            return frozenset((item.utt, item.target_utt))
        sentence = sentence_of(item.utt, item.src)
        return frozenset(u for u, spk in self.data.utt2spk.items() if sentence_of(u, spk) == sentence)

    def load(self, item: Item) -> np.ndarray:
        if self.kind == "source":
            return load_utterance(self.data, item.utt, SAMPLE_RATE)
        if self.kind == "target":
            return load_utterance(self.data, item.target_utt, SAMPLE_RATE)
        return load_wav(item.wav, SAMPLE_RATE, name=f"{self.kind} {item.utt} ({item.wav})")[0]

    def load_target(self, item: Item) -> np.ndarray:
        return load_utterance(self.data, item.target_utt, SAMPLE_RATE)


def sentence_of(utt: str, spk: str) -> str:
    """The sentence part of a parallel utterance id: ``espeak_f1_par003`` -> ``_par003``."""
    return utt[len(spk):] if utt.startswith(spk) else utt


def _check_speaker(data: DataDir, spk: str, role: str) -> None:
    if spk not in data.speakers:
        raise DataError(f"unknown {role} speaker {spk!r} (the data dir has: {', '.join(data.speakers)})")


def _target_utt(data: DataDir, utt: str, src: str, tgt: str) -> str:
    target_utt = tgt + utt[len(src):]
    if target_utt not in data.utt2spk:
        raise DataError(f"no parallel recording {target_utt!r} of {tgt!r} for utterance {utt!r} (a non-parallel "
                        "eval set: --nonparallel)")
    return target_utt


def paired_recordings(data: DataDir, src: str, tgt: str) -> dict[str, str]:
    """Non-parallel pairing: ``src``'s recordings, sorted, each with ``tgt``'s in sorted order
    (cycling when ``tgt`` has fewer); the two speakers must differ."""
    if src == tgt:
        raise DataError(f"source and target are both {src!r}")
    targets = sorted(data.spk2utt[tgt])
    return {utt: targets[i % len(targets)] for i, utt in enumerate(sorted(data.spk2utt[src]))}


def converted_set(converted: dict[str, str], data: DataDir, tgt: str, parallel: bool = True) -> EvalSet:
    """The converted utterances (utt -> wav path) with their targets' recordings."""
    _check_speaker(data, tgt, "target")
    if not converted:
        raise DataError("the converted set lists no utterances")
    items = []
    pairs: dict[str, dict[str, str]] = {}  # non-parallel: each source's pairing, made once
    for utt, path in sorted(converted.items()):
        src = data.utt2spk.get(utt)
        if src is None:
            raise DataError(f"converted utterance {utt!r} is not in the data dir")
        if parallel:
            target_utt = _target_utt(data, utt, src, tgt)
        else:
            if src not in pairs:
                pairs[src] = paired_recordings(data, src, tgt)
            target_utt = pairs[src][utt]
        items.append(Item(utt, src, target_utt, path))
    return EvalSet("converted", data, tgt, items, parallel)


def reference_set(kind: Kind, data: DataDir, src: str, tgt: str, copysynth: dict[str, str] | None = None,
                  parallel: bool = True) -> EvalSet:
    """``src``'s sentences that ``tgt`` also recorded (non-parallel: all of ``src``'s, paired),
    scored as the source's or the target's recording (``kind`` source, target) or as its copy
    synthesis (copysynth-source, copysynth-target), which ``copysynth`` maps from the
    recording's utterance id to a wav."""
    if kind not in REFERENCES:
        raise ConfigError(f"unknown reference {kind!r} (choose from {', '.join(REFERENCES)})")
    if (copysynth is None) == kind.startswith("copysynth-"):
        raise ConfigError(f"reference {kind}: the copy-synthesised wavs go with copysynth-source and "
                          "copysynth-target only, and those need them")
    _check_speaker(data, src, "source")
    _check_speaker(data, tgt, "target")
    if parallel:
        pairs = {utt: tgt + utt[len(src):] for utt in data.spk2utt[src] if tgt + utt[len(src):] in data.utt2spk}
        if not pairs:
            raise DataError(f"{src!r} and {tgt!r} share no parallel sentences in the data dir (expected ids "
                            f"{src}<suffix> and {tgt}<suffix>; a non-parallel eval set: --nonparallel)")
    else:
        pairs = paired_recordings(data, src, tgt)
    items = [Item(utt, src, target_utt, data.wav_scp.get(utt, "")) for utt, target_utt in pairs.items()]
    if kind.endswith("target"):
        items = [replace(i, wav=data.wav_scp.get(i.target_utt, "")) for i in items]
    if copysynth is not None:
        items = [replace(i, wav=_copy_of(copysynth, i.target_utt if kind.endswith("target") else i.utt))
                 for i in items]
    return EvalSet(kind, data, tgt, items, parallel)


def _copy_of(copysynth: dict[str, str], utt: str) -> str:
    if utt not in copysynth:
        raise DataError(f"the copy synthesis lists no {utt!r} (copy-synthesise the whole data dir: "
                        "vc vocode --data DATA_DIR)")
    return copysynth[utt]


@dataclass
class UttResult:
    item: Item
    values: dict[str, float] = field(default_factory=dict)  # metric key -> value (NaN: undefined)
    nearest_spk: str | None = None
    hyp: str | None = None
    errors: object | None = None  # asr.Errors, for the pooled WER/CER


def check_groups(groups: list[str]) -> list[str]:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ConfigError(f"--metrics: unknown {', '.join(unknown)} (choose from {', '.join(GROUPS)})")
    if not groups:
        raise ConfigError("--metrics: name at least one of " + ", ".join(GROUPS))
    return [g for g in GROUPS if g in groups]  # registry order


def evaluate(eval_set: EvalSet, groups: list[str], progress: Callable[[str], None] = lambda _: None,
             cache_dir: Path | None = None) -> list[UttResult]:
    """Every item's scores for the chosen metric groups (mcd, f0, speaker, asr, mos).
    ``cache_dir`` keeps the speaker embeddings of the data dir between runs."""
    groups = check_groups(groups)
    spectral = [g for g in groups if g in SPECTRAL_GROUPS]
    if spectral and not eval_set.parallel:
        raise ConfigError(f"--metrics {','.join(spectral)}: need the target's recording of the same sentence, which "
                          f"a non-parallel eval set has not; choose from "
                          f"{', '.join(g for g in GROUPS if g not in SPECTRAL_GROUPS)}")
    scorers = [_SCORERS[g](eval_set, cache_dir) for g in groups if g in _SCORERS]
    results = []
    for k, item in enumerate(eval_set.items, 1):
        wav = eval_set.load(item)
        result = UttResult(item)
        if spectral:
            _score_spectral(result, wav, eval_set.load_target(item), groups)
        for scorer in scorers:
            scorer(result, wav)
        results.append(result)
        progress(f"{k}/{len(eval_set.items)} {item.utt}")
    return results


def _score_spectral(result: UttResult, wav: np.ndarray, target: np.ndarray, groups: list[str]) -> None:
    """MCD and F0 on one WORLD analysis and one DTW path."""
    from vc.audio.world import analyze
    from vc.evaluate.f0 import f0_scores
    from vc.evaluate.mcd import SCORING_CONFIG, mcd_dtw_path

    ref, test = analyze(target, SCORING_CONFIG), analyze(wav, SCORING_CONFIG)
    mcd, ia, ib = mcd_dtw_path(ref.mcep, test.mcep)
    if "mcd" in groups:
        result.values["mcd_db"] = mcd
    if "f0" in groups:
        f0 = f0_scores(ref.f0, test.f0, ia, ib)
        result.values.update(f0_rmse_hz=f0.rmse_hz, f0_corr=f0.corr, vuv_error=f0.vuv_error)


def _speaker_scorer(eval_set: EvalSet, cache_dir: Path | None) -> Callable[[UttResult, np.ndarray], None]:
    from vc.evaluate.speaker import SpeakerSimilarity

    similarity = SpeakerSimilarity(eval_set.data, cache_dir)

    def score(result: UttResult, wav: np.ndarray) -> None:
        s = similarity.score(wav, eval_set.excluded(result.item), result.item.src, eval_set.tgt)
        result.values.update(sim_target=s.sim_target, sim_source=s.sim_source,
                             nearest_correct=float(s.nearest_spk == eval_set.tgt))
        result.nearest_spk = s.nearest_spk

    return score


def _asr_scorer(eval_set: EvalSet, _: Path | None) -> Callable[[UttResult, np.ndarray], None]:
    from vc.evaluate.asr import Recognizer, error_counts, normalize_text

    text = eval_set.transcripts if eval_set.transcripts is not None else eval_set.data.text
    where = "the given transcripts" if eval_set.transcripts is not None else "the data dir's text"
    if text is None:
        raise DataError("the data dir has no 'text' file: word error (--metrics asr) needs the transcripts "
                        "(or --text FILE)")
    for item in eval_set.items:
        if eval_set.spoken_utt(item) not in text:
            raise DataError(f"{where} has no transcript for {eval_set.spoken_utt(item)!r}, which word error needs")
    recognizer = Recognizer()

    def score(result: UttResult, wav: np.ndarray) -> None:
        result.hyp = recognizer.transcribe(wav)
        reference = text[eval_set.spoken_utt(result.item)]
        if not normalize_text(reference):
            # An ASR reference that read no word (non-parallel transcripts): nothing to score against.
            result.values.update(wer=math.nan, cer=math.nan)
            return
        result.errors = errors = error_counts(reference, result.hyp)
        result.values.update(wer=errors.wer, cer=errors.cer)

    return score


def _mos_scorer(eval_set: EvalSet, _: Path | None) -> Callable[[UttResult, np.ndarray], None]:
    from vc.evaluate.mos import MosPredictor

    predictor = MosPredictor()

    def score(result: UttResult, wav: np.ndarray) -> None:
        m = predictor.predict(wav)
        result.values.update(dnsmos_ovrl=m.ovrl, dnsmos_sig=m.sig, dnsmos_bak=m.bak, dnsmos_p808=m.p808)

    return score


_SCORERS = {"speaker": _speaker_scorer, "asr": _asr_scorer, "mos": _mos_scorer}


def mean_ci95(values: list[float]) -> tuple[float, float, int]:
    """Mean, the half-width of its normal-approximation 95% confidence interval, and n, over
    the defined (non-NaN) values."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return float("nan"), float("nan"), 0
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(half), len(x)


def summarize(results: list[UttResult]) -> dict[str, dict[str, float]]:
    """Per metric: mean, ci95 and n over utterances; for WER/CER also the pooled rate
    (all edits over all reference words or characters), as ASR papers report it."""
    summary: dict[str, dict[str, float]] = {}
    for metric in METRICS:
        if results and metric.key in results[0].values:
            mean, ci, n = mean_ci95([r.values[metric.key] for r in results])
            summary[metric.key] = {"mean": mean, "ci95": ci, "n": n}
    errors = [r.errors for r in results if r.errors is not None]
    if "wer" in summary and errors:
        summary["wer"]["pooled"] = sum(e.word_edits for e in errors) / sum(e.words for e in errors)
        summary["cer"]["pooled"] = sum(e.char_edits for e in errors) / sum(e.chars for e in errors)
    return summary


def write_results(results: list[UttResult], out: Path, meta: dict[str, object]) -> dict[str, object]:
    """out/scores.csv (one row per utterance) and out/summary.json (``meta`` plus the metrics)."""
    keys = [m.key for m in METRICS if results and m.key in results[0].values]
    extras = [name for name in ("nearest_spk", "hyp") if results and getattr(results[0], name) is not None]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["utt", "target_utt", "wav", *keys, *extras])
    for r in results:
        writer.writerow([r.item.utt, r.item.target_utt, r.item.wav, *(_cell(r.values[k]) for k in keys),
                         *(getattr(r, name) for name in extras)])
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "scores.csv", buffer.getvalue())
    summary = {**meta, "metrics": summarize(results)}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.6g}"
