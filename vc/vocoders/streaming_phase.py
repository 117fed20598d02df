"""Streaming phase reconstruction: log-mel / log-linear frames in, audio out, frame by frame.

Two methods, each needing only a fixed number of future frames (``lookahead_frames``):

* ``rtpghi`` — real-time phase-gradient heap integration (Průša & Holighaus 2017). For a
  Gaussian window the STFT phase gradient follows from the log-magnitude gradient: the
  phase advance per hop from the slope of log|X| across bins, the phase change per bin
  from its slope across frames (centred difference with lookahead 1; with lookahead 0 a
  backward difference, corrected here by the curvature along time that the curvature
  across bins implies, which halves its error on true magnitudes). Each frame's phase is
  integrated from the previous frame's, largest bins first, so strong partials carry their
  phase along time and weak bins follow their neighbours. Hann is treated as the Gaussian
  with lambda = 0.25645 * win_length**2 (samples^2).
* ``rtisi_la`` — real-time iterative spectrogram inversion with lookahead (Zhu, Beauregard
  & Wyse 2007): Griffin-Lim restricted to the newest ``lookahead + 1`` frames, the older
  ones committed and fixed, updated together (Jacobi). A new frame starts from RTPGHI's
  phase (``init="rtpghi"``, the default) or, as in the paper, from the phase of the partial
  reconstruction under it (``init="partial"``), which needs more lookahead for less.

STFT convention as vc.audio.features: periodic Hann of win_length centred in n_fft,
frame t centred on sample t * hop, zero padded; output sample s lines up with input
sample s, like GriffinLim's output for the same features.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import torch
from torch import nn

from vc.audio.config import FeatureConfig
from vc.errors import ConfigError, DataError
from vc.vocoders.griffin_lim import MelInverter

# The first is the default: on 10 utterances, 16 kHz log-mel, lookahead 1, 4 iterations, it
# comes closer to offline Griffin-Lim than rtpghi (spectral convergence 0.174 vs 0.229, GL
# 0.143) at 4% of real time on one thread, 1 frame a push 11% (bench/bench_stream_vocoder.py).
STREAM_VOCODERS = ("rtisi_la", "rtpghi")
# Method -> its options and their defaults.
_OPTIONS: dict[str, dict[str, Any]] = {
    "rtpghi": {"lookahead": 1, "tol": 1e-5, "seed": 0},
    "rtisi_la": {"lookahead": 1, "iterations": 4, "init": "rtpghi", "tol": 1e-5, "seed": 0},
}
HANN_GAMMA = 0.25645  # Gaussian lambda / win_length**2 that best fits a Hann window (Průša et al.)
# MKL multiplies fewer than ~12 columns by another kernel, so a frame's mel inversion changed
# in the 6th digit with the block it came in; every call gets this many columns instead.
_MEL_CHUNK = 16


class _OverlapAdd:
    """Windowed frames in, in order; normalised output samples out once no later frame touches them."""

    def __init__(self, window: np.ndarray, hop: int) -> None:
        nonzero = np.flatnonzero(window)
        self.lo, self.hi = int(nonzero[0]), int(nonzero[-1]) + 1  # only the window's support is added
        self.window, self.hop = window, hop
        self.offset = len(window) // 2  # padded index of output sample 0 (centred frames)
        self.frames = self.emitted = 0
        self.base = self.offset  # padded index of signal[0]
        self.signal, self.envelope = np.zeros(0), np.zeros(0)

    def add(self, frame: np.ndarray) -> None:
        start = self.frames * self.hop + self.lo - self.base
        end = start + self.hi - self.lo
        if end > len(self.signal):  # grows by about one hop a frame
            grow = end - len(self.signal)
            self.signal = np.concatenate([self.signal, np.zeros(grow)])
            self.envelope = np.concatenate([self.envelope, np.zeros(grow)])
        skip = max(-start, 0)  # frame 0's first half lies before output sample 0: dropped
        w = self.window[self.lo + skip : self.hi]
        self.signal[start + skip : end] += w * frame[self.lo + skip : self.hi]
        self.envelope[start + skip : end] += w * w
        self.frames += 1

    def take(self, upto: int) -> np.ndarray:
        """Output samples [emitted, upto): the window-squared-sum normalisation; 0 where no window reaches."""
        count = max(upto - self.emitted, 0)
        signal, envelope = (np.pad(a[:count], (0, max(count - len(a), 0))) for a in (self.signal, self.envelope))
        out = np.where(envelope > 1e-10, signal / np.maximum(envelope, 1e-10), 0.0)
        self.signal, self.envelope = self.signal[count:], self.envelope[count:]
        self.emitted += count
        self.base += count
        return out.astype(np.float32)


class _RTPGHI:
    """Phase-gradient heap integration, one frame at a time, ``lookahead`` (0 or 1) frames late."""

    def __init__(self, cfg: FeatureConfig, lookahead: int, tol: float, seed: int) -> None:
        n_fft, hop = cfg.n_fft, cfg.hop_length
        gamma = HANN_GAMMA * cfg.win_size**2
        bins = np.arange(cfg.n_freqs)
        self.advance = 2 * np.pi * hop * bins / n_fft  # phase advance per hop of a bin-centred sinusoid
        self.time_scale = hop * n_fft / gamma  # phase advance per hop from d log|X| / d bin
        self.freq_scale = -gamma / (hop * n_fft)  # phase change per bin from d log|X| / d frame
        # Under a Gaussian window log|X| plus a quadratic is harmonic (the Bargmann transform is
        # analytic), so in frames m and bins k: d2/dm2 log|X| = -2 pi hop^2 / gamma *
        # (1 + n_fft^2 / (2 pi gamma) d2/dk2 log|X|); it corrects one-sided time differences.
        self.click_curvature = -2 * np.pi * hop**2 / gamma
        self.bin_curvature = n_fft**2 / (2 * np.pi * gamma)
        # Phases are integrated relative to the window centre; torch.stft's are relative to the
        # frame start, win_length / 2 + the zero padding's left part earlier.
        centre = (n_fft - cfg.win_size) // 2 + cfg.win_size / 2
        self.shift = np.exp(-2j * np.pi * bins * centre / n_fft)
        self.lookahead, self.log_tol, self.floor, self.seed = lookahead, math.log(tol), cfg.log_floor, seed
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.pending: deque[np.ndarray] = deque()  # magnitudes waiting for their lookahead
        self.prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # log|X|, phase, advance

    def push(self, magnitude: np.ndarray) -> list[np.ndarray]:
        self.pending.append(magnitude)
        if len(self.pending) <= self.lookahead:
            return []
        return [self._frame(self.pending.popleft(), self.pending[0] if self.lookahead else None)]

    def flush(self) -> list[np.ndarray]:
        out = []
        while self.pending:
            current = self.pending.popleft()
            out.append(self._frame(current, self.pending[0] if self.pending else None))
        return out

    def anchor(self, spectrum: np.ndarray) -> None:
        """Continue from ``spectrum``'s phase for the last frame (RTISI-LA refines what this integrated)."""
        logs, _, advance = self.prev
        self.prev = (logs, np.angle(spectrum * self.shift.conj()), advance)

    def _frame(self, magnitude: np.ndarray, following: np.ndarray | None) -> np.ndarray:
        logs = np.log(np.maximum(magnitude, self.floor))
        nxt = None if following is None else np.log(np.maximum(following, self.floor))
        prev = None if self.prev is None else self.prev[0]
        # d log|X| / d frame: centred when both neighbours exist, else the one-sided difference.
        if nxt is not None and prev is not None:
            slope_t = (nxt - prev) / 2
        elif nxt is not None or prev is not None:
            slope_t = nxt - logs if nxt is not None else logs - prev
        else:
            slope_t = np.zeros_like(logs)
        # d log|X| / d bin, centred; |X| is even about DC and Nyquist, so reflect there.
        padded = np.concatenate([logs[1:2], logs, logs[-2:-1]])
        curvature_k = padded[2:] - 2 * logs + padded[:-2]
        if (nxt is None) != (prev is None):
            # A one-sided difference is the slope half a frame away: add half the curvature
            # along time, which the curvature across bins gives (see __init__), limited to
            # what one component can have (0: a steady sinusoid, the most negative: a click).
            curvature_t = self.click_curvature * (1 + self.bin_curvature * curvature_k)
            curvature_t = np.clip(curvature_t, self.click_curvature, 0)
            slope_t = slope_t + (0.5 if nxt is None else -0.5) * curvature_t
        advance = self.advance + self.time_scale * (padded[2:] - padded[:-2]) / 2
        dphase = self.freq_scale * slope_t
        random = 2 * np.pi * self.rng.random(len(logs))  # drawn every frame: the same whatever the blocks
        phase = self._integrate(logs, advance, dphase, random)
        self.prev = (logs, phase, advance)
        return magnitude * np.exp(1j * phase) * self.shift

    def _integrate(self, logs: np.ndarray, advance: np.ndarray, dphase: np.ndarray, random: np.ndarray) -> np.ndarray:
        """Heap integration over this frame's bins, seeded by the previous frame's, without a heap.

        The heap pops bins largest first, and a bin takes its phase from whichever of its
        previous-frame bin and its two neighbours pops first. A neighbour pops at the level of
        its widest path from a previous-frame bin (the largest over paths of their smallest
        magnitude), and on a line those levels are two scans, from the left and from the right,
        so each bin's source is found for all bins at once and phases are summed along runs.
        Bins below tol x the largest of both frames keep random phase; a run of bins that no
        previous bin reaches (an onset) starts from its largest bin's random phase.
        """
        n = len(logs)
        prev = self.prev
        top = logs.max() if prev is None else max(logs.max(), prev[0].max())
        significant = logs >= top + self.log_tol
        level = np.where(significant, logs, -np.inf)
        phase = random.copy()
        if prev is None:
            source = np.full(n, -np.inf)
        else:
            source = np.where(prev[0] >= top + self.log_tol, prev[0], -np.inf)
            # Along time, by the trapezoidal rule over both frames' advances.
            phase = np.where(significant & np.isfinite(source), prev[1] + (prev[2] + advance) / 2, phase)
        from_left, from_right = _widest(source, level), _widest(source[::-1], level[::-1])[::-1]
        unreached = significant & np.isneginf(np.maximum(from_left, from_right))
        if unreached.any():
            edges = np.flatnonzero(np.diff(np.concatenate([[0], unreached.view(np.int8), [0]])))
            for start, end in zip(edges[::2], edges[1::2]):
                seed = start + int(np.argmax(logs[start:end]))
                source[seed] = level[seed]
            from_left, from_right = _widest(source, level), _widest(source[::-1], level[::-1])[::-1]
        # Candidate levels: the previous frame's bin, the left and the right neighbour's paths.
        # Ties go to the left neighbour, as the heap floods a run of equal bins (a flat
        # spectrum, a click) from its first bin; the right takes only strictly larger levels,
        # which keeps any two neighbours from taking their phase from each other.
        left = np.concatenate([[-np.inf], from_left[:-1]])
        right = np.concatenate([from_right[1:], [-np.inf]])
        use_left = significant & (left >= source) & (left >= right)
        use_right = significant & (right > source) & (right > left)
        # Sum phase steps along each run from its root, the nearest bin that is not left- (right-) sourced.
        steps = np.concatenate([[0.0], (dphase[1:] + dphase[:-1]) / 2])  # bin k-1 -> k
        total = np.cumsum(steps)
        bins = np.arange(n)
        root = np.maximum.accumulate(np.where(use_left, 0, bins))
        phase = np.where(use_left, phase[root] + total - total[root], phase)
        root = np.minimum.accumulate(np.where(use_right, n - 1, bins)[::-1])[::-1]
        return np.where(use_right, phase[root] - (total[root] - total), phase)


