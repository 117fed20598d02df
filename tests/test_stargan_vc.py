"""StarGAN-VC2: shapes at several sizes, live parameters, conditioning, one trainer step, config errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import torch

from vc.errors import ConfigError
from vc.models import build_model
from vc.models.stargan_vc import ProjectionDiscriminator, StarGANVC, StarGANVCParams, build_generator
from vc.nn import PatchGAN2d
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer

SPEAKERS = 3
TINY_G = {"channels": 8, "down_channels": [8, 8], "residual_channels": 8, "residual_blocks": 2,
          "residual_kernel": 3, "up_channels": [8, 4], "first_kernel": [3, 5], "kernel": 3}
TINY_D = {"channels": [8, 8], "final_kernel": [1, 3]}


def tiny_model(dim: int = 16, **params) -> StarGANVC:
    return StarGANVC(dim, StarGANVCParams(num_speakers=SPEAKERS, generator=TINY_G, discriminator=TINY_D,
                                          **params))


def tiny_batch(dim: int = 16, frames: int = 24) -> dict[str, torch.Tensor]:
    """Every speaker appears as a source and as a target, so every embedding row is used."""
    speaker = torch.tensor([0, 1, 2, 0, 1, 2])
    return {"feats": torch.randn(len(speaker), dim, frames), "speaker": speaker,
            "target": torch.tensor([1, 2, 0, 2, 0, 1])}


class GradientContext:
    """A StepContext that records, per update, the group's parameters the loss leaves no gradient on."""

    def __init__(self, model: StarGANVC, step: int = 0) -> None:
        self.step, self.device = step, torch.device("cpu")
        self.groups = model.optimizer_groups()
        self.dead: dict[str, list[str]] = {}

    def autocast(self) -> contextlib.nullcontext:
        return contextlib.nullcontext()

    def update(self, group: str, loss: torch.Tensor) -> None:
        named = [(n, p) for net in self.groups[group] for n, p in net.named_parameters()]
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        self.dead[group] = [n for (n, _), g in zip(named, grads) if g is None or not g.abs().sum() > 0]


@pytest.mark.parametrize("dim", [80, 36, 25])
@pytest.mark.parametrize("frames", [63, 65, 101])
def test_networks_take_any_shape(dim: int, frames: int) -> None:
    g = build_generator(dim, SPEAKERS, network=TINY_G)
    d = ProjectionDiscriminator(PatchGAN2d(num_classes=SPEAKERS, **TINY_D))
    x, src, tgt = torch.randn(2, dim, frames), torch.tensor([0, 2]), torch.tensor([1, 0])
    assert g(x, src, tgt).shape == (2, dim, frames)
    logits, classes = d(x, tgt)
    assert logits.shape == (2, 1, -(-dim // 2), -(-frames // 2)) and classes.shape == (2, SPEAKERS)


@pytest.mark.parametrize("embedding_dim", [0, 4])
def test_every_parameter_gets_gradient(embedding_dim: int) -> None:
    model = tiny_model(speaker_embedding_dim=embedding_dim)
    ctx = GradientContext(model)
    logs = model.train_step(tiny_batch(), ctx)
    assert ctx.dead == {"generator": [], "discriminator": []}
    assert set(logs) >= {"g/adv", "g/cls", "g/cycle", "g/identity", "d/adv", "d/cls"}


def test_generator_runs_once_per_term_and_never_for_the_discriminator() -> None:
    model = tiny_model(identity_steps=5)
    calls = []
    model.generator.register_forward_hook(lambda *_: calls.append(1))
    model.train_step(tiny_batch(), GradientContext(model, step=4))
    assert len(calls) == 3  # convert, cycle, identity
    calls.clear()
    logs = model.train_step(tiny_batch(), GradientContext(model, step=5))
    assert len(calls) == 2 and logs["g/identity"] == 0.0  # identity loss dropped


def test_the_speakers_condition_both_networks() -> None:
    model = tiny_model(speaker_embedding_dim=4)
    x = torch.randn(1, 16, 30).expand(3, -1, -1)
    out = model.convert(x, torch.tensor([0, 0, 1]), torch.tensor([1, 2, 2]))
    assert not torch.allclose(out[0], out[1])  # another target
    assert not torch.allclose(out[1], out[2])  # another source
    torch.nn.init.normal_(model.discriminator.embed.weight)  # starts at zero: unconditional
    logits, _ = model.discriminator(x, torch.tensor([0, 1, 2]))
    assert not torch.allclose(logits[0], logits[1])


def test_convert_rejects_bad_speaker_indices() -> None:
    model = tiny_model()
    x = torch.randn(2, 16, 20)
    with pytest.raises(ValueError, match=r"tgt: speaker indices must be in \[0, 3\)"):
        model.convert(x, torch.tensor([0, 1]), torch.tensor([1, 3]))
    with pytest.raises(ValueError, match="src: expected one speaker index per item"):
        model.convert(x, torch.tensor([0]), torch.tensor([1, 2]))


def test_one_trainer_step(tmp_path: Path) -> None:
    model = tiny_model()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs: list[dict[str, float]] = []
    train_step = model.train_step

    def recorded(batch: dict[str, torch.Tensor], ctx) -> dict[str, float]:
        logs.append(train_step(batch, ctx))
        return logs[-1]

    model.train_step = recorded
    Trainer(model, parse_train_config({"max_steps": 1}), tmp_path, [tiny_batch()], device="cpu").fit()
    assert len(logs) == 1 and all(torch.isfinite(torch.tensor(v)) for v in logs[0].values())
    # Both groups, every tensor: the batch uses every speaker row of the embeddings.
    assert [n for n, p in model.named_parameters() if torch.equal(p, before[n])] == []


def test_build_by_name_and_config_errors() -> None:
    model = build_model("stargan_vc", 20, {"num_speakers": 4, "generator": TINY_G, "discriminator": TINY_D})
    assert isinstance(model, StarGANVC) and model.data_layout == "multi"
    assert set(model.optimizer_groups()) == {"generator", "discriminator"}
    with pytest.raises(ConfigError, match=r"model_params.lambda_clss: unknown key"):
        build_model("stargan_vc", 20, {"num_speakers": 4, "lambda_clss": 1})
    with pytest.raises(ConfigError, match="num_speakers"):
        build_model("stargan_vc", 20, {})
    with pytest.raises(ConfigError, match="model_params.num_speakers: need at least 2"):
        build_model("stargan_vc", 20, {"num_speakers": 1})
    with pytest.raises(ConfigError, match=r"model_params.generator.chanels: unknown key \(expected one of: "):
        build_model("stargan_vc", 20, {"num_speakers": 4, "generator": {"chanels": 8}})
    with pytest.raises(ConfigError, match="model_params.discriminator.num_classes"):
        build_model("stargan_vc", 20, {"num_speakers": 4, "discriminator": {"num_classes": 4}})
