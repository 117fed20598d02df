"""Build the corpus: plan who says what, synthesize speakers in parallel, write data dirs last.

Layout under the output directory::

    wav/<spk>/<utt>.wav   16-bit mono, trimmed and loudness-normalised
    nonparallel/          every speaker says utts_per_speaker sentences no one else says
    parallel/             every speaker says the same eval_utts sentences (for scoring)
    corpus.yaml           seed, speakers, counts, sample rate, synthesizer versions
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import yaml

from vc.audio.io import load_wav, save_wav
from vc.data.datadir import DataDir
from vc.data.synth.engines import PROGRAMS, check_available, engine_version, synthesize
from vc.data.synth.perturb import perturb
from vc.data.synth.postprocess import finish
from vc.data.synth.sentences import corpus_sentences
from vc.data.synth.roster import select_speakers
from vc.data.synth.voices import Speaker
from vc.errors import VCError
from vc.utils import atomic_write_text

Subset = Literal["nonparallel", "parallel"]
SUBSETS: tuple[Subset, ...] = ("nonparallel", "parallel")
# Everything a build writes; a rebuild removes exactly these (and its own temp dirs).
_OUTPUTS = ("corpus.yaml", *SUBSETS, "wav")
_TMP_PREFIX = ".synth-"


@dataclass(frozen=True)
class Utterance:
    utt_id: str
    speaker: Speaker
    text: str
    subset: Subset


@dataclass(frozen=True)
class CorpusSummary:
    out_dir: Path
    speakers: tuple[str, ...]
    nonparallel_utts: int
    parallel_utts: int
    seconds: float

    def __str__(self) -> str:
        total = self.nonparallel_utts + self.parallel_utts
        return (
            f"{self.out_dir}: {len(self.speakers)} speakers, {total} utterances "
            f"({self.nonparallel_utts} non-parallel + {self.parallel_utts} parallel), "
            f"{self.seconds / 60:.1f} min of audio"
        )


def build_corpus(
    out_dir: str | Path,
    *,
    num_speakers: int | None = None,
    voices: Sequence[str] | None = None,
    utts_per_speaker: int = 20,
    eval_utts: int = 5,
    seed: int = 0,
    text_file: str | Path | None = None,
    sample_rate: int = 16000,
    nj: int = 1,
) -> CorpusSummary:
    """Synthesize a multi-speaker corpus into ``out_dir``; see the module docstring for the layout.

    Speakers are the first ``num_speakers`` voices (default 4; the 14 canonical ones come
    first, then generated ones) or those named in ``voices``. Everything that can be checked
    (arguments, sentences, synthesizers and voices, the output directory) is checked before
    any audio is made, and the data dirs are written only after every utterance succeeded.
    """
    _check_numbers(utts_per_speaker=utts_per_speaker, eval_utts=eval_utts, sample_rate=sample_rate, nj=nj)
    speakers = select_speakers(num_speakers, voices)
    out_dir = Path(out_dir).resolve()
    _check_out_dir(out_dir)
    count = len(speakers) * utts_per_speaker + eval_utts
    need = f"{len(speakers)} speakers x {utts_per_speaker} utterances + {eval_utts} parallel"
    sentences = corpus_sentences(count, seed, text_file, need=need)
    plan = plan_utterances(speakers, sentences, utts_per_speaker, eval_utts)
    check_available(speakers)
    versions = {PROGRAMS[e]: engine_version(e) for e in dict.fromkeys(s.engine for s in speakers)}

    _remove_previous_build(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=_TMP_PREFIX, dir=out_dir) as raw_dir:
        seconds = _synthesize_all(plan, out_dir, Path(raw_dir), sample_rate, nj)

    counts = {subset: sum(u.subset == subset for u in plan) for subset in SUBSETS}
    meta = {
        "seed": seed,
        "sample_rate": sample_rate,
        "text": "grammar" if text_file is None else str(Path(text_file).resolve()),
        "utts_per_speaker": utts_per_speaker,
        "eval_utts": eval_utts,
        "speakers": [speaker.describe() for speaker in speakers],
        "counts": {"speakers": len(speakers), **counts},
        "seconds": round(sum(seconds.values()), 2),
        "synthesizers": versions,
    }
    atomic_write_text(out_dir / "corpus.yaml", yaml.safe_dump(meta, sort_keys=False))
    for subset in SUBSETS:
        _write_data_dir(out_dir, [u for u in plan if u.subset == subset], subset)
    return CorpusSummary(
        out_dir, tuple(s.id for s in speakers), counts["nonparallel"], counts["parallel"], sum(seconds.values())
    )


def plan_utterances(
    speakers: Sequence[Speaker], sentences: Sequence[str], utts_per_speaker: int, eval_utts: int
) -> list[Utterance]:
    """Who says what: the first ``eval_utts`` sentences by everyone, then a block for each speaker.

    Utterance ids start with the speaker id so utt and speaker sort orders agree (Kaldi);
    a parallel sentence has the same number for every speaker.
    """
    if len(sentences) < len(speakers) * utts_per_speaker + eval_utts:
        raise VCError(f"{len(sentences)} sentences are too few for this corpus")
    par_width = max(3, len(str(eval_utts)))
    width = max(4, len(str(utts_per_speaker)))
    plan = []
    for i, speaker in enumerate(speakers):
        own = sentences[eval_utts + i * utts_per_speaker : eval_utts + (i + 1) * utts_per_speaker]
        plan += [
            Utterance(f"{speaker.id}_{n:0{width}d}", speaker, text, "nonparallel") for n, text in enumerate(own, 1)
        ]
        plan += [
            Utterance(f"{speaker.id}_par{n:0{par_width}d}", speaker, text, "parallel")
            for n, text in enumerate(sentences[:eval_utts], 1)
        ]
    return plan


def wav_path(out_dir: Path, utt: Utterance) -> Path:
    return out_dir / "wav" / utt.speaker.id / f"{utt.utt_id}.wav"


def _synthesize_all(
    plan: list[Utterance], out_dir: Path, raw_dir: Path, sample_rate: int, nj: int
) -> dict[str, float]:
    """Synthesize each speaker in its own thread (the work happens in subprocesses).

    WORLD resynthesis of derived voices runs in a pool of ``nj`` worker processes: pyworld
    holds the GIL, so threads would take turns at it.
    """
    by_speaker: dict[Speaker, list[Utterance]] = {}
    for utt in plan:
        by_speaker.setdefault(utt.speaker, []).append(utt)
    seconds: dict[str, float] = {}
    perturbed = sum(speaker.perturbed for speaker in by_speaker)
    with ExitStack() as stack:
        world_pool: Executor | None = None
        if perturbed and nj > 1:
            world_pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=min(nj, perturbed), mp_context=multiprocessing.get_context("spawn"))
            )
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=min(nj, len(by_speaker))))
        futures = [
            pool.submit(_synthesize_speaker, speaker, utts, out_dir, raw_dir, sample_rate, world_pool)
            for speaker, utts in by_speaker.items()
        ]
        try:
            for future in futures:
                seconds.update(future.result())
        except BaseException:
            for future in futures:
                future.cancel()  # speakers not started yet; running ones finish their process
            raise
    return seconds


def _synthesize_speaker(
    speaker: Speaker,
    utts: list[Utterance],
    out_dir: Path,
    raw_dir: Path,
    sample_rate: int,
    world_pool: Executor | None = None,
) -> dict[str, float]:
    """Raw synthesis into ``raw_dir``, then the finished wavs; returns seconds per utterance.

    A derived speaker's audio is resynthesized by WORLD (in ``world_pool`` when given)
    before the same trimming and loudness normalisation as every other speaker's.
    """
    speaker_raw = raw_dir / speaker.id
    speaker_raw.mkdir()
    items = [(utt.text, speaker_raw / f"{utt.utt_id}.wav") for utt in utts]
    synthesize(speaker, items)
    wavs = [
        load_wav(raw, sample_rate, name=f"synthesized {utt.utt_id} ('{utt.text}')")[0]
        for utt, (_, raw) in zip(utts, items)
    ]
    if speaker.perturbed:
        wavs = _resynthesize(speaker, utts, wavs, sample_rate, world_pool)
    seconds = {}
    for utt, wav in zip(utts, wavs):
        wav = finish(wav, sample_rate)
        save_wav(wav_path(out_dir, utt), wav, sample_rate)
        seconds[utt.utt_id] = wav.size / sample_rate
    return seconds


def _resynthesize(
    speaker: Speaker, utts: list[Utterance], wavs: list[np.ndarray], sample_rate: int, pool: Executor | None
) -> list[np.ndarray]:
    """WORLD resynthesis with the speaker's F0 scale and envelope warp, one utterance per task."""
    f0_scale = 1.0 if speaker.f0_scale is None else speaker.f0_scale
    alpha = 0.0 if speaker.warp_alpha is None else speaker.warp_alpha
    futures = None if pool is None else [pool.submit(perturb, wav, sample_rate, f0_scale, alpha) for wav in wavs]
    out = []
    for i, (utt, wav) in enumerate(zip(utts, wavs)):
        try:
            out.append(perturb(wav, sample_rate, f0_scale, alpha) if futures is None else futures[i].result())
        except VCError as e:
            raise VCError(f"speaker {speaker.id}, {utt.utt_id}: {e}") from None
    return out


