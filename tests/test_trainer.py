"""The generic trainer on a toy 1-D GAN: artefacts, exact resume, schedules, gradient rules, DDP."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Iterator

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from vc.errors import ConfigError, DataError
from vc.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from vc.train.config import TrainConfig, parse_train_config
from vc.train.model import StepContext, TrainableModel
from vc.train.trainer import Trainer

DIM = 4


class ToyGAN(TrainableModel):
    """G: x -> y with an L1 anchor; D: LSGAN real/fake. Noise from the global RNG in train_step."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.g = nn.Linear(DIM, DIM)
        self.d = nn.Sequential(nn.Linear(DIM, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        self.history: list[tuple[int, dict[str, float]]] = []
        self.g_loss_scale = 1.0

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.g], "discriminator": [self.d]}

    def ema_networks(self) -> list[str]:
        return ["g"]

    def generator_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        fake = self.g(batch["x"] + 0.1 * torch.randn_like(batch["x"]))
        loss = ((self.d(fake) - 1) ** 2).mean() + (fake - batch["x"]).abs().mean()
        return fake, loss * self.g_loss_scale

    def discriminator_loss(self, batch: dict[str, torch.Tensor], fake: torch.Tensor) -> torch.Tensor:
        return ((self.d(batch["y"]) - 1) ** 2).mean() + (self.d(fake.detach()) ** 2).mean()

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        with ctx.autocast():
            fake, g_loss = self.generator_loss(batch)
        ctx.update("generator", g_loss)
        with ctx.autocast():
            d_loss = self.discriminator_loss(batch, fake)
        ctx.update("discriminator", d_loss)
        logs = {"g_loss": g_loss.item(), "d_loss": d_loss.item()}
        self.history.append((ctx.step, logs))
        return logs

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        return {"l1": (self.g(batch["x"]) - batch["y"]).abs().mean().item()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"converted": self.g(batch["x"]).T}


class StepLoader:
    """A finite pass of ``epoch`` batches, each a pure function of (seed, step), with set_step.

    Like a DataLoader, starting a pass draws from the global torch RNG: the trainer must keep
    that away from the model's stream.
    """

    def __init__(self, seed: int = 0, epoch: int = 5, rank: int = 0) -> None:
        self.seed, self.epoch, self.rank = seed, epoch, rank
        self.start = 0

    def set_step(self, step: int) -> None:
        self.start = step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        torch.rand(1)
        end = (self.start // self.epoch + 1) * self.epoch
        for step in range(self.start, end):
            g = torch.Generator().manual_seed(self.seed * 100_003 + step * 101 + self.rank)
            x = torch.randn(3, DIM, generator=g)
            yield {"x": x, "y": 2 * x + 1}


def make_config(max_steps: int, **overrides) -> TrainConfig:
    data = {"max_steps": max_steps, "log_interval": 1, "eval_interval": 2, "eval_batches": 2,
            "save_interval": 2, "keep_last": 2, "ema_decay": 0.9, **overrides}
    return parse_train_config(data)


def run(exp: Path, max_steps: int, resume: bool = False, model: ToyGAN | None = None, **overrides) -> Trainer:
    trainer = Trainer(model or ToyGAN(), make_config(max_steps, **overrides), exp, StepLoader(),
                      valid_loader=StepLoader(seed=1), device="auto", extra={"note": "toy"})
    trainer.fit(resume=resume)
    return trainer


def log_fields(exp: Path, step: int) -> dict[str, str]:
    for line in (exp / "log" / "train.log").read_text().splitlines():
        fields = dict(f.split("=", 1) for f in line.split()[2:] if "=" in f)
        if fields.get("step") == str(step) and "valid" not in line:
            return {k: v for k, v in fields.items() if k != "it/s"}
    raise AssertionError(f"no log line for step {step}")


def test_fit_writes_artefacts(tmp_path: Path) -> None:
    trainer = run(tmp_path, 5)
    assert "vc_version" in (tmp_path / "config.yaml").read_text()
    log = (tmp_path / "log" / "train.log").read_text()
    assert "step=5 " in log and "valid step=4 l1=" in log and "lr.generator=0.0002" in log
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step_00000004.pt", "step_00000005.pt"]
    assert trainer.step == 5 and len(trainer.model.history) == 5


def test_resume_is_exact(tmp_path: Path) -> None:
    straight = run(tmp_path / "a", 8)
    run(tmp_path / "b", 3)
    resumed = run(tmp_path / "b", 8, resume=True, model=ToyGAN(seed=123))
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    for key, value in straight.ema.state_dict()["g"].items():
        assert torch.equal(value, resumed.ema.state_dict()["g"][key]), key
    assert resumed.model.history[0] == straight.model.history[3]
    assert [h for _, h in resumed.model.history] == [h for _, h in straight.model.history[3:]]
    assert log_fields(tmp_path / "b", 4) == log_fields(tmp_path / "a", 4)


def test_resume_without_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no checkpoint to resume from"):
        run(tmp_path, 2, resume=True)


def test_linear_decay_applies_to_its_own_group(tmp_path: Path) -> None:
    optim = {"generator": {"lr": 1e-3, "schedule": "linear_decay", "decay_start": 2, "decay_steps": 4}}
    model = ToyGAN()
    trainer = Trainer(model, make_config(6, optim=optim), tmp_path, StepLoader())
    seen: dict[str, list[float]] = {"generator": [], "discriminator": []}
    for name, opt in trainer.optimizers.items():
        opt.register_step_pre_hook(lambda o, *_, name=name: seen[name].append(o.param_groups[0]["lr"]))
    trainer.fit()
    assert seen["generator"] == pytest.approx([1e-3, 1e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3])
    assert seen["discriminator"] == [2e-4] * 6


def test_generator_loss_leaves_discriminator_alone(tmp_path: Path) -> None:
    class Checked(ToyGAN):
        def train_step(self, batch, ctx):
            fake, g_loss = self.generator_loss(batch)
            d_before = [p.detach().clone() for p in self.d.parameters()]
            ctx.update("generator", g_loss)
            assert all(torch.equal(a, b) for a, b in zip(d_before, self.d.parameters()))
            assert all(p.grad is None for p in self.d.parameters())
            d_loss = self.discriminator_loss(batch, fake)
            self.expected = torch.autograd.grad(d_loss, list(self.d.parameters()), retain_graph=True)
            ctx.update("discriminator", d_loss)
            return {"d_loss": d_loss.item()}

    model = Checked()
    trainer = Trainer(model, make_config(3), tmp_path, StepLoader())
    checked = []

    def same_grads(optimizer, *_):
        checked.append(all(torch.equal(p.grad, e) for p, e in zip(model.d.parameters(), model.expected)))

    trainer.optimizers["discriminator"].register_step_pre_hook(same_grads)
    trainer.fit()
    assert checked == [True] * 3


@pytest.mark.parametrize("clip", [None, 0.5])
def test_grad_clip_caps_the_norm(tmp_path: Path, clip: float | None) -> None:
    model = ToyGAN()
    model.g_loss_scale = 100.0
    trainer = Trainer(model, make_config(2, grad_clip=clip), tmp_path, StepLoader())
    norms = []
    trainer.optimizers["generator"].register_step_pre_hook(
        lambda o, *_: norms.append(torch.norm(torch.stack([p.grad.norm() for p in model.g.parameters()])).item()))
    trainer.fit()
    assert len(norms) == 2
    if clip is None:
        assert min(norms) > 10
    else:
        assert max(norms) <= clip * (1 + 1e-5)


def test_ema_matches_hand_computation(tmp_path: Path) -> None:
    model = ToyGAN()
    snapshots = [{k: v.clone() for k, v in model.g.state_dict().items()}]
    trainer = Trainer(model, make_config(2, ema_decay=0.8), tmp_path, StepLoader())
    trainer.optimizers["generator"].register_step_post_hook(
        lambda *_: snapshots.append({k: v.clone() for k, v in model.g.state_dict().items()}))
    trainer.fit()
    p0, p1, p2 = snapshots
    for key, value in trainer.ema.state_dict()["g"].items():
        expected = 0.8 * (0.8 * p0[key] + 0.2 * p1[key]) + 0.2 * p2[key]
        torch.testing.assert_close(value, expected, rtol=0, atol=1e-7)
    assert torch.equal(p2["weight"], model.g.weight)


def test_checkpoint_is_weights_only_and_truncation_is_reported(tmp_path: Path) -> None:
    run(tmp_path, 2, ema_decay=None)
    path = latest_checkpoint(tmp_path / "checkpoints")
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert state["step"] == 2 and state["extra"] == {"note": "toy"} and "g.weight" in state["model"]
    assert set(state["optimizers"]) == {"generator", "discriminator"}
    assert load_checkpoint(path)["step"] == 2
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"step_00000002\.pt: not a readable checkpoint \("):
        run(tmp_path, 4, resume=True)


