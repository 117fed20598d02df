"""Parallel WaveGAN-style vocoder: shapes, receptive field, the fast passes against the blocks,
weight norm, the discriminator schedule, training through the Trainer, exact resume, config errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch.nn.utils import parametrize

from vc.errors import ConfigError, DataError
from vc.models import build_model
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer
from vc.vocoders.parallel_wavenet import (
    ParallelWaveNet,
    ParallelWaveNetParams,
    WaveDiscriminator,
    WaveNetGenerator,
)

DIM = 5
TINY = {"layers": 4, "stacks": 2, "residual_channels": 8, "gate_channels": 8, "skip_channels": 6,
        "upsample": {"scales": [2, 2], "context_frames": 1},
        "discriminator_layers": 3, "discriminator_channels": 8,
        "stft": {"fft_sizes": [32, 64], "hop_sizes": [8, 16], "win_lengths": [16, 32]},
        "discriminator_start": 2}
FRAMES = 12  # frames per training segment: 48 samples


def tiny(seed: int = 0, **overrides) -> ParallelWaveNet:
    torch.manual_seed(seed)
    return build_model("parallel_wavenet", DIM, {**TINY, **overrides})


def randomise_biases(module: torch.nn.Module) -> None:
    """Non-zero biases everywhere, so that folding them into other weights is tested."""
    with torch.no_grad():
        for m in module.modules():
            if getattr(m, "bias", None) is not None:
                m.bias.normal_(0, 0.3)


def block_reference(g: WaveNetGenerator, noise: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The generator's definition through the blocks' own forward."""
    x, skips = g.first(noise), 0
    for block in g.blocks:
        x, skip = block(x, c)
        skips = skips + skip
    return g.out2(torch.relu(g.out1(torch.relu(skips * math.sqrt(1 / len(g.blocks))))))