def _write_data_dir(out_dir: Path, utts: list[Utterance], subset: Subset) -> None:
    if not utts:
        return  # no parallel set asked for: an empty data dir would not validate
    DataDir(
        wav_scp={u.utt_id: str(wav_path(out_dir, u)) for u in utts},
        utt2spk={u.utt_id: u.speaker.id for u in utts},
        text={u.utt_id: u.text for u in utts},
    ).write(out_dir / subset)


def _check_numbers(**values: int) -> None:
    limits = {
        "utts_per_speaker": ("utterances per speaker (--utts)", 1),
        "eval_utts": ("parallel utterances (--eval-utts)", 0),
        "sample_rate": ("sample rate (--sample-rate)", 8000),
        "nj": ("number of jobs (--nj)", 1),
    }
    for name, value in values.items():
        label, minimum = limits[name]
        if value < minimum:
            raise VCError(f"{label} must be at least {minimum}, got {value}")


def _check_out_dir(out_dir: Path) -> None:
    """Refuse paths Kaldi cannot list in wav.scp, and directories holding someone else's files."""
    if len(str(out_dir).split()) != 1:
        raise VCError(f"{out_dir}: output path contains whitespace, which wav.scp cannot hold")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise VCError(f"{out_dir}: exists and is not a directory")
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in _OUTPUTS and not p.name.startswith("."))
    if foreign:
        raise VCError(
            f"{out_dir}: holds '{foreign[0]}', which 'vc corpus synth' did not write; use a new or empty directory"
        )


def _remove_previous_build(out_dir: Path) -> None:
    """Data dirs go first, so an interrupted rebuild never leaves a valid-looking old corpus."""
    if not out_dir.is_dir():
        return
    stale = [out_dir / name for name in _OUTPUTS] + sorted(out_dir.glob(_TMP_PREFIX + "*"))
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
