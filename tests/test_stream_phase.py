"""Streaming phase reconstruction (vc.vocoders.streaming_phase): block invariance, timing, quality, errors."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
import torch

from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer, Spectrogram
from vc.errors import ConfigError, DataError
from vc.vocoders.streaming_phase import STREAM_VOCODERS, StreamingPhaseVocoder, _OverlapAdd, _RTPGHI, vocode_offline
from vc.vocoders.griffin_lim import GriffinLim, spectral_convergence

LOGMEL = FeatureConfig()
# A shorter window than n_fft and a hop that is not n_fft / 4.
ODD = FeatureConfig(kind="linear", n_fft=512, win_length=400, hop_length=160)
SETTINGS = [("rtpghi", {"lookahead": 0}), ("rtpghi", {"lookahead": 1}),
            ("rtisi_la", {"lookahead": 1, "iterations": 2}), ("rtisi_la", {"lookahead": 2, "init": "partial"})]


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def random_split(frames: int, rng: np.random.Generator) -> list[int]:
    """Block sizes summing to ``frames``, with empty blocks among them."""
    sizes = []
    while sum(sizes) < frames:
        sizes.append(min(int(rng.integers(0, 7)), frames - sum(sizes)))
    return sizes


@pytest.mark.parametrize("cfg", [LOGMEL, ODD], ids=["logmel", "linear-odd"])
@pytest.mark.parametrize("method,opts", SETTINGS, ids=lambda x: str(x))
def test_any_block_split_gives_the_offline_output(speech: np.ndarray, cfg: FeatureConfig, method: str,
                                                  opts: dict) -> None:
    feats = FeatureComputer(cfg)(speech[:12000])
    whole = vocode_offline(cfg, feats, method, **opts)
    assert whole.dtype == np.float32 and len(whole) == len(feats) * cfg.hop_length
    rng = np.random.default_rng(0)
    vocoder = StreamingPhaseVocoder(cfg, method, **opts)
    for sizes in ([1] * len(feats), random_split(len(feats), rng), random_split(len(feats), rng)):
        vocoder.reset()
        pieces, pushed = [], 0
        for size in sizes:
            pieces.append(vocoder.push(feats[pushed : pushed + size]))
            pushed += size
            assert sum(map(len, pieces)) == vocoder.samples_ready(pushed)
        pieces.append(vocoder.flush())
        # Exact: mel inversion always runs on same-shaped chunks and the rest frame by frame,
        # and a last-digit difference could reorder the heap and change whole phases.
        np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_samples_ready_formula() -> None:
    vocoder = StreamingPhaseVocoder(LOGMEL, "rtpghi", lookahead=1)
    assert [vocoder.samples_ready(k) for k in (0, 1, 2, 3, 4, 10)] == [0, 0, 0, 0, 256, 7 * 256]
    odd = StreamingPhaseVocoder(ODD, "rtisi_la", lookahead=2)
    # The 400-sample window sits 56 samples into the 512-sample frame: it ends 200 after the centre.
    assert odd.lookahead_frames == 2
    assert [odd.samples_ready(k) for k in (2, 3, 4, 10)] == [0, 0, 120, 8 * 160 - 200]


def test_no_frames_and_empty_pushes() -> None:
    empty = np.zeros((0, LOGMEL.dim), np.float32)
    assert len(vocode_offline(LOGMEL, empty)) == 0
    vocoder = StreamingPhaseVocoder(LOGMEL)
    assert len(vocoder.push(empty)) == 0 and len(vocoder.flush()) == 0


@pytest.mark.parametrize("cfg", [LOGMEL.replace(kind="linear"), ODD], ids=["n_fft/4", "odd"])
def test_overlap_add_inverts_a_consistent_stft(cfg: FeatureConfig) -> None:
    """The window-squared-sum normalisation, whatever the window and hop: true STFT frames give the signal back."""
    wav = np.random.default_rng(1).standard_normal(5000)
    stft = Spectrogram(cfg).double().stft(torch.from_numpy(wav)[None])[0].T.numpy()
    window = np.zeros(cfg.n_fft)
    left = (cfg.n_fft - cfg.win_size) // 2
    window[left : left + cfg.win_size] = np.hanning(cfg.win_size + 1)[:-1]
    ola = _OverlapAdd(window, cfg.hop_length)
    for frame in stft:
        ola.add(np.fft.irfft(frame, cfg.n_fft))
    np.testing.assert_allclose(ola.take(len(wav)), wav, atol=1e-5)


@pytest.mark.parametrize("method", STREAM_VOCODERS)
def test_output_is_close_to_the_target_on_real_speech(speech: np.ndarray, method: str) -> None:
    """Re-analysed output against the magnitude the vocoder was given (log-mel: its NNLS inversion).

    Measured on this utterance with the defaults (lookahead 1): rtisi_la 0.177, rtpghi 0.226;
    random phase 0.64, offline Griffin-Lim (32 iterations) 0.151.
    """
    feats = FeatureComputer(LOGMEL)(speech)
    gl = GriffinLim(LOGMEL, n_iter=0)
    target = gl.magnitude(torch.from_numpy(feats).T[None])

    def convergence(wav: np.ndarray) -> float:
        estimate = Spectrogram(LOGMEL)(torch.from_numpy(np.ascontiguousarray(wav[: len(speech)]))[None])
        return float(spectral_convergence(target, estimate)[0])

    random_phase = gl(torch.from_numpy(feats).T[None], len(speech), generator=torch.Generator().manual_seed(0))[0]
    assert convergence(random_phase.numpy()) > 0.55
    assert convergence(vocode_offline(LOGMEL, feats, method)) < {"rtisi_la": 0.21, "rtpghi": 0.27}[method]


@pytest.mark.parametrize("lookahead", [0, 1])
def test_rtpghi_is_close_on_true_magnitudes(speech: np.ndarray, lookahead: int) -> None:
    """Log-linear features carry the true |STFT|. Measured: lookahead 1 0.106, lookahead 0 0.113
    (0.197 with a plain backward difference, without the curvature correction)."""
    cfg = LOGMEL.replace(kind="linear")
    feats = FeatureComputer(cfg)(speech)
    out = vocode_offline(cfg, feats, "rtpghi", lookahead=lookahead)[: len(speech)]
    estimate = Spectrogram(cfg)(torch.from_numpy(out)[None])
    assert float(spectral_convergence(torch.from_numpy(np.exp(feats)).T[None], estimate)[0]) < 0.15


@pytest.mark.parametrize("method", STREAM_VOCODERS)
def test_output_lines_up_with_the_input(method: str) -> None:
    """A click at sample 3000 comes out there (centred frames, frame 0's first half dropped).

    Phase from magnitude smears it a little: measured peaks 5-8 samples early, 88-99% of the
    energy within 4 ms; a frame's misalignment would put it 256 samples off.
    """
    cfg = LOGMEL.replace(kind="linear")
    wav = np.zeros(8000, np.float32)
    wav[3000] = 1.0
    out = vocode_offline(cfg, FeatureComputer(cfg)(wav), method)
    assert abs(int(np.argmax(np.abs(out))) - 3000) <= 32
    assert np.square(out[3000 - 64 : 3000 + 65]).sum() > 0.8 * np.square(out).sum()


def heap_integration(engine: _RTPGHI, logs: np.ndarray, advance: np.ndarray, dphase: np.ndarray,
                     random: np.ndarray) -> np.ndarray:
    """RTPGHI's heap integration as Průša & Holighaus write it, for comparison."""
    n = len(logs)
    prev_logs, prev_phase, prev_advance = engine.prev
    threshold = max(logs.max(), prev_logs.max()) + engine.log_tol
    phase, todo = random.copy(), logs >= threshold
    heap = [(-prev_logs[k], k) for k in range(n) if prev_logs[k] >= threshold]  # previous frame: k, this one: n + k
    heapq.heapify(heap)
    while todo.any():
        if not heap:
            k = int(np.argmax(np.where(todo, logs, -np.inf)))
            todo[k] = False
            heapq.heappush(heap, (-logs[k], n + k))
        _, k = heapq.heappop(heap)
        if k < n:
            if todo[k]:
                phase[k] = prev_phase[k] + (prev_advance[k] + advance[k]) / 2
                todo[k] = False
                heapq.heappush(heap, (-logs[k], n + k))
            continue
        for j in (k - n - 1, k - n + 1):
            if 0 <= j < n and todo[j]:
                phase[j] = phase[k - n] + (j - k + n) * (dphase[k - n] + dphase[j]) / 2
                todo[j] = False
                heapq.heappush(heap, (-logs[j], n + j))
    return phase


@pytest.mark.parametrize("trial", range(6))
def test_vectorised_integration_equals_the_heap(trial: int) -> None:
    rng = np.random.default_rng(trial)
    engine = _RTPGHI(LOGMEL.replace(n_fft=64, win_length=64, hop_length=16), 0, 1e-3, 0)
    n = 33
    prev_logs, logs = rng.normal(0, 3, n), rng.normal(0, 3, n)
    if trial % 2:  # an onset: a stretch the previous frame does not reach, and silent bins between
        prev_logs[5:20] = -30
        logs[[8, 14, 25]] = -30
    engine.prev = (prev_logs, rng.uniform(-np.pi, np.pi, n), rng.normal(0, 1, n))
    args = (logs, rng.normal(0, 1, n), rng.normal(0, 1, n), rng.uniform(0, 2 * np.pi, n))
    np.testing.assert_allclose(engine._integrate(*args), heap_integration(engine, *args), atol=1e-9)


def test_seed_and_reset_make_it_repeatable(speech: np.ndarray) -> None:
    feats = FeatureComputer(LOGMEL)(speech[:8000])
    vocoder = StreamingPhaseVocoder(LOGMEL, "rtpghi", seed=3)
    first = np.concatenate([vocoder.push(feats), vocoder.flush()])
    vocoder.reset()
    np.testing.assert_array_equal(np.concatenate([vocoder.push(feats), vocoder.flush()]), first)
    assert not np.array_equal(vocode_offline(LOGMEL, feats, "rtpghi", seed=4), first)


@pytest.mark.parametrize("cfg,method,opts,match", [
    (FeatureConfig(kind="world"), "rtpghi", {}, "log-mel or log-linear features, not kind 'world'"),
    (LOGMEL, "wavenet", {}, "unknown method 'wavenet'"),
    (LOGMEL, "rtpghi", {"iterations": 4}, "unknown option.*iterations"),
    (LOGMEL, "rtpghi", {"lookahead": 2}, "lookahead must be 0 or 1"),
    (LOGMEL, "rtisi_la", {"lookahead": -1}, "lookahead must be an integer >= 0"),
    (LOGMEL, "rtisi_la", {"iterations": 0}, "iterations must be an integer >= 1"),
    (LOGMEL, "rtisi_la", {"init": "zeros"}, "init must be 'rtpghi' or 'partial'"),
    (LOGMEL, "rtpghi", {"tol": 1.5}, "tol must be a number in"),
    (LOGMEL, "rtpghi", {"seed": "a"}, "seed must be an integer"),
])
def test_bad_settings_are_one_line_config_errors(cfg: FeatureConfig, method: str, opts: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        StreamingPhaseVocoder(cfg, method, **opts)
    assert "\n" not in str(info.value)


def test_bad_features_are_one_line_errors() -> None:
    vocoder = StreamingPhaseVocoder(LOGMEL)
    with pytest.raises(ConfigError, match=r"expected features \[frames, 80\].*got \[4, 513\]"):
        vocoder.push(np.zeros((4, 513), np.float32))
    with pytest.raises(ConfigError, match=r"got \[80\]"):
        vocoder.push(np.zeros(80, np.float32))
    feats = np.full((6, 80), -3.0, np.float32)
    feats[4, 7] = np.nan
    vocoder.push(feats[:2])
    with pytest.raises(DataError, match=r"NaN or Inf in frames 2\.\.5") as info:
        vocoder.push(feats[2:])
    assert "\n" not in str(info.value)