class SegmentLoader:
    """Training batches as a pure function of (seed, step), with set_step for exact resume."""

    def __init__(self, seed: int = 0, epoch: int = 3) -> None:
        self.seed, self.epoch, self.start = seed, epoch, 0

    def set_step(self, step: int) -> None:
        self.start = step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for step in range(self.start, (self.start // self.epoch + 1) * self.epoch):
            g = torch.Generator().manual_seed(self.seed * 1000 + step)
            yield {"feats": torch.randn(2, DIM, FRAMES + 2, generator=g),
                   "audio": 0.5 * torch.tanh(torch.randn(2, FRAMES * 4, generator=g))}


def train(exp: Path, max_steps: int, model: ParallelWaveNet, resume: bool = False, **overrides) -> Trainer:
    config = parse_train_config({"max_steps": max_steps, "log_interval": 1, "eval_interval": 2, "eval_batches": 1,
                                 "save_interval": 100, **overrides})
    trainer = Trainer(model, config, exp, SegmentLoader(), valid_loader=SegmentLoader(seed=1), device="cpu")
    trainer.fit(resume=resume)
    return trainer


def params_of(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_shapes_and_lengths() -> None:
    model = tiny().eval()
    assert (model.hop_length, model.context_frames) == (4, 1)
    assert model.inference(torch.randn(2, DIM, 7)).shape == (2, 28)
    assert model(torch.randn(3, DIM, 7 + 2)).shape == (3, 28)
    assert model.discriminator(torch.randn(2, 1, 50)).shape == (2, 1, 50)
    assert model.inference(torch.randn(1, DIM, 7)).dtype == torch.float32


def test_receptive_field_is_symmetric_and_exact() -> None:
    model = tiny()
    g = model.generator
    assert model.receptive_field == g.receptive_field == 2 * (1 + 2 + 1 + 2) + 1
    assert ParallelWaveNet(DIM).receptive_field == 2 * 3 * (2**10 - 1) + 1
    randomise_biases(g)
    noise = torch.randn(1, 1, 60, requires_grad=True)
    c = torch.randn(1, DIM, 60)
    g(noise, c)[0, 0, 30].backward()
    reached = torch.nonzero(noise.grad[0, 0]).flatten()
    half = (model.receptive_field - 1) // 2
    assert reached.tolist() == list(range(30 - half, 30 + half + 1))  # non-causal: both sides, nothing further


@pytest.mark.parametrize("overrides", [{}, {"kernel_size": 5, "gate_channels": 10}])
def test_fast_passes_equal_the_blocks(overrides: dict) -> None:
    g = tiny(**overrides).generator.eval()
    randomise_biases(g)
    noise, c = torch.randn(2, 1, 70), torch.randn(2, DIM, 70)
    with torch.no_grad():
        expected = block_reference(g, noise, c)
        torch.testing.assert_close(g(noise, c), expected, rtol=0, atol=1e-6)
        for chunk in (16, 70, 8192):  # chunks that split the sequence and one that does not
            torch.testing.assert_close(g.generate(noise, c, chunk=chunk), expected, rtol=0, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = g.generate(noise, c, chunk=16)
    assert fast.dtype == torch.float32
    assert (fast - expected).abs().max() < 0.03 * expected.abs().max()  # bf16 precision, same function


def test_paper_size_generator_and_discriminator() -> None:
    model = ParallelWaveNet(80)
    model.prepare_for_inference()
    size = sum(p.numel() for net in (model.upsampler, model.generator) for p in net.parameters())
    assert 1.33e6 <= size <= 1.4e6, size  # Parallel WaveGAN v1: 1.33 M
    convs = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [m.dilation[0] for m in convs] == [1, 1, 2, 3, 4, 5, 6, 7, 8, 1]  # PWG v1 (dilation_factor 1)
    assert [m.dilation[0] for m in WaveDiscriminator(5, 8, dilation_factor=2).net if hasattr(m, "dilation")] \
        == [1, 2, 4, 8, 1]


def test_weight_norm_removal_keeps_the_output() -> None:
    model = tiny().eval()
    assert all(parametrize.is_parametrized(m, "weight") for m in model.modules() if isinstance(m, torch.nn.Conv1d))
    feats = torch.randn(1, DIM, 9)
    before = model.inference(feats, torch.Generator().manual_seed(7))
    model.prepare_for_inference()
    assert not any(parametrize.is_parametrized(m) for m in model.modules())
    torch.testing.assert_close(model.inference(feats, torch.Generator().manual_seed(7)), before, rtol=0, atol=1e-6)


def test_inference_is_deterministic_for_a_seeded_generator() -> None:
    model = tiny().eval()
    feats = torch.randn(2, DIM, 9)
    a = model.inference(feats, torch.Generator().manual_seed(3))
    b = model.inference(feats, torch.Generator().manual_seed(3))
    c = model.inference(feats, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_one_step_trains_the_generator_only_before_discriminator_start(tmp_path: Path) -> None:
    model = tiny()
    trainer = Trainer(model, parse_train_config({"max_steps": 10}), tmp_path, SegmentLoader(), device="cpu")
    batch = next(iter(SegmentLoader()))
    g_before, d_before = params_of(model.generator), params_of(model.discriminator)
    up_before = params_of(model.upsampler)
    logs = trainer.train_one(batch)
    assert set(logs) == {"g/total", "stft/sc", "stft/mag"} and all(math.isfinite(v) for v in logs.values())
    assert logs["g/total"] == pytest.approx(logs["stft/sc"] + logs["stft/mag"])
    assert not same(g_before, params_of(model.generator)) and not same(up_before, params_of(model.upsampler))
    assert same(d_before, params_of(model.discriminator))

    trainer.step = model.params.discriminator_start  # from here the adversarial terms run
    g_before, d_before = params_of(model.generator), params_of(model.discriminator)
    logs = trainer.train_one(batch)
    assert {"g/adv", "d/total", "d/real", "d/fake"} <= set(logs) and all(math.isfinite(v) for v in logs.values())
    assert logs["g/total"] == pytest.approx(logs["stft/sc"] + logs["stft/mag"] + 4.0 * logs["g/adv"], rel=1e-5)
    assert not same(g_before, params_of(model.generator)) and not same(d_before, params_of(model.discriminator))


def test_discriminator_waits_for_its_start_in_a_run(tmp_path: Path) -> None:
    model = tiny(discriminator_start=3)
    d_initial = params_of(model.discriminator)
    train(tmp_path / "a", 3, model)
    assert same(d_initial, params_of(model.discriminator))
    log = (tmp_path / "a" / "log" / "train.log").read_text()
    assert "valid step=2 stft/sc=" in log and "d/total" not in log
    train(tmp_path / "a", 4, model, resume=True)
    assert not same(d_initial, params_of(model.discriminator))
    assert "d/total=" in (tmp_path / "a" / "log" / "train.log").read_text()


def test_resume_across_discriminator_start_is_exact(tmp_path: Path) -> None:
    straight = train(tmp_path / "a", 4, tiny(dropout=0.1))
    train(tmp_path / "b", 1, tiny(dropout=0.1))
    resumed = train(tmp_path / "b", 4, tiny(seed=9, dropout=0.1), resume=True)
    state, other = straight.model.state_dict(), resumed.model.state_dict()
    assert state.keys() == other.keys()
    for key, value in state.items():
        assert torch.equal(value, other[key]), key


def test_validation_is_seeded_and_leaves_the_global_stream_alone() -> None:
    model = tiny().eval()
    batch = next(iter(SegmentLoader()))
    state = torch.get_rng_state()
    first = model.validation_step(batch)
    assert torch.equal(state, torch.get_rng_state())
    assert first == model.validation_step(batch) and set(first) == {"stft/sc", "stft/mag", "stft/total"}


def test_mismatched_batch_is_a_data_error(tmp_path: Path) -> None:
    model = tiny()
    trainer = Trainer(model, parse_train_config({"max_steps": 1}), tmp_path, SegmentLoader(), device="cpu")
    batch = next(iter(SegmentLoader()))
    with pytest.raises(DataError, match="feats give 48 samples but audio has 44"):
        trainer.train_one({"feats": batch["feats"], "audio": batch["audio"][:, :44]})


@pytest.mark.parametrize("params, match", [
    ({"layers": 5, "stacks": 2}, r"model_params\.layers: must be a multiple of stacks"),
    ({"residual_channels": 0}, r"model_params\.residual_channels: must be >= 1"),
    ({"gate_channels": 7}, r"model_params\.gate_channels: must be even"),
    ({"kernel_size": 4}, r"model_params\.kernel_size: must be odd"),
    ({"discriminator_kernel_size": 2}, r"model_params\.discriminator_kernel_size: must be odd"),
    ({"dropout": 1.0}, r"model_params\.dropout: must be in \[0, 1\)"),
    ({"lambda_adv": -1.0}, r"model_params\.lambda_adv: must be >= 0"),
    ({"upsample": {"scales": [4, 0]}}, r"model_params\.upsample\.scales\[1\]: must be >= 1, got 0"),
    ({"stft": {"fft_sizes": [64], "hop_sizes": [16, 8]}}, r"model_params\.stft: .*one entry per resolution"),
    ({"stft": {"fft_size": [64]}}, r"model_params\.stft\.fft_size: unknown key \(expected one of: fft_sizes, "),
    ({"gan_loss": "lsgn"}, r"model_params\.gan_loss: unknown GAN loss 'lsgn'"),
    ({"discriminator_strat": 5}, r"model_params\.discriminator_strat: unknown key"),
])
def test_bad_params_name_the_key(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_model("parallel_wavenet", DIM, params)


def test_params_defaults_are_parallel_wavegan_v1() -> None:
    p = ParallelWaveNetParams()
    assert (p.layers, p.stacks, p.residual_channels, p.gate_channels, p.skip_channels, p.kernel_size) == \
        (30, 3, 64, 128, 64, 3)
    assert (p.upsample.scales, p.upsample.context_frames) == ([4, 4, 4, 4], 2)
    assert (p.lambda_adv, p.discriminator_start, p.gan_loss) == (4.0, 100000, "lsgan")
