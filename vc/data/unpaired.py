"""Unpaired training data: random fixed-length segments of speakers' features, in memory.

Voice conversion without parallel data trains on random segments: CycleGAN-VC draws a
batch from each of two speakers independently, StarGAN-VC draws speaker-balanced batches
with a random target speaker. Both layouts share one core, :class:`SegmentSampler`:

* every usable utterance of the chosen speakers is read once, normalised (per-speaker
  statistics by default, as CycleGAN-VC does) and kept in one contiguous float32 array
  per speaker with utterance offsets;
* a segment is drawn by picking one of the speaker's valid segment starts uniformly,
  i.e. an utterance with probability proportional to its number of valid starts
  (cumulative weights + ``np.searchsorted``), then the offset inside it — nothing is
  reshuffled per item;
* utterances shorter than the segment are skipped (``short="skip"``, the default: a
  repeated utterance has an audible seam the discriminator can learn) or repeated to the
  segment length (``short="wrap"``, for corpora of very short utterances); skipped ones
  are counted per speaker.

Loaders are infinite: the trainer counts steps. Batch ``step`` is drawn from its own
generator, seeded by ``SeedSequence((seed, step))``, so after ``set_step(s)`` the batches
are those of steps s, s+1, ... whatever was drawn before — resuming is exact, and worker
processes (each producing the steps congruent to its id) give the same stream as none.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from vc.audio.stats import FeatureStats, StatsStore
from vc.data.dump import FeatureDump
from vc.errors import ConfigError, DataError

Normalize = Literal["speaker", "global", "none"]
Short = Literal["skip", "wrap"]
Batch = dict[str, torch.Tensor]

# Stream ids of the SeedSequence spawn key: training batches and fixed validation batches
# come from the same seed but never share random numbers.
_TRAIN_STREAM, _VALID_STREAM = 0, 1


@dataclass(frozen=True)
class SpeakerSegments:
    """One speaker's usable utterances, concatenated, and where segments may start."""

    name: str
    feats: np.ndarray  # float32 [frames, dim], normalised, C-contiguous
    utts: list[str]
    offsets: np.ndarray  # int64 [utts]: first frame of each utterance in ``feats``
    cum_starts: np.ndarray  # int64 [utts]: cumulative count of valid segment starts
    skipped: list[str]  # utterances too short for a segment (short="skip")

    @property
    def frames(self) -> int:
        return len(self.feats)


