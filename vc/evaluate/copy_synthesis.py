"""How far a vocoder's copy synthesis is from the audio its features came from.

The two signals share their timing, so every measure compares them frame by frame (no
DTW): spectral convergence and log-spectral distance on the features' own STFT, Parallel
WaveGAN's multi-resolution STFT distance (spectral convergence + log-magnitude L1,
averaged over three resolutions), and MCD on WORLD mel-cepstra (c0 excluded).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from vc.audio.config import FeatureConfig
from vc.audio.features import Spectrogram
from vc.audio.io import resample
from vc.evaluate.mcd import SCORING_CONFIG, mcd_aligned, mcep_of
from vc.utils import atomic_write_text
from vc.vocoders.griffin_lim import log_spectral_distance, spectral_convergence
from vc.vocoders.stft_loss import MultiResolutionSTFTLoss


@dataclass
class CopySynthesisScore:
    utt: str
    seconds: float
    spectral_convergence: float
    lsd_db: float
    mrstft: float
    mcd_db: float


HEADER = "\t".join(f.name for f in fields(CopySynthesisScore))
_FORMATS = ("{}", "{:.3f}", "{:.5f}", "{:.4f}", "{:.5f}", "{:.4f}")


class CopySynthesisScorer:
    """``scorer(utt, original, vocoded)`` -> CopySynthesisScore, for waveforms at ``cfg``'s rate."""

    def __init__(self, cfg: FeatureConfig, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg
        self.device = torch.device(device)
        self.spectrogram = Spectrogram(cfg).to(self.device)
        self.mrstft = MultiResolutionSTFTLoss().to(self.device)

    @torch.inference_mode()
    def __call__(self, utt: str, original: np.ndarray, vocoded: np.ndarray) -> CopySynthesisScore:
        n = min(len(original), len(vocoded))
        ref = torch.from_numpy(np.ascontiguousarray(original[:n], dtype=np.float32)).to(self.device)[None]
        out = torch.from_numpy(np.ascontiguousarray(vocoded[:n], dtype=np.float32)).to(self.device)[None]
        target, estimate = self.spectrogram(ref), self.spectrogram(out)
        return CopySynthesisScore(
            utt, n / self.cfg.sample_rate,
            float(spectral_convergence(target, estimate)[0]), float(log_spectral_distance(target, estimate)[0]),
            self.mrstft.distance(out, ref), mcd_aligned(self._mcep(original[:n]), self._mcep(vocoded[:n])))

    def _mcep(self, wav: np.ndarray) -> np.ndarray:
        rate = SCORING_CONFIG.sample_rate
        wav = np.asarray(wav, dtype=np.float32)
        return mcep_of(wav if self.cfg.sample_rate == rate else resample(wav, self.cfg.sample_rate, rate))


def write_scores(path: Path, scores: list[CopySynthesisScore]) -> None:
    """A TSV with HEADER and one row per utterance, sorted by utterance id."""
    rows = ["\t".join(f.format(v) for f, v in zip(_FORMATS, astuple(s))) for s in sorted(scores, key=lambda s: s.utt)]
    atomic_write_text(path, "\n".join([HEADER, *rows]) + "\n")


def mean_scores(scores: list[CopySynthesisScore]) -> dict[str, float]:
    """Each measure's mean over utterances (``seconds``: the total)."""
    names = [f.name for f in fields(CopySynthesisScore)][1:]
    means = {name: float(np.mean([getattr(s, name) for s in scores])) for name in names}
    means["seconds"] = float(sum(s.seconds for s in scores))
    return means