def test_numpy_extras_are_stored_as_tensors(tmp_path: Path) -> None:
    import numpy as np

    trainer = Trainer(ToyGAN(), make_config(1), tmp_path, StepLoader(),
                      extra={"stats": {"mean": np.arange(3.0), "count": np.int64(7)}})
    trainer.fit()
    extra = load_checkpoint(latest_checkpoint(tmp_path / "checkpoints"))["extra"]
    assert torch.equal(extra["stats"]["mean"], torch.arange(3.0, dtype=torch.float64))
    assert extra["stats"]["count"] == 7


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.optim\.critic: the model has no optimizer group 'critic'"):
        Trainer(ToyGAN(), make_config(2, optim={"critic": {"lr": 1e-3}}), tmp_path, StepLoader())
    with pytest.raises(ConfigError, match=r"train\.optim\.generator\.decay_start: set, but schedule"):
        make_config(2, optim={"generator": {"decay_start": 1}})
    with pytest.raises(ConfigError, match=r"train\.keep_last: must be >= 1"):
        make_config(2, keep_last=0)


def test_interrupt_saves_a_checkpoint(tmp_path: Path) -> None:
    class Interrupted(ToyGAN):
        def train_step(self, batch, ctx):
            if ctx.step == 3:
                raise KeyboardInterrupt
            return super().train_step(batch, ctx)

    with pytest.raises(KeyboardInterrupt):
        Trainer(Interrupted(), make_config(10, save_interval=100), tmp_path, StepLoader()).fit()
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_00000003.pt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, port: int, exp: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2",
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    model = ToyGAN(seed=rank)  # different inits: DDP must broadcast rank 0's
    config = make_config(2, ema_decay=None)
    trainer = Trainer(model, config, exp, StepLoader(rank=rank), valid_loader=StepLoader(seed=1), device="cpu")
    trainer.fit()
    with trainer._unwrapped():
        torch.save(model.state_dict(), Path(exp) / f"rank{rank}.pt")


def test_ddp_two_cpu_processes_stay_in_sync(tmp_path: Path) -> None:
    mp.spawn(_ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    states = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert states[0].keys() == ToyGAN().state_dict().keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    assert not torch.equal(states[0]["g.weight"], ToyGAN(seed=0).g.weight.detach())
    checkpoint = load_checkpoint(latest_checkpoint(tmp_path / "checkpoints"))
    assert all(torch.equal(checkpoint["model"][k], v) for k, v in states[0].items())
