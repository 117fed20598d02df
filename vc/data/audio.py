"""Vocoder training data: random audio segments with the feature frames they were computed from.

A vocoder learns features -> waveform, so it needs both from one dump: ``vc extract
--save-audio`` stores each waveform beside its features. Frames are centred STFT frames,
``frames = 1 + samples // hop``; sample block ``[t * hop, (t + 1) * hop)`` belongs to frame
``t`` (the audio is zero-padded to ``frames * hop``). A segment of ``segment_frames``
frames comes with ``context_frames`` more on each side (edge frames repeated at utterance
boundaries) for the upsampler's context conv.

Unlike the conversion loaders, nothing is held in memory but the index: each item reads
its utterance from the arks (a corpus' audio is far larger than its features), and batch
``step`` is drawn from its own seeded generator, so resuming is exact (see
:class:`vc.data.unpaired.StepSeededLoader`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vc.audio.stats import FeatureStats, StatsStore
from vc.data.dump import FeatureDump
from vc.data.unpaired import Batch, Normalize, StepSeededLoader
from vc.errors import ConfigError, DataError


class AudioSegmentSampler:
    """Uniform random segments over every valid start of every long-enough utterance."""

    def __init__(
        self,
        dump: FeatureDump | str | Path,
        stats: StatsStore | str | Path | None,
        segment_frames: int,
        context_frames: int,
        hop_length: int,
        normalize: Normalize = "global",
    ) -> None:
        self.dump = dump if isinstance(dump, FeatureDump) else FeatureDump.open(dump)
        if not self.dump.has_audio:
            raise DataError(f"{self.dump.root}: the dump holds no audio; vocoders train on features and the "
                            "waveforms they came from: extract it again with 'vc extract --save-audio'")
        if hop_length != self.dump.config.hop_length:
            raise ConfigError(f"the vocoder upsamples by {hop_length}, the dump's hop_length is "
                              f"{self.dump.config.hop_length}")
        if segment_frames < 1 or context_frames < 0:
            raise ConfigError(f"segment_frames must be >= 1 and context >= 0, got {segment_frames}, {context_frames}")
        self.segment_frames, self.context_frames, self.hop_length = segment_frames, context_frames, hop_length
        self.norm = _global_stats(self.dump, stats, normalize)
        frames = {utt: self.dump.num_frames.get(utt) or len(self.dump[utt]) for utt in self.dump.utts}
        self.utts = [u for u, n in frames.items() if n >= segment_frames]
        self.skipped = [u for u, n in frames.items() if n < segment_frames]
        if not self.utts:
            raise DataError(f"{self.dump.root}: no utterance has at least {segment_frames} frames "
                            f"({len(self.skipped)} shorter ones); lower data.segment_frames")
        self.cum_starts = np.cumsum([frames[u] - segment_frames + 1 for u in self.utts])
        self.speakers = sorted({self.dump.utt2spk.get(u, "") for u in self.utts} - {""})
        self.dim = self.dump.config.dim
        self.frames = {"all": int(sum(frames[u] for u in self.utts))}

    def describe(self) -> str:
        skipped = f", {len(self.skipped)} skipped (shorter than {self.segment_frames} frames)" if self.skipped else ""
        return f"{len(self.utts)} utterances, {self.frames['all']} frames{skipped}"

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` segments: features [n, dim, frames + 2 * context] and audio [n, frames * hop]."""
        frames, context, hop = self.segment_frames, self.context_frames, self.hop_length
        feats = np.empty((n, self.dim, frames + 2 * context), dtype=np.float32)
        audio = np.empty((n, frames * hop), dtype=np.float32)
        for i, pick in enumerate(rng.integers(0, self.cum_starts[-1], size=n)):
            k = int(np.searchsorted(self.cum_starts, pick, side="right"))
            start = int(pick - (self.cum_starts[k - 1] if k else 0))
            utt_feats, utt_audio = self._utterance(self.utts[k])
            feats[i] = utt_feats[start:start + frames + 2 * context].T
            audio[i] = utt_audio[start * hop:(start + frames) * hop]
        return feats, audio

    def _utterance(self, utt: str) -> tuple[np.ndarray, np.ndarray]:
        """Normalised features [frames + 2 * context, dim] and audio zero-padded to frames * hop."""
        feats, wav = self.dump[utt], self.dump.audio(utt)
        if len(feats) != 1 + len(wav) // self.hop_length:
            raise DataError(f"{self.dump.root}: {utt!r} has {len(feats)} frames but {len(wav)} samples of audio "
                            f"(expected {1 + len(wav) // self.hop_length} frames at hop {self.hop_length})")
        if self.norm is not None:
            feats = self.norm.normalize(feats)
        feats = np.pad(feats, ((self.context_frames, self.context_frames), (0, 0)), mode="edge")
        return feats, np.pad(wav, (0, (len(feats) - 2 * self.context_frames) * self.hop_length - len(wav)))


def _global_stats(dump: FeatureDump, stats: StatsStore | str | Path | None, normalize: Normalize) -> FeatureStats | None:
    if normalize == "none":
        return None
    if normalize != "global":
        raise ConfigError(f"data.normalize: a vocoder serves every speaker, so it takes 'global' or 'none' "
                          f"normalisation, got {normalize!r}")
    if stats is None:
        raise ConfigError("data.normalize: 'global' needs statistics (run 'vc stats'), or use 'none'")
    store = stats if isinstance(stats, StatsStore) else StatsStore.load(stats)
    dump.config.require_same(store.config, f"{dump.root}: statistics do not belong to this dump")
    return store.global_


class AudioSegmentLoader(StepSeededLoader):
    """Vocoder batches: {"feats": [B, dim, frames + 2 * context], "audio": [B, frames * hop]}."""

    def __init__(
        self,
        dump: FeatureDump | str | Path,
        stats: StatsStore | str | Path | None,
        segment_frames: int,
        batch_size: int,
        seed: int = 0,
        *,
        context_frames: int = 0,
        hop_length: int,
        normalize: Normalize = "global",
        num_workers: int = 0,
    ) -> None:
        sampler = AudioSegmentSampler(dump, stats, segment_frames, context_frames, hop_length, normalize)
        super().__init__(sampler, batch_size, seed, num_workers)

    def _batch(self, rng: np.random.Generator) -> Batch:
        feats, audio = self.sampler.sample(self.batch_size, rng)
        return {"feats": torch.from_numpy(feats), "audio": torch.from_numpy(audio)}
