"""Whole transcribed utterances for the phone recogniser: features and phone ids, padded.

CTC needs an utterance's whole phone sequence, so unlike the conversion loaders' random
segments these batches hold whole utterances (at most ``max_frames`` each). Longer ones,
and validation utterances with a phone the training set never had, are skipped and counted
(`vc evaluate phones` scores every utterance). Batches are drawn speaker-balanced, so a corpus with many voices
weighs them equally, from the same step-seeded stream as every loader (exact resume).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vc.audio.stats import StatsStore
from vc.data.dump import FeatureDump
from vc.data.phones import phone_classes
from vc.data.unpaired import Batch, Normalize, StepSeededLoader, _normalizers
from vc.errors import ConfigError, DataError



class TranscribedUtterances:
    """Every usable utterance of a dump, normalised, with its phones as class ids."""

    def __init__(self, dump: FeatureDump | str | Path, stats: StatsStore | str | Path | None,
                 inventory: list[str], max_frames: int, normalize: Normalize = "global") -> None:
        dump = dump if isinstance(dump, FeatureDump) else FeatureDump.open(dump)
        if max_frames < 1:
            raise ConfigError(f"segment_frames (the longest utterance, in frames): must be >= 1, got {max_frames}")
        phones = dump.phones()
        index = phone_classes(inventory)
        self.speakers = sorted(set(dump.utt2spk.values()))
        normalizers = _normalizers(dump, stats, self.speakers, normalize)
        self.dim = dump.config.dim
        self.feats: list[np.ndarray] = []  # [frames, dim] each
        self.labels: list[np.ndarray] = []
        self.speaker_of: list[int] = []
        self.skipped = 0
        for utt in dump.utts:
            if utt not in phones:
                raise DataError(f"{dump.root}/phones: no phones for utterance {utt!r}")
            feats = dump[utt]
            # CTC needs at least one frame per label (more where a label repeats); a phone the
            # inventory lacks (seen only outside the training set) has no class.
            if (len(feats) > max_frames or len(feats) < 2 * len(phones[utt])
                    or any(p not in index for p in phones[utt])):
                self.skipped += 1
                continue
            speaker = dump.speaker(utt)
            norm = normalizers[speaker]
            self.feats.append(np.asarray(norm.normalize(feats) if norm is not None else feats, dtype=np.float32))
            self.labels.append(np.array([index[p] for p in phones[utt]], dtype=np.int64))
            self.speaker_of.append(self.speakers.index(speaker))
        if not self.feats:
            raise DataError(f"{dump.root}: no utterance of at most {max_frames} frames whose phones the "
                            f"recogniser knows ({self.skipped} skipped); raise data.segment_frames")
        self.by_speaker = [np.flatnonzero(np.array(self.speaker_of) == s) for s in range(len(self.speakers))]
        self.by_speaker = [rows for rows in self.by_speaker if len(rows)]

    def __len__(self) -> int:
        return len(self.feats)

    def batch(self, rows: np.ndarray) -> Batch:
        """Utterances ``rows`` padded with zeros: feats [B, dim, T], lengths [B], phones [B, L],
        phone_lengths [B] (padding label 0, ignored by CTC past each length), speaker [B] (an
        index into ``speakers``)."""
        lengths = np.array([len(self.feats[r]) for r in rows])
        label_lengths = np.array([len(self.labels[r]) for r in rows])
        feats = np.zeros((len(rows), self.dim, lengths.max()), dtype=np.float32)
        labels = np.zeros((len(rows), label_lengths.max()), dtype=np.int64)
        for i, r in enumerate(rows):
            feats[i, :, : lengths[i]] = self.feats[r].T
            labels[i, : label_lengths[i]] = self.labels[r]
        return {"feats": torch.from_numpy(feats), "lengths": torch.from_numpy(lengths),
                "phones": torch.from_numpy(labels), "phone_lengths": torch.from_numpy(label_lengths),
                "speaker": torch.tensor([self.speaker_of[r] for r in rows], dtype=torch.long)}


class TranscribedLoader(StepSeededLoader):
    """Phone-recogniser batches (see :meth:`TranscribedUtterances.batch`), speaker-balanced."""

    def __init__(self, utterances: TranscribedUtterances, batch_size: int, seed: int = 0,
                 num_workers: int = 0) -> None:
        super().__init__(utterances, batch_size, seed, num_workers)  # type: ignore[arg-type]

    def _batch(self, rng: np.random.Generator) -> Batch:
        groups = self.sampler.by_speaker
        rounds = -(-self.batch_size // len(groups))
        order = np.concatenate([rng.permutation(len(groups)) for _ in range(rounds)])[: self.batch_size]
        rows = np.array([groups[g][rng.integers(len(groups[g]))] for g in order])
        return self.sampler.batch(rows)

    @property
    def frames(self) -> dict[str, int]:
        return {"all": sum(len(f) for f in self.sampler.feats)}
