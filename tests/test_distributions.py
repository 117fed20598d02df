"""Mu-law coding and the discretized logistic mixture: likelihood against direct formulas, sampling."""

from __future__ import annotations

import math

import pytest
import torch

from vc.vocoders.distributions import (
    discretized_mix_logistic_nll,
    gumbel_noise,
    mulaw_compress,
    mulaw_decode,
    mulaw_encode,
    sample_categorical,
    sample_discretized_mix_logistic,
)


@pytest.mark.parametrize("bits", [8, 10])
def test_mulaw_round_trip(bits: int) -> None:
    mu = 2 ** bits - 1
    x = torch.linspace(-1, 1, 20001, dtype=torch.float64)
    classes = mulaw_encode(x, bits)
    assert classes.min() == 0 and classes.max() == mu
    assert mulaw_encode(torch.zeros(1), bits).item() == 2 ** (bits - 1)
    # Decoding returns the centre of the class's bin: within half a bin (1 / mu) in the companded domain.
    error = (mulaw_compress(mulaw_decode(classes, bits, torch.float64), mu) - mulaw_compress(x, mu)).abs()
    assert error.max() <= 1 / mu + 1e-9
    assert (mulaw_decode(classes, bits, torch.float64) - x).abs()[x.abs() < 0.01].max() < 2e-3 / 2 ** (bits - 8)
    every = torch.arange(mu + 1)
    assert torch.equal(mulaw_encode(mulaw_decode(every, bits, torch.float64), bits), every)


def _logistic_mass(lo: float, hi: float, mean: float, log_scale: float) -> float:
    """P(lo < X <= hi) for a logistic, in float64; an infinite ``hi`` uses the survival
    function so that a tiny upper tail keeps its precision."""
    def sigmoid(v: float) -> float:
        return 1 / (1 + math.exp(-(v - mean) / math.exp(log_scale)))
    if hi == math.inf:
        return 1 / (1 + math.exp((lo - mean) / math.exp(log_scale)))
    return sigmoid(hi) - (0.0 if lo == -math.inf else sigmoid(lo))


def test_mol_nll_matches_the_bin_mass() -> None:
    classes = 65536
    h = 1 / (classes - 1)
    means, log_scales = [0.1, -0.4], [-4.0, -3.0]
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    x = torch.tensor([0.1, 0.12, 0.05, -0.4, -0.37, -1.0, 1.0], dtype=torch.float64)
    logits = torch.tensor([*weights.log().tolist(), *means, *log_scales], dtype=torch.float64)
    logits = logits[None, :, None].expand(1, 6, len(x))
    nll = discretized_mix_logistic_nll(logits, x[None], classes)[0]
    for i, v in enumerate(x.tolist()):
        lo = -math.inf if v == -1.0 else v - h
        hi = math.inf if v == 1.0 else v + h
        mass = sum(w * _logistic_mass(lo, hi, m, s) for w, m, s in zip(weights.tolist(), means, log_scales))
        assert nll[i].item() == pytest.approx(-math.log(mass), rel=1e-6), v
    # One component alone: exactly -log(CDF(x + h) - CDF(x - h)).
    single = torch.tensor([0.0, 0.1, -4.0], dtype=torch.float64)[None, :, None]
    expected = -math.log(_logistic_mass(0.12 - h, 0.12 + h, 0.1, -4.0))
    assert discretized_mix_logistic_nll(single, torch.tensor([[0.12]], dtype=torch.float64), classes).item() \
        == pytest.approx(expected, rel=1e-9)


def test_mol_bin_masses_sum_to_one() -> None:
    classes = 256  # coarse bins, so every bin is evaluated
    centres = torch.linspace(-1, 1, classes, dtype=torch.float64)
    logits = torch.tensor([0.0, 1.0, 0.3, -0.6, -2.0, -1.5], dtype=torch.float64)[None, :, None]
    nll = discretized_mix_logistic_nll(logits.expand(1, 6, classes), centres[None], classes)
    assert nll.neg().exp().sum().item() == pytest.approx(1.0, abs=1e-3)


def test_mol_sampling_picks_components_by_weight_and_lands_on_the_mean() -> None:
    n = 20000
    logits = torch.tensor([0.0, math.log(3.0), -0.5, 0.5, -15.0, -15.0])[None, :, None].expand(1, 6, n)
    samples = sample_discretized_mix_logistic(logits, log_scale_min=-15.0, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (1, n)
    near = ((samples - 0.5).abs() < 1e-4) | ((samples + 0.5).abs() < 1e-4)
    assert near.all()  # a tiny scale: every sample is one of the means
    assert (samples > 0).float().mean().item() == pytest.approx(0.75, abs=0.015)


def test_mol_log_scale_min_floors_the_spread() -> None:
    logits = torch.tensor([0.0, 0.2, -30.0])[None, :, None].expand(1, 3, 20000)
    samples = sample_discretized_mix_logistic(logits, log_scale_min=-4.0, generator=torch.Generator().manual_seed(1))
    # Logistic std is scale * pi / sqrt(3); with the floor, scale is e^-4 rather than e^-30.
    assert samples.std().item() == pytest.approx(math.exp(-4.0) * math.pi / math.sqrt(3), rel=0.05)
    assert samples.mean().item() == pytest.approx(0.2, abs=1e-3)


def test_samples_stay_in_range() -> None:
    logits = torch.tensor([0.0, 0.95, 0.0])[None, :, None].expand(1, 3, 5000)
    samples = sample_discretized_mix_logistic(logits, generator=torch.Generator().manual_seed(0))
    assert samples.max().item() == 1.0 and samples.min().item() >= -1.0


def test_generator_makes_sampling_reproducible() -> None:
    logits = torch.randn(2, 30, 100)
    a = sample_discretized_mix_logistic(logits, generator=torch.Generator().manual_seed(7))
    b = sample_discretized_mix_logistic(logits, generator=torch.Generator().manual_seed(7))
    c = sample_discretized_mix_logistic(logits, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    g1, g2 = (gumbel_noise((2, 5), torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(g1, g2)


def test_categorical_sampling_follows_softmax_and_temperature() -> None:
    n = 30000
    logits = torch.tensor([0.0, 1.0, 2.0])[None, :, None].expand(1, 3, n)
    g = torch.Generator().manual_seed(0)
    counts = torch.bincount(sample_categorical(logits, gumbel_noise((1, 3, n), g)).flatten(), minlength=3) / n
    torch.testing.assert_close(counts, torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0), atol=0.01, rtol=0)
    cold = sample_categorical(logits, gumbel_noise((1, 3, n), g), temperature=0.1)
    assert (cold == 2).float().mean().item() > 0.99