class SegmentSampler:
    """In-memory normalised features of some speakers, sampled as [n, dim, frames] segments."""

    def __init__(
        self,
        dump: FeatureDump | str | Path,
        stats: StatsStore | str | Path | None,
        speakers: list[str],
        segment_frames: int,
        *,
        normalize: Normalize = "speaker",
        short: Short = "skip",
    ) -> None:
        dump = dump if isinstance(dump, FeatureDump) else FeatureDump.open(dump)
        if segment_frames < 1:
            raise ConfigError(f"segment_frames: must be >= 1, got {segment_frames}")
        if short not in ("skip", "wrap"):
            raise ConfigError(f"short: must be 'skip' or 'wrap', got {short!r}")
        _check_speakers(dump, speakers)
        normalizers = _normalizers(dump, stats, speakers, normalize)
        self.segment_frames = segment_frames
        self.dim = dump.config.dim
        self.speakers = list(speakers)
        self.data = [_load_speaker(dump, spk, normalizers[spk], segment_frames, short) for spk in speakers]

    @property
    def frames(self) -> dict[str, int]:
        """Frames held in memory per speaker (wrapped utterances count at segment length)."""
        return {d.name: d.frames for d in self.data}

    @property
    def skipped(self) -> dict[str, list[str]]:
        return {d.name: d.skipped for d in self.data}

    def describe(self) -> str:
        """One line per speaker: utterances, frames and skipped utterances."""
        return "\n".join(
            f"{d.name}: {len(d.utts)} utterances, {d.frames} frames"
            + (f", {len(d.skipped)} skipped (shorter than {self.segment_frames} frames)" if d.skipped else "")
            for d in self.data
        )

    def sample(self, speaker: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random segments of speaker index ``speaker``: float32 [n, dim, segment_frames]."""
        d = self.data[speaker]
        start = rng.integers(0, d.cum_starts[-1], size=n)
        utt = np.searchsorted(d.cum_starts, start, side="right")
        before = np.where(utt > 0, d.cum_starts[utt - 1], 0)
        first = d.offsets[utt] + (start - before)
        frames = d.feats[first[:, None] + np.arange(self.segment_frames)]  # [n, T, dim]
        return np.ascontiguousarray(frames.transpose(0, 2, 1))


def _check_speakers(dump: FeatureDump, speakers: list[str]) -> None:
    if not speakers:
        raise ConfigError("speakers: at least one speaker is needed")
    if len(set(speakers)) != len(speakers):
        raise ConfigError(f"speakers: listed twice in {speakers}")
    known = sorted(set(dump.utt2spk.values()))
    for spk in speakers:
        if spk not in known:
            raise DataError(f"{dump.root}: unknown speaker {spk!r} (known: {', '.join(known) or 'none'})")


def _normalizers(
    dump: FeatureDump, stats: StatsStore | str | Path | None, speakers: list[str], normalize: Normalize
) -> dict[str, FeatureStats | None]:
    if normalize == "none":
        return {spk: None for spk in speakers}
    if normalize not in ("speaker", "global"):
        raise ConfigError(f"normalize: must be 'speaker', 'global' or 'none', got {normalize!r}")
    if stats is None:
        raise ConfigError(f"normalize: {normalize!r} needs statistics (run 'vc stats'), or use 'none'")
    store = stats if isinstance(stats, StatsStore) else StatsStore.load(stats)
    dump.config.require_same(store.config, f"{dump.root}: statistics do not belong to this dump")
    if normalize == "global":
        return {spk: store.global_ for spk in speakers}
    return {spk: store.speaker(spk) for spk in speakers}


def _load_speaker(
    dump: FeatureDump, spk: str, norm: FeatureStats | None, segment_frames: int, short: Short
) -> SpeakerSegments:
    chunks: list[np.ndarray] = []
    utts: list[str] = []
    skipped: list[str] = []
    for utt in dump.utts:
        if dump.utt2spk.get(utt) != spk:
            continue
        feats = dump[utt]
        if len(feats) < segment_frames:
            if short == "skip" or len(feats) == 0:
                skipped.append(utt)
                continue
            feats = np.pad(feats, ((0, segment_frames - len(feats)), (0, 0)), mode="wrap")
        chunks.append(np.asarray(norm.normalize(feats) if norm is not None else feats, dtype=np.float32))
        utts.append(utt)
    if not chunks:
        raise DataError(
            f"{dump.root}: speaker {spk!r} has no utterance of at least {segment_frames} frames "
            f"({len(skipped)} shorter ones skipped); lower segment_frames or use short='wrap'"
        )
    lengths = np.array([len(c) for c in chunks], dtype=np.int64)
    return SpeakerSegments(
        name=spk,
        feats=np.concatenate(chunks),
        utts=utts,
        offsets=np.concatenate([[0], np.cumsum(lengths)[:-1]]),
        cum_starts=np.cumsum(lengths - segment_frames + 1),
        skipped=skipped,
    )


def step_rng(seed: int, step: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence((seed, step), spawn_key=(stream,)))


class StepSeededLoader(ABC):
    """The step-seeded infinite stream shared by every segment loader; subclasses define ``_batch``.

    ``sampler`` supplies ``speakers`` and ``dim`` (a :class:`SegmentSampler` here, the
    audio sampler of :mod:`vc.data.audio` for vocoders).
    """

    def __init__(self, sampler: SegmentSampler, batch_size: int, seed: int, num_workers: int) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size: must be >= 1, got {batch_size}")
        if seed < 0:
            raise ConfigError(f"seed: must be >= 0, got {seed}")
        if num_workers < 0:
            raise ConfigError(f"num_workers: must be >= 0, got {num_workers}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.step = 0  # the step of the next batch this loader yields

    @property
    def speakers(self) -> list[str]:
        return self.sampler.speakers

    @property
    def dim(self) -> int:
        return self.sampler.dim

    @property
    def frames(self) -> dict[str, int]:
        return self.sampler.frames

    def set_step(self, step: int) -> None:
        """Make the next batch the one of ``step``, as a fresh loader's ``step``-th batch."""
        if step < 0:
            raise ConfigError(f"step: must be >= 0, got {step}")
        self.step = step

    def batch(self, step: int) -> Batch:
        """The training batch of ``step`` (a pure function of the seed and the step)."""
        return self._batch(step_rng(self.seed, step, _TRAIN_STREAM))

    def fixed_batches(self, n: int) -> list[Batch]:
        """``n`` validation batches: the same on every call, disjoint from the training stream."""
        return [self._batch(step_rng(self.seed, i, _VALID_STREAM)) for i in range(n)]

    def __iter__(self) -> Iterator[Batch]:
        batches = self._worker_batches() if self.num_workers else map(self.batch, itertools.count(self.step))
        for batch in batches:
            self.step += 1
            yield batch

    def _worker_batches(self) -> Iterator[Batch]:
        # DataLoader takes items from its workers round-robin, so worker w producing steps
        # start + w, start + w + num_workers, ... keeps the order of the single-process stream.
        steps = _Steps(self, self.step, self.num_workers)
        return iter(DataLoader(steps, batch_size=None, num_workers=self.num_workers,
                               multiprocessing_context=mp.get_context("fork")))  # workers share the arrays

    @abstractmethod
    def _batch(self, rng: np.random.Generator) -> Batch:
        """One batch drawn with ``rng`` (all of its randomness comes from there)."""


class _Steps(IterableDataset):
    """This worker's share of the steps from ``start``: those congruent to its id."""

    def __init__(self, loader: StepSeededLoader, start: int, num_workers: int) -> None:
        self.loader, self.start, self.num_workers = loader, start, num_workers

    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker = info.id if info is not None else 0
        return map(self.loader.batch, itertools.count(self.start + worker, self.num_workers))


class PairedSpeakersLoader(StepSeededLoader):
    """CycleGAN-VC batches: {"x": [B, dim, T] of ``source``, "y": [B, dim, T] of ``target``}.

    The two halves are drawn independently: unpaired, never aligned.
    """

    def __init__(
        self,
        dump: FeatureDump | str | Path,
        stats: StatsStore | str | Path | None,
        source: str,
        target: str,
        segment_frames: int,
        batch_size: int,
        seed: int = 0,
        *,
        normalize: Normalize = "speaker",
        short: Short = "skip",
        num_workers: int = 0,
    ) -> None:
        if source == target:
            raise ConfigError(f"source and target are the same speaker ({source!r})")
        sampler = SegmentSampler(dump, stats, [source, target], segment_frames, normalize=normalize, short=short)
        super().__init__(sampler, batch_size, seed, num_workers)

    def _batch(self, rng: np.random.Generator) -> Batch:
        return {"x": torch.from_numpy(self.sampler.sample(0, self.batch_size, rng)),
                "y": torch.from_numpy(self.sampler.sample(1, self.batch_size, rng))}


class MultiSpeakerLoader(StepSeededLoader):
    """StarGAN-VC batches: {"feats": [B, dim, T], "speaker": [B], "target": [B]}.

    ``speaker`` and ``target`` are long indices into ``speakers``; ``target`` is a uniformly
    drawn other speaker. Each batch is speaker-balanced: counts differ by at most one. With
    ``references`` the batch also has "ref" [B, dim, T]: another segment of each item's
    speaker, drawn independently (what a reference speaker encoder learns from).
    """

    def __init__(
        self,
        dump: FeatureDump | str | Path,
        stats: StatsStore | str | Path | None,
        speakers: list[str],
        segment_frames: int,
        batch_size: int,
        seed: int = 0,
        *,
        normalize: Normalize = "speaker",
        short: Short = "skip",
        num_workers: int = 0,
        references: bool = False,
    ) -> None:
        if len(speakers) < 2:
            raise ConfigError(f"speakers: need at least two to convert between, got {speakers}")
        sampler = SegmentSampler(dump, stats, speakers, segment_frames, normalize=normalize, short=short)
        super().__init__(sampler, batch_size, seed, num_workers)
        self.references = references

    def _batch(self, rng: np.random.Generator) -> Batch:
        n_spk = len(self.speakers)
        # Whole shuffled rounds of all speakers, cut to the batch: balanced within the batch.
        rounds = -(-self.batch_size // n_spk)
        speaker = np.concatenate([rng.permutation(n_spk) for _ in range(rounds)])[: self.batch_size]
        target = (speaker + rng.integers(1, n_spk, size=self.batch_size)) % n_spk
        batch = {"feats": torch.from_numpy(self._segments_of(speaker, rng)),
                 "speaker": torch.from_numpy(speaker.astype(np.int64)),
                 "target": torch.from_numpy(target.astype(np.int64))}
        if self.references:
            batch["ref"] = torch.from_numpy(self._segments_of(speaker, rng))
        return batch

    def _segments_of(self, speaker: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random segment of each speaker index in ``speaker``: [len(speaker), dim, T]."""
        feats = np.empty((len(speaker), self.dim, self.sampler.segment_frames), dtype=np.float32)
        for s in range(len(self.speakers)):
            rows = np.flatnonzero(speaker == s)
            feats[rows] = self.sampler.sample(s, len(rows), rng)
        return feats
