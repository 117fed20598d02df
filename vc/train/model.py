"""The contract between a model and the one generic trainer (pix2pix-style).

A model declares its networks, its optimiser groups and one ``train_step``; the trainer
owns the device, mixed precision, DDP, optimisers, schedules, clipping, EMA, logging,
validation and checkpoints. A model never calls ``.backward()``, ``optimizer.step()`` or
``.cuda()`` itself: it hands each loss to ``ctx.update(group, loss)``.
"""

from __future__ import annotations

import abc
from typing import Any, ContextManager, Protocol

import torch
from torch import nn

from vc.train.config import TrainConfig


class StepContext(Protocol):
    """What the trainer gives ``train_step``."""

    step: int  # global step, 0-based, of the iteration being run
    device: torch.device

    def autocast(self) -> ContextManager:
        """Mixed-precision region (a no-op on CPU or with AMP off)."""

    def only(self, group: str) -> ContextManager:
        """Forward passes inside build gradients for ``group``'s parameters only.

        Other groups' parameters stop requiring grad, so backward through them (a generator
        loss through a discriminator) computes input gradients but skips their unused
        weight gradients. Under DDP it changes nothing: DDP expects every gradient.
        """

    def update(self, group: str | tuple[str, ...], loss: torch.Tensor) -> None:
        """zero_grad -> (scaled) backward -> unscale -> clip -> optimiser step, for one group.

        Only the parameters of ``group`` are stepped; a tuple of groups steps each of them
        from the one backward pass (gradient reversal trains two adversaries that way). Gradients the loss leaves on other
        groups' parameters are cleared before those groups' own update, so a generator loss
        may flow through a discriminator without polluting it.
        """


class TrainableModel(nn.Module, abc.ABC):
    """Base class of every trainable model; subclasses are registered by name in vc.models."""

    @abc.abstractmethod
    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        """Group name -> the networks one optimiser updates, e.g.
        ``{"generator": [self.g_xy, self.g_yx], "discriminator": [self.d_x, self.d_y]}``.
        The train config's ``optim.<group>`` sets each optimiser's lr, betas and schedule."""

    @abc.abstractmethod
    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        """One iteration on ``batch`` (already on ctx.device); returns scalar logs."""

    def check_train_config(self, config: TrainConfig) -> None:
        """Raise ConfigError when the ``train:`` section cannot work with this model (say,
        ``max_steps`` against a phase schedule); default: anything goes."""

    def check_feature_config(self, cfg: Any) -> None:
        """Raise ConfigError when this model cannot work on features of ``cfg`` (a FeatureConfig;
        a vocoder's upsampling must match its hop); default: anything goes."""

    def describe(self, cfg: Any) -> str:
        """One line for the training log and console; vocoders add their receptive field."""
        params = sum(p.numel() for p in self.parameters())
        return f"{type(self).__name__}: {params / 1e6:.2f} M parameters"

    def ema_networks(self) -> list[str]:
        """Attribute names of networks whose exponential moving average is kept for inference."""
        return []

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Scalar metrics on one validation batch; default: none."""
        return {}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Name -> one [dim, frames] feature map (input, converted, cycled...) for TensorBoard."""
        return {}
