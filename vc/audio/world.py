"""WORLD analysis and synthesis (pyworld), with the envelope as mel-cepstrum (pysptk).

A WORLD feature frame is packed as [mcep (order+1) | continuous log-F0 | voiced flag |
coded aperiodicity], so one [frames, dim] matrix travels through dumps like any other.
The frame period follows the STFT hop, so WORLD and spectrogram frames line up.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vc.audio.config import FeatureConfig
from vc.audio.world_lib import pysptk, pyworld


@dataclass(frozen=True)
class WorldLayout:
    """Column slices of a packed WORLD frame."""

    mcep: slice
    lf0: int
    vuv: int
    ap: slice
    dim: int


@dataclass
class WorldFrames:
    """WORLD parameters of one utterance, frame-aligned."""

    f0: np.ndarray  # [frames] Hz, 0 where unvoiced
    mcep: np.ndarray  # [frames, order + 1], c0 first
    coded_ap: np.ndarray  # [frames, bands], band aperiodicity in dB

    def __len__(self) -> int:
        return len(self.f0)


@functools.lru_cache(maxsize=8)
def world_layout(cfg: FeatureConfig) -> WorldLayout:
    """The columns, in order; the config's ``dim`` is their total width."""
    n_mcep = cfg.world.mcep_order + 1
    return WorldLayout(mcep=slice(0, n_mcep), lf0=n_mcep, vuv=n_mcep + 1, ap=slice(n_mcep + 2, cfg.dim), dim=cfg.dim)


def mcep_alpha(cfg: FeatureConfig) -> float:
    """The frequency-warping constant: configured, or the standard one for the rate."""
    if cfg.world.mcep_alpha is not None:
        return cfg.world.mcep_alpha
    return float(pysptk.util.mcepalpha(cfg.sample_rate))


def world_fft_size(cfg: FeatureConfig) -> int:
    return pyworld.get_cheaptrick_fft_size(cfg.sample_rate, cfg.world.f0_floor)


def analyze(wav: np.ndarray, cfg: FeatureConfig) -> WorldFrames:
    """F0 (harvest or dio + stonemask), CheapTrick envelope as MCEP, coded D4C aperiodicity."""
    x = np.ascontiguousarray(wav, dtype=np.float64)
    fs, w = cfg.sample_rate, cfg.world
    if w.f0_method == "harvest":
        f0, t = pyworld.harvest(x, fs, f0_floor=w.f0_floor, f0_ceil=w.f0_ceil, frame_period=cfg.frame_period_ms)
    else:
        f0, t = pyworld.dio(x, fs, f0_floor=w.f0_floor, f0_ceil=w.f0_ceil, frame_period=cfg.frame_period_ms)
        f0 = pyworld.stonemask(x, f0, t, fs)
    fft_size = world_fft_size(cfg)
    sp = pyworld.cheaptrick(x, f0, t, fs, f0_floor=w.f0_floor, fft_size=fft_size)
    ap = pyworld.d4c(x, f0, t, fs, fft_size=fft_size)
    frames = WorldFrames(
        f0=f0,
        mcep=pysptk.sp2mc(sp, order=w.mcep_order, alpha=mcep_alpha(cfg)),
        coded_ap=pyworld.code_aperiodicity(ap, fs),
    )
    return _fit_frames(frames, cfg.num_frames(len(wav)))


def synthesize(frames: WorldFrames, cfg: FeatureConfig) -> np.ndarray:
    """Waveform (float32) from WORLD parameters."""
    fft_size = world_fft_size(cfg)
    mcep = np.ascontiguousarray(frames.mcep, dtype=np.float64)
    sp = pysptk.mc2sp(mcep, alpha=mcep_alpha(cfg), fftlen=fft_size)
    coded_ap = np.ascontiguousarray(frames.coded_ap, dtype=np.float64)
    ap = pyworld.decode_aperiodicity(coded_ap, cfg.sample_rate, fft_size)
    f0 = np.ascontiguousarray(frames.f0, dtype=np.float64)
    wav = pyworld.synthesize(f0, sp, ap, cfg.sample_rate, frame_period=cfg.frame_period_ms)
    return wav.astype(np.float32)


def pack(frames: WorldFrames, cfg: FeatureConfig) -> np.ndarray:
    """[frames, dim] float32 matrix: mcep | continuous log-F0 | voiced flag | coded AP."""
    lf0, vuv = continuous_log_f0(frames.f0)
    out = np.empty((len(frames), world_layout(cfg).dim), dtype=np.float32)
    lay = world_layout(cfg)
    out[:, lay.mcep] = frames.mcep
    out[:, lay.lf0] = lf0
    out[:, lay.vuv] = vuv
    out[:, lay.ap] = frames.coded_ap
    return out


def unpack(matrix: np.ndarray, cfg: FeatureConfig) -> WorldFrames:
    """Inverse of pack; frames whose voiced flag is below 0.5 get F0 = 0."""
    lay = world_layout(cfg)
    if matrix.ndim != 2 or matrix.shape[1] != lay.dim:
        raise ValueError(f"expected [frames, {lay.dim}] WORLD features, got {list(matrix.shape)}")
    voiced = matrix[:, lay.vuv] >= 0.5
    f0 = np.where(voiced, np.exp(matrix[:, lay.lf0].astype(np.float64)), 0.0)
    return WorldFrames(f0=f0, mcep=matrix[:, lay.mcep].astype(np.float64), coded_ap=matrix[:, lay.ap].astype(np.float64))


def world_features(wav: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    return pack(analyze(wav, cfg), cfg)


def continuous_log_f0(f0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-F0 linearly interpolated through unvoiced frames, and the voiced flag.

    A continuous contour is what the models predict; the flag restores the gaps.
    """
    voiced = f0 > 0
    if not voiced.any():
        return np.zeros_like(f0, dtype=np.float32), np.zeros_like(f0, dtype=np.float32)
    idx = np.arange(len(f0))
    lf0 = np.interp(idx, idx[voiced], np.log(f0[voiced]))
    return lf0.astype(np.float32), voiced.astype(np.float32)


def _fit_frames(frames: WorldFrames, n: int) -> WorldFrames:
    """Trim or edge-pad to n frames: WORLD's count can differ from the STFT's by one."""

    def fit(a: np.ndarray) -> np.ndarray:
        if len(a) >= n:
            return a[:n]
        pad = [(0, n - len(a))] + [(0, 0)] * (a.ndim - 1)
        return np.pad(a, pad, mode="edge")

    return WorldFrames(f0=fit(frames.f0), mcep=fit(frames.mcep), coded_ap=fit(frames.coded_ap))
