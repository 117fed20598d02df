"""The autoregressive WaveNet vocoder: receptive field, causality, the incremental generator
against the teacher-forced forward and against naive generation, training through the Trainer."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import pytest
import torch

from vc.errors import ConfigError
from vc.models import build_model
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer
from vc.vocoders import wavenet
from vc.vocoders.base import UpsampleParams
from vc.vocoders.wavenet import WaveNetParams, WaveNetVocoder, _dropout, _Taps

DIM = 6
SCALES = [2, 3]  # hop 6
CONTEXT = 1
TINY = {"layers": 6, "stacks": 2, "residual_channels": 8, "gate_channels": 16, "skip_channels": 8}


def tiny(output: str = "mol", seed: int = 0, **overrides) -> WaveNetVocoder:
    """A small vocoder with weights large enough that every layer matters."""
    torch.manual_seed(seed)
    params = WaveNetParams(output=output, upsample=UpsampleParams(SCALES, CONTEXT), **{**TINY, **overrides})
    model = WaveNetVocoder(DIM, params)
    with torch.no_grad():
        for p in model.wavenet.parameters():
            p.normal_(0, 0.4)
    return model


def reference_logits(model: WaveNetVocoder, inputs: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The network as the shared WaveNetBlock defines it, block by block (conv layout)."""
    net = model.wavenet
    x = net.input(inputs).transpose(1, 2) if model.params.output == "mulaw" else net.input(inputs[:, None])
    skips = 0
    for block in net.blocks:
        x, skip = block(x, c)
        skips = skips + skip
    return net.head(skips * math.sqrt(1 / len(net.blocks)))


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generation chunks of 16 steps (the largest dilation is 4): short runs cross several."""
    monkeypatch.setattr(wavenet, "CHUNK", 16)


def random_inputs(model: WaveNetVocoder, batch: int, steps: int) -> torch.Tensor:
    return model.teacher_inputs(torch.rand(batch, steps) * 2 - 1)


def test_receptive_field() -> None:
    default = WaveNetVocoder(80)
    assert default.receptive_field == 505  # r9y9's preset: 24 layers, 4 stacks, kernel 3
    assert tiny().receptive_field == 2 * (1 + 2 + 4) * 2 + 1
    assert tiny(kernel_size=2).receptive_field == 15
    params = sum(p.numel() for p in default.parameters())
    assert abs(params - 3.7e6) / 3.7e6 < 0.02, params  # r9y9's MoL preset: about 3.7 M


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_forward_matches_the_shared_blocks(output: str) -> None:
    model = tiny(output).eval()
    inputs, c = random_inputs(model, 2, 50), torch.randn(2, DIM, 50)
    with torch.no_grad():
        torch.testing.assert_close(model(inputs, c), reference_logits(model, inputs, c), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_gradients_match_the_shared_blocks(output: str) -> None:
    model = tiny(output).eval()  # eval: no dropout, so both passes compute the same function
    inputs, c = random_inputs(model, 2, 40), torch.randn(2, DIM, 40, requires_grad=True)
    grads = []
    for logits_of in (model.forward, lambda i, c: reference_logits(model, i, c)):
        model.zero_grad()
        c.grad = None
        logits_of(inputs, c).square().mean().backward()
        grads.append({"c": c.grad.clone(), **{n: p.grad.clone() for n, p in model.wavenet.named_parameters()}})
    for name, fast in grads[0].items():
        torch.testing.assert_close(fast, grads[1][name], rtol=1e-4, atol=1e-6, msg=name)


def test_tap_matrix_gradient() -> None:
    x = torch.randn(2, 11, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 11, 2, dtype=torch.float64, requires_grad=True)
    for dilation in (1, 4, 20):  # 20: every past tap reaches before the start
        assert torch.autograd.gradcheck(lambda x, c: _Taps.apply(x, c, dilation, 3), (x, c))
    taps = _Taps.apply(x, c, 4, 3)
    assert torch.equal(taps[:, 8:, :3], x[:, :3]) and torch.equal(taps[:, :4, 3:6], torch.zeros(2, 4, 3))


def test_outputs_do_not_see_the_future() -> None:
    model = tiny().eval()
    inputs, c = random_inputs(model, 1, 64), torch.randn(1, DIM, 64)
    t = 40
    later_inputs, later_c = inputs.clone(), c.clone()
    later_inputs[:, t + 1:] = torch.rand(1, 64 - t - 1)
    later_c[..., t + 1:] += 1.0
    with torch.no_grad():
        base, changed = model(inputs, c), model(later_inputs, later_c)
    assert torch.equal(base[..., : t + 1], changed[..., : t + 1])
    assert not torch.allclose(base[..., t + 1], changed[..., t + 1])


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_incremental_teacher_forcing_matches_forward(output: str, small_chunks: None) -> None:
    model = tiny(output).eval()
    steps = 5 * model.chunk + 3  # the queues carry over from chunk to chunk
    inputs, c = random_inputs(model, 3, steps), torch.randn(3, DIM, steps)
    with torch.no_grad():
        expected = model(inputs, c)
    torch.testing.assert_close(model.incremental_forward(inputs, c), expected, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_naive_and_incremental_generation_agree(output: str, small_chunks: None) -> None:
    model = tiny(output)
    steps = 4 * model.chunk + 5
    c = torch.randn(2, DIM, steps)
    prompt = torch.rand(2, 20) * 2 - 1  # ends inside the second chunk
    for given in (None, prompt):
        fast = model.generate(c, torch.Generator().manual_seed(3), prompt=given)
        slow = model.generate(c, torch.Generator().manual_seed(3), method="naive", prompt=given)
        if output == "mol":
            torch.testing.assert_close(fast, slow, rtol=0, atol=1e-5)
        else:
            assert torch.equal(fast, slow)
        assert fast.std() > 0.05  # really sampled, not constant
    assert torch.equal(fast[:, :20], prompt)
    other = model.generate(c, torch.Generator().manual_seed(4))
    assert not torch.allclose(other, model.generate(c, torch.Generator().manual_seed(3)))
    assert model.training  # generation switched dropout off only for itself


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_inference_length_and_range(output: str) -> None:
    model = tiny(output, mulaw_bits=10)
    feats = torch.randn(2, DIM, 7)
    audio = model.inference(feats, torch.Generator().manual_seed(0))
    assert audio.shape == (2, 7 * model.hop_length)
    assert audio.abs().max() <= 1.0


def test_generation_arguments_are_checked() -> None:
    model = tiny()
    c = torch.randn(1, DIM, 10)
    with pytest.raises(ValueError, match="temperature"):
        model.generate(c, temperature=0.5)
    with pytest.raises(ValueError, match="method"):
        model.generate(c, method="fast")
    with pytest.raises(ValueError, match="prompt has 11 samples"):
        model.generate(c, prompt=torch.zeros(1, 11))


def test_fast_dropout_drops_p_and_keeps_the_mean() -> None:
    x = torch.ones(1_000_000)
    y = _dropout(x, 0.05, training=True)
    assert (y == 0).float().mean().item() == pytest.approx(0.05, abs=0.002)
    assert y.mean().item() == pytest.approx(1.0, abs=0.005)
    assert _dropout(x, 0.05, training=False) is x


@pytest.mark.parametrize("params, key", [
    ({"mulaw_bits": 9}, "mulaw_bits"),
    ({"output": "raw"}, "output"),
    ({"layers": 6, "stacks": 4}, "layers"),
    ({"gate_channels": 15}, "gate_channels"),
    ({"kernel_size": 1}, "kernel_size"),
    ({"dropout": 1.0}, "dropout"),
    ({"upsample": {"scales": [4, 0]}}, "upsample"),
    ({"upsample": {"context_frames": -1}}, "upsample"),
])
def test_bad_params_name_their_key(params: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"model_params\.{key}\b"):
        build_model("wavenet", DIM, params)


class SegmentLoader:
    """Audio-layout batches, each a pure function of (seed, step), with set_step."""

    def __init__(self, frames: int = 8, epoch: int = 3) -> None:
        self.frames, self.epoch, self.start = frames, epoch, 0

    def set_step(self, step: int) -> None:
        self.start = step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        end = (self.start // self.epoch + 1) * self.epoch
        hop = SCALES[0] * SCALES[1]
        for step in range(self.start, end):
            g = torch.Generator().manual_seed(step)
            yield {"feats": torch.randn(2, DIM, self.frames + 2 * CONTEXT, generator=g),
                   "audio": torch.rand(2, self.frames * hop, generator=g) * 1.8 - 0.9}


def fit(exp: Path, max_steps: int, output: str = "mol", resume: bool = False, seed: int = 0) -> Trainer:
    config = parse_train_config({"max_steps": max_steps, "log_interval": 1, "eval_interval": 2,
                                 "eval_batches": 1, "save_interval": 2, "optim": {"wavenet": {"lr": 1e-3}}})
    trainer = Trainer(tiny(output, seed=seed), config, exp, SegmentLoader(), valid_loader=SegmentLoader(),
                      device="cpu")
    trainer.fit(resume=resume)
    return trainer


@pytest.mark.parametrize("output", ["mol", "mulaw"])
def test_a_training_step_updates_and_logs(tmp_path: Path, output: str) -> None:
    before = {k: v.clone() for k, v in tiny(output).state_dict().items()}
    trainer = fit(tmp_path, 2, output)
    after = trainer.model.state_dict()
    assert set(trainer.model.optimizer_groups()) == {"wavenet"}
    for key in ("upsampler.conv_in.weight", "wavenet.blocks.0.conv.weight", "wavenet.head.3.bias"):
        assert not torch.equal(before[key], after[key]), key
    log = (tmp_path / "log" / "train.log").read_text()
    losses = [float(f.split("=")[1]) for line in log.splitlines() for f in line.split() if f.startswith("loss=")]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)  # two steps and one validation
    assert "valid step=2 loss=" in log


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = fit(tmp_path / "a", 4)
    fit(tmp_path / "b", 2)
    resumed = fit(tmp_path / "b", 4, resume=True, seed=123)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