def _widest(source: np.ndarray, level: np.ndarray) -> np.ndarray:
    """out[j] = max over i <= j of min(source[i], level[i..j]): the widest path into bin j from the left.

    out[j] = min(level[j], max(source[j], out[j - 1])) clamps out[j - 1] to [min(source[j],
    level[j]), level[j]]; clamps compose into clamps, so the recurrence is a prefix scan in
    log2(n) vectorised doubling steps.
    """
    lo, hi = np.minimum(source, level), level.copy()
    step = 1
    while step < len(lo):
        # clip(x, lo, hi) as min(hi, max(lo, x)): np.clip's wrapper costs more than the work here
        lo[step:], hi[step:] = (np.minimum(hi[step:], np.maximum(lo[step:], lo[:-step])),
                                np.minimum(hi[step:], np.maximum(lo[step:], hi[:-step])))
        step *= 2
    return lo


class _RTISILA:
    """Griffin-Lim over the newest ``lookahead + 1`` frames on top of the committed ones.

    A new frame starts from RTPGHI's phase (lookahead 0), continued from the refined phase
    of the frame before, or with ``pghi`` None from the partial reconstruction under it
    (Zhu et al.'s RTISI initialisation).
    """

    def __init__(self, cfg: FeatureConfig, window: np.ndarray, lookahead: int, iterations: int,
                 pghi: _RTPGHI | None) -> None:
        self.window, self.hop, self.n_fft = window, cfg.hop_length, cfg.n_fft
        self.lookahead, self.iterations, self.pghi = lookahead, iterations, pghi
        self.history_size = -(-cfg.n_fft // cfg.hop_length) - 1  # committed frames that overlap the oldest pending
        self.reset()

    def reset(self) -> None:
        self.history: deque[np.ndarray] = deque(maxlen=self.history_size)  # committed, windowed, time domain
        self.targets: list[np.ndarray] = []
        self.spectra: list[np.ndarray] = []
        if self.pghi is not None:
            self.pghi.reset()

    def push(self, magnitude: np.ndarray) -> list[np.ndarray]:
        if self.pghi is None:
            initial = magnitude * _unit(self._reconstruct(extra=1)[-1])
        else:
            (initial,) = self.pghi.push(magnitude)
        self.targets.append(magnitude)
        self.spectra.append(initial)
        self._iterate()
        if self.pghi is not None:
            self.pghi.anchor(self.spectra[-1])
        return [self._commit()] if len(self.spectra) > self.lookahead else []

    def flush(self) -> list[np.ndarray]:
        out = []
        while self.spectra:  # the last frames get their missing iterations as the others commit
            out.append(self._commit())
            if self.spectra:
                self._iterate()
        return out

    def _commit(self) -> np.ndarray:
        self.targets.pop(0)
        spectrum = self.spectra.pop(0)
        self.history.append(self.window * np.fft.irfft(spectrum, self.n_fft))
        return spectrum

    def _iterate(self) -> None:
        targets = np.stack(self.targets)
        for _ in range(self.iterations):
            self.spectra = list(targets * _unit(self._reconstruct()))

    def _reconstruct(self, extra: int = 0) -> np.ndarray:
        """Spectra of the least-squares signal of committed + pending frames, at the pending
        frames' positions and ``extra`` positions after them."""
        frames = list(self.history)
        if self.spectra:
            frames += list(self.window * np.fft.irfft(np.stack(self.spectra), self.n_fft))
        count = len(frames) + extra
        length = (count - 1) * self.hop + self.n_fft
        signal, envelope = np.zeros(length), np.zeros(length)
        for i, frame in enumerate(frames):
            signal[i * self.hop : i * self.hop + self.n_fft] += frame
            envelope[i * self.hop : i * self.hop + self.n_fft] += self.window**2
        signal = np.where(envelope > 1e-10, signal / np.maximum(envelope, 1e-10), 0.0)
        first = len(self.history)
        segments = np.stack([signal[i * self.hop : i * self.hop + self.n_fft] for i in range(first, count)])
        return np.fft.rfft(segments * self.window)


def _unit(spectra: np.ndarray) -> np.ndarray:
    """Unit phasors with the angle of ``spectra``; zero phase where it is zero."""
    magnitude = np.abs(spectra)
    return np.where(magnitude > 0, spectra / np.maximum(magnitude, 1e-300), 1.0)


class StreamingPhaseVocoder:
    """Log features [frames, dim] pushed in any blocks -> the audio samples that became final."""

    def __init__(self, cfg: FeatureConfig, method: str = STREAM_VOCODERS[0], **opts: Any) -> None:
        if cfg.kind not in ("logmel", "linear"):
            raise ConfigError(f"streaming vocoder: vocodes log-mel or log-linear features, not kind {cfg.kind!r}")
        o = _options(method, opts)
        window = np.zeros(cfg.n_fft)
        left = (cfg.n_fft - cfg.win_size) // 2
        window[left : left + cfg.win_size] = np.hanning(cfg.win_size + 1)[:-1]  # periodic Hann
        self.engine: _RTPGHI | _RTISILA
        if method == "rtpghi":
            self.engine = _RTPGHI(cfg, o["lookahead"], o["tol"], o["seed"])
        else:
            pghi = _RTPGHI(cfg, 0, o["tol"], o["seed"]) if o["init"] == "rtpghi" else None
            self.engine = _RTISILA(cfg, window, o["lookahead"], o["iterations"], pghi)
        self.lookahead_frames: int = o["lookahead"]
        self.cfg, self.method, self.window = cfg, method, window
        self.mel = MelInverter(cfg) if cfg.kind == "logmel" else None
        # Output sample s is final once no later frame's window reaches it (see samples_ready).
        self._reach = left - cfg.n_fft // 2
        self.reset()

    def reset(self) -> None:
        """Forget everything pushed: the next push starts a new utterance."""
        self.engine.reset()
        self.ola = _OverlapAdd(self.window, self.cfg.hop_length)
        self.frames = 0

    def samples_ready(self, frames_pushed: int) -> int:
        """Output samples that are final after ``frames_pushed`` frames in all.

        max(0, (frames_pushed - lookahead) * hop - n_fft // 2 + (n_fft - win_length) // 2), i.e.
        (frames_pushed - lookahead) * hop - n_fft / 2 for win_length == n_fft: the next frame's
        window starts there.
        """
        return max((frames_pushed - self.lookahead_frames) * self.cfg.hop_length + self._reach, 0)

    def push(self, feats: np.ndarray) -> np.ndarray:
        """The newly final float32 samples after appending ``feats`` [n, dim] (n may be 0)."""
        for magnitude in self._magnitude(feats):
            for spectrum in self.engine.push(magnitude):
                self.ola.add(np.fft.irfft(spectrum, self.cfg.n_fft))
        self.frames += len(feats)
        return self.ola.take(self.samples_ready(self.frames))

    def flush(self) -> np.ndarray:
        """The remaining samples: the whole output then has frames * hop samples (0 for no frames),
        which covers any signal those frames were computed from; trim to its length."""
        for spectrum in self.engine.flush():
            self.ola.add(np.fft.irfft(spectrum, self.cfg.n_fft))
        return self.ola.take(self.frames * self.cfg.hop_length)

    def _magnitude(self, feats: np.ndarray) -> np.ndarray:
        """Linear magnitudes [n, n_freqs], float64, computed frame by frame identically whatever the blocks."""
        feats = np.asarray(feats)
        if feats.ndim != 2 or feats.shape[1] != self.cfg.dim:
            raise ConfigError(f"streaming vocoder: expected features [frames, {self.cfg.dim}] for kind "
                              f"{self.cfg.kind!r}, got {list(feats.shape)}")
        if not np.isfinite(feats).all():
            raise DataError(f"streaming vocoder: NaN or Inf in frames {self.frames}..{self.frames + len(feats) - 1}")
        if self.mel is None:
            return np.exp(feats.astype(np.float64))
        out = []
        for start in range(0, len(feats), _MEL_CHUNK):
            chunk = np.zeros((_MEL_CHUNK, self.cfg.dim), np.float32)
            block = feats[start : start + _MEL_CHUNK]
            chunk[: len(block)] = block
            linear = self.mel(torch.from_numpy(np.exp(chunk)).T[None])[0].T.double().numpy()
            out.append(linear[: len(block)])
        return np.concatenate(out) if out else np.zeros((0, self.cfg.n_freqs))


def _options(method: str, opts: dict[str, Any]) -> dict[str, Any]:
    """``opts`` over the method's defaults, checked; a ConfigError naming the bad one otherwise."""
    if method not in _OPTIONS:
        raise ConfigError(f"streaming vocoder: unknown method {method!r}; choose from {', '.join(STREAM_VOCODERS)}")
    unknown = sorted(set(opts) - set(_OPTIONS[method]))
    if unknown:
        raise ConfigError(f"streaming vocoder {method}: unknown option(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(_OPTIONS[method])}")
    o = {**_OPTIONS[method], **opts}

    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(f"streaming vocoder {method}: {key} must be {what}, got {o[key]!r}")

    def integer(value: Any) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if method == "rtpghi":
        need(integer(o["lookahead"]) and o["lookahead"] in (0, 1), "lookahead", "0 or 1")
    else:
        need(integer(o["lookahead"]) and o["lookahead"] >= 0, "lookahead", "an integer >= 0")
        need(integer(o["iterations"]) and o["iterations"] >= 1, "iterations", "an integer >= 1")
        need(o["init"] in ("rtpghi", "partial"), "init", "'rtpghi' or 'partial'")
    need(isinstance(o["tol"], (int, float)) and 0 < o["tol"] < 1, "tol", "a number in (0, 1)")
    need(integer(o["seed"]), "seed", "an integer")
    return {**o, "lookahead": int(o["lookahead"]), "seed": int(o["seed"]), "tol": float(o["tol"])}


def vocode_offline(cfg: FeatureConfig, feats: np.ndarray, method: str = STREAM_VOCODERS[0], **opts: Any) -> np.ndarray:
    """The streaming algorithm over a whole utterance [frames, dim]: frames * hop float32 samples."""
    vocoder = StreamingPhaseVocoder(cfg, method, **opts)
    return np.concatenate([vocoder.push(feats), vocoder.flush()])


class StreamingPhase(nn.Module):
    """The streaming phase reconstruction as an offline vocoder, by registry name (``rtisi_la``,
    ``rtpghi``): ``vc convert --vocoder rtisi_la`` gives what ``vc stream`` streams, so the
    streaming systems are scored on the same footing as the others."""

    def __init__(self, cfg: FeatureConfig, method: str = STREAM_VOCODERS[0], **opts: Any) -> None:
        super().__init__()
        StreamingPhaseVocoder(cfg, method, **opts)  # the options' errors now, not at the first utterance
        self.cfg, self.method, self.opts = cfg, method, opts

    def forward(self, feats: torch.Tensor, length: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """[batch, dim, frames] -> [batch, length] (default frames * hop); the seed of random
        phases is ``generator``'s unless the options give one."""
        opts = dict(self.opts)
        if generator is not None:
            opts.setdefault("seed", generator.initial_seed())
        waves = [vocode_offline(self.cfg, item.T.cpu().numpy(), self.method, **opts) for item in feats]
        length = length if length is not None else feats.shape[-1] * self.cfg.hop_length
        out = np.zeros((len(waves), length), np.float32)
        for row, wave in zip(out, waves):
            row[: min(length, len(wave))] = wave[:length]
        return torch.from_numpy(out).to(feats.device)
