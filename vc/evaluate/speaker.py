"""Speaker similarity with resemblyzer's pretrained d-vector encoder (GE2E; it ships its weights).

Each speaker of the data dir is represented by the mean of its utterances' unit embeddings,
leaving out the recordings the caller names (those of the sentence under test), so the real
target (the upper-bound reference) is not compared with itself. A converted utterance is scored by its cosine to
the target's and the source's representation, and by whether the target is the nearest of
all speakers.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vc.data.datadir import DataDir, load_utterance
from vc.errors import DataError
from vc.evaluate.optional import require
from vc.utils import atomic_path

SAMPLE_RATE = 16000  # resemblyzer's rate
MIN_SPEECH = SAMPLE_RATE // 10  # below this after VAD trimming, the untrimmed signal is embedded


@dataclass(frozen=True)
class SpeakerScores:
    sim_target: float
    sim_source: float
    nearest_spk: str


class SpeakerSimilarity:
    """``cache_dir``: where the data dir's embeddings are kept between runs (a recipe scores
    many systems against the same data dir); keyed by its wav.scp and the files' sizes and times."""

    def __init__(self, data: DataDir, cache_dir: str | Path | None = None) -> None:
        resemblyzer = require("resemblyzer")
        require("webrtcvad")  # resemblyzer's silence trimming
        self._preprocess = resemblyzer.preprocess_wav
        self._encoder = resemblyzer.VoiceEncoder(device="cpu", verbose=False)
        self._data = data
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._reference: dict[str, np.ndarray] | None = None  # utt -> unit embedding, filled on first use

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """Unit-norm embedding of a 16 kHz waveform."""
        trimmed = self._preprocess(wav, source_sr=SAMPLE_RATE)
        return self._encoder.embed_utterance(trimmed if len(trimmed) >= MIN_SPEECH else wav)

    def score(self, wav: np.ndarray, exclude: frozenset[str], src: str, tgt: str) -> SpeakerScores:
        """Cosines of ``wav`` to ``tgt`` and ``src``, each represented without the recordings
        ``exclude`` (those of the sentence ``wav`` says, so no reference is compared with itself)."""
        e = self.embed(wav)
        centroids = self._centroids(exclude)
        for spk in (tgt, src):
            if spk not in centroids:
                raise DataError(f"speaker similarity: {spk!r} has no recording in the data dir besides "
                                f"{', '.join(sorted(exclude))}, so nothing to compare with")
        cos = {spk: float(e @ c) for spk, c in centroids.items()}
        return SpeakerScores(cos[tgt], cos[src], max(cos, key=cos.get))

    def _centroids(self, exclude: frozenset[str]) -> dict[str, np.ndarray]:
        reference = self._embed_data_dir()
        centroids = {}
        for spk, utts in self._data.spk2utt.items():
            kept = [reference[u] for u in utts if u not in exclude]
            if kept:
                mean = np.mean(kept, axis=0)
                centroids[spk] = mean / np.linalg.norm(mean)
        return centroids

    def _embed_data_dir(self) -> dict[str, np.ndarray]:
        if self._reference is None:
            cache = self._cache_file()
            if cache is not None and cache.is_file():
                with np.load(cache) as saved:
                    self._reference = dict(zip(saved["utts"].tolist(), saved["embeddings"]))
            else:
                utts = self._data.utts
                self._reference = {utt: self.embed(load_utterance(self._data, utt, SAMPLE_RATE)) for utt in utts}
                if cache is not None:
                    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
                        np.savez(f, utts=np.array(utts), embeddings=np.stack([self._reference[u] for u in utts]))
        return self._reference

    def _cache_file(self) -> Path | None:
        if self._cache_dir is None:
            return None
        key = hashlib.sha1()
        for utt in self._data.utts:
            entry = self._data.wav_scp.get(utt, "")
            stat = os.stat(entry) if os.path.isfile(entry) else None
            key.update(f"{utt} {entry} {stat and (stat.st_size, stat.st_mtime_ns)}\n".encode())
        if self._data.segments is not None:
            key.update(repr(sorted(self._data.segments.items())).encode())
        return self._cache_dir / f"resemblyzer_{key.hexdigest()[:16]}.npz"
