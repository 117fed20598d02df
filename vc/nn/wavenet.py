"""WaveNet building blocks shared by the autoregressive and the parallel vocoder.

A stack of :class:`WaveNetBlock` (dilated conv, gated activation, residual and skip
outputs, local conditioning) over a conditioning sequence that :class:`ConvUpsampler`
brings from frame rate to sample rate. Causal blocks pad on the left only, so the output
at t never sees inputs after t; non-causal ones pad both sides.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def cycle_dilations(layers: int, stacks: int) -> list[int]:
    """1, 2, 4, ... restarting every ``layers / stacks`` layers (WaveNet's dilation cycles)."""
    if layers < 1 or stacks < 1 or layers % stacks:
        raise ValueError(f"layers ({layers}) must be a positive multiple of stacks ({stacks})")
    per_stack = layers // stacks
    return [2 ** (i % per_stack) for i in range(layers)]


def receptive_field(kernel_size: int, dilations: Sequence[int]) -> int:
    """Samples of input that one output sample depends on: (kernel - 1) * sum(dilations) + 1."""
    return (kernel_size - 1) * sum(dilations) + 1


class WaveNetBlock(nn.Module):
    """x -> dilated conv + 1x1 conditioning -> tanh * sigmoid -> 1x1 -> (residual, skip).

    One 1x1 conv produces both the residual and the skip output (one matmul instead of
    two). The residual output is ``(x + res) * sqrt(0.5)``, which keeps the variance of the
    residual stream from growing with depth.
    """

    def __init__(
        self,
        residual_channels: int,
        gate_channels: int,
        skip_channels: int,
        cond_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        causal: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if gate_channels % 2:
            raise ValueError(f"gate_channels must be even (tanh and sigmoid halves), got {gate_channels}")
        if not causal and kernel_size % 2 == 0:
            raise ValueError(f"a non-causal block needs an odd kernel_size to stay centred, got {kernel_size}")
        self.kernel_size, self.dilation, self.causal = kernel_size, dilation, causal
        self.residual_channels, self.skip_channels = residual_channels, skip_channels
        self.dropout = dropout
        self.conv = nn.Conv1d(residual_channels, gate_channels, kernel_size, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, gate_channels, 1, bias=False)
        self.out = nn.Conv1d(gate_channels // 2, residual_channels + skip_channels, 1)

    @property
    def padding(self) -> tuple[int, int]:
        """(left, right) zero padding that keeps the length."""
        total = (self.kernel_size - 1) * self.dilation
        return (total, 0) if self.causal else (total // 2, total // 2)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, residual, T], c [B, cond, T] -> (next x [B, residual, T], skip [B, skip, T])."""
        h = F.dropout(x, self.dropout, self.training)
        h = self.conv(F.pad(h, self.padding)) + self.cond(c)
        return self.gated_output(x, h)

    def gated_output(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gate the pre-activation ``h`` [B, gate, ...] and produce (next x, skip); the
        incremental generator calls this with one time step."""
        a, b = h.chunk(2, dim=1)
        out = self.out(torch.tanh(a) * torch.sigmoid(b))
        res, skip = out.split([self.residual_channels, self.skip_channels], dim=1)
        return (x + res) * math.sqrt(0.5), skip


class ConvUpsampler(nn.Module):
    """Conditioning features [B, C, frames + 2 * context] -> [B, C, frames * prod(scales)].

    A context conv (kernel ``2 * context + 1``, no padding) lets each frame see its
    neighbours and drops the ``context`` padding frames on each side; then one transposed
    conv per scale (kernel 2s, stride s, depthwise: one filter per channel) multiplies the
    length. The transposed convs start as linear interpolation, so an untrained upsampler
    already gives a smooth sample-rate sequence. Everything is linear, as in Parallel
    WaveGAN's upsampler: the WaveNet blocks' 1x1 conditioning convs do the channel mixing.
    """

    def __init__(self, channels: int, scales: Sequence[int], context: int = 0) -> None:
        super().__init__()
        if not scales or any(s < 1 for s in scales):
            raise ValueError(f"upsample scales must be positive integers, got {list(scales)}")
        if context < 0:
            raise ValueError(f"context must be >= 0, got {context}")
        self.scales, self.context = list(scales), context
        self.factor = math.prod(scales)
        self.conv_in = nn.Conv1d(channels, channels, 2 * context + 1, bias=False)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(channels, channels, 2 * s, stride=s, padding=s // 2, groups=channels, bias=False)
            for s in scales)
        with torch.no_grad():
            self.conv_in.weight.zero_()
            self.conv_in.weight[range(channels), range(channels), context] = 1.0  # identity at start
            for up, s in zip(self.ups, scales):
                k = torch.arange(2 * s, dtype=torch.float32)
                # w[k] + w[k + s] = 1: neighbouring frames cross-fade linearly.
                up.weight.copy_((1 - (k - (s - 0.5)).abs() / s).expand_as(up.weight))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        frames = c.shape[-1] - 2 * self.context
        if frames < 1:
            raise ValueError(f"need more than {2 * self.context} frames of conditioning, got {c.shape[-1]}")
        c = self.conv_in(c)
        for up, s in zip(self.ups, self.scales):
            length = c.shape[-1] * s
            c = up(c)[..., :length]  # odd scales give one extra sample
        return c

    def pad(self, c: torch.Tensor) -> torch.Tensor:
        """Add the ``context`` frames on both sides (edge frames repeated) that forward drops;
        for whole utterances at inference time."""
        return F.pad(c, (self.context, self.context), mode="replicate") if self.context else c
