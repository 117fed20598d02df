"""Multi-resolution STFT loss: against an explicit DFT, its zeros, its growth, its gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vc.vocoders.stft_loss import MultiResolutionSTFTLoss, STFTLoss


def dft_magnitude(x: np.ndarray, fft_size: int, hop: int, win_length: int) -> np.ndarray:
    """|STFT| [bins, frames] by a DFT matrix: centred frames, reflect padding, periodic Hann
    centred in the frame, power floored at 1e-7 -- the definition, written out in float64."""
    padded = np.pad(x, fft_size // 2, mode="reflect")
    window = np.zeros(fft_size)
    left = (fft_size - win_length) // 2
    window[left : left + win_length] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)
    frames = np.stack([padded[s : s + fft_size] * window
                       for s in range(0, len(padded) - fft_size + 1, hop)], axis=1)
    k, n = np.arange(fft_size // 2 + 1)[:, None], np.arange(fft_size)[None, :]
    spectrum = np.exp(-2j * np.pi * k * n / fft_size) @ frames
    return np.sqrt(np.maximum(np.abs(spectrum) ** 2, 1e-7))


def signals(batch: int = 2, length: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length) / 100
    y = torch.sin(2 * torch.pi * 7.3 * t) * torch.linspace(0.2, 1.0, length) + 0.05 * torch.randn(batch, length, generator=g)
    x = 0.8 * y + 0.1 * torch.randn(batch, length, generator=g)
    return x, y


def test_matches_an_explicit_dft() -> None:
    x, y = signals(length=64)
    x[0, 10:20] = 0.0  # exact zeros reach the floor
    y[1, 30:] = 0.0
    sc, mag = STFTLoss(16, 4, 12)(x, y)
    x_mag = np.stack([dft_magnitude(v, 16, 4, 12) for v in x.double().numpy()])
    y_mag = np.stack([dft_magnitude(v, 16, 4, 12) for v in y.double().numpy()])
    expected_sc = np.linalg.norm(y_mag - x_mag) / np.linalg.norm(y_mag)
    expected_mag = np.mean(np.abs(np.log(y_mag) - np.log(x_mag)))
    assert sc.dtype == mag.dtype == torch.float32
    assert float(sc) == pytest.approx(expected_sc, rel=1e-5)
    assert float(mag) == pytest.approx(expected_mag, rel=1e-5)


def test_multi_resolution_averages_its_resolutions() -> None:
    x, y = signals()
    loss = MultiResolutionSTFTLoss(fft_sizes=(64, 128, 32), hop_sizes=(16, 32, 8), win_lengths=(48, 96, 24))
    singles = [STFTLoss(f, h, w)(x, y) for f, h, w in ((64, 16, 48), (128, 32, 96), (32, 8, 24))]
    sc, mag = loss(x, y)
    torch.testing.assert_close(sc, torch.stack([s for s, _ in singles]).mean())
    torch.testing.assert_close(mag, torch.stack([m for _, m in singles]).mean())
    assert "window" not in loss.state_dict() and not loss.state_dict()  # windows are not checkpointed


def test_zero_for_identical_and_growing_with_noise() -> None:
    _, y = signals()
    loss = MultiResolutionSTFTLoss(fft_sizes=(64, 128), hop_sizes=(16, 32), win_lengths=(48, 96))
    sc, mag = loss(y, y)
    assert float(sc) == 0.0 and float(mag) == 0.0
    noise = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    values = [loss(y + level * noise, y) for level in (0.01, 0.05, 0.2, 1.0)]
    scs, mags = [float(s) for s, _ in values], [float(m) for _, m in values]
    assert scs == sorted(scs) and mags == sorted(mags) and scs[0] > 0 and mags[0] > 0


def test_gradient_flows_to_the_generated_signal() -> None:
    x, y = signals()
    x.requires_grad_(True)
    sc, mag = MultiResolutionSTFTLoss(fft_sizes=(64,), hop_sizes=(16,), win_lengths=(48,))(x, y)
    (sc + mag).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_float32_under_autocast() -> None:
    x, y = signals()
    loss = MultiResolutionSTFTLoss(fft_sizes=(64,), hop_sizes=(16,), win_lengths=(48,))
    xb, yb = x.bfloat16(), y.bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sc, mag = loss(xb, yb)
    assert sc.dtype == mag.dtype == torch.float32
    expected = loss(xb.float(), yb.float())
    torch.testing.assert_close((sc, mag), expected, rtol=1e-6, atol=0)


def test_distance_scores_two_waveforms() -> None:
    x, y = signals(batch=1)
    loss = MultiResolutionSTFTLoss(fft_sizes=(64, 128), hop_sizes=(16, 32), win_lengths=(48, 96))
    sc, mag = loss(x, y)
    assert loss.distance(x[0], y[0]) == pytest.approx(float(sc + mag))
    # A longer original is cut to the vocoder output's length.
    longer = torch.cat([y[0], torch.ones(50)])
    assert loss.distance(x[0], longer) == pytest.approx(float(sc + mag))
    assert loss.distance(y[0], y[0]) == 0.0


@pytest.mark.parametrize("kwargs, match", [
    ({"fft_sizes": (64,), "hop_sizes": (16, 8), "win_lengths": (48,)}, "one entry per resolution"),
    ({"fft_sizes": (64,), "hop_sizes": (16,), "win_lengths": (128,)}, "win_length <= fft_size"),
    ({"fft_sizes": (64,), "hop_sizes": (0,), "win_lengths": (48,)}, "hop_size > 0"),
    ({"window": "nope"}, "unknown window 'nope'"),
])
def test_bad_settings_are_value_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MultiResolutionSTFTLoss(**kwargs)
