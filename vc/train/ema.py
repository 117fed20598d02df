"""Exponential moving average of networks' weights, kept for inference."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Shadow copies of named networks: ``shadow = decay * shadow + (1 - decay) * live``.

    The shadows start as deep copies of the live networks; :meth:`update` runs after every
    optimiser step. Floating-point buffers (e.g. BatchNorm statistics) are averaged like
    parameters; integer buffers (step counters) are copied.
    """

    def __init__(self, networks: dict[str, nn.Module], decay: float) -> None:
        if not 0 <= decay < 1:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.live = networks
        self.shadows = {name: copy.deepcopy(net).eval().requires_grad_(False) for name, net in networks.items()}

    @torch.no_grad()
    def update(self) -> None:
        for name, net in self.live.items():
            shadow = self.shadows[name]
            for s, p in zip(shadow.parameters(), net.parameters()):
                s.lerp_(p.detach(), 1 - self.decay)
            for s, b in zip(shadow.buffers(), net.buffers()):
                if s.is_floating_point():
                    s.lerp_(b, 1 - self.decay)
                else:
                    s.copy_(b)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: shadow.state_dict() for name, shadow in self.shadows.items()}

    def load_state_dict(self, state: dict[str, dict[str, torch.Tensor]]) -> None:
        missing = sorted(set(self.shadows) - set(state))
        if missing:
            raise KeyError(f"EMA state lacks network '{missing[0]}'")
        for name, shadow in self.shadows.items():
            shadow.load_state_dict(state[name])
