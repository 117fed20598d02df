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


class FrameUpsample1d(nn.Module):
    """[B, C, L] -> [B, C, L * scale]: a depthwise transposed conv with kernel 2 * scale.

    Same function as ``nn.ConvTranspose1d(C, C, 2 * scale, stride=scale, padding=scale // 2,
    groups=C, bias=False)`` cut to ``L * scale`` samples, written as three broadcast
    multiplies (each output sample mixes its own frame and one neighbour): CPU's depthwise
    transposed conv, and its backward above all, was 5-10x slower than this. The weight
    [C, 2 * scale] starts as a triangle, so frame t's value is centred on its block
    ``[t * scale, (t + 1) * scale)`` and neighbours cross-fade linearly.
    """

    def __init__(self, channels: int, scale: int) -> None:
        super().__init__()
        if scale < 1:
            raise ValueError(f"upsample scales must be positive integers, got {scale}")
        self.scale = scale
        k = torch.arange(2 * scale, dtype=torch.float32)
        # w[k] + w[k + scale] = 1 for k < scale: a linear cross-fade between frames.
        self.weight = nn.Parameter((1 - (k - (scale - 0.5)).abs() / scale).repeat(channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, half = self.scale, self.scale // 2
        w = self.weight
        # Output j of block t takes tap j + half of frame t, tap j + half + s of frame t - 1
        # (for j < s - half) and tap j + half - s of frame t + 1 (the rest), as the
        # transposed conv with padding s // 2 would.
        own = w[:, half:half + s]
        prev = F.pad(w[:, s + half:], (0, half))  # [C, s], zero where no tap
        following = F.pad(w[:, :half], (s - half, 0))
        padded = F.pad(x, (1, 1))
        y = (x[..., None] * own[:, None, :] + padded[..., :-2, None] * prev[:, None, :]
             + padded[..., 2:, None] * following[:, None, :])
        return y.flatten(-2)

    def extra_repr(self) -> str:
        return f"channels={self.weight.shape[0]}, scale={self.scale}"


class ConvUpsampler(nn.Module):
    """Conditioning features [B, C, frames + 2 * context] -> [B, C, frames * prod(scales)].

    A context conv (kernel ``2 * context + 1``, no padding) lets each frame see its
    neighbours and drops the ``context`` padding frames on each side; then one
    :class:`FrameUpsample1d` per scale (a depthwise transposed conv, kernel 2s, stride s)
    multiplies the length. The transposed convs start as linear interpolation, so an untrained upsampler
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
        self.ups = nn.ModuleList(FrameUpsample1d(channels, s) for s in scales)
        with torch.no_grad():
            self.conv_in.weight.zero_()
            self.conv_in.weight[range(channels), range(channels), context] = 1.0  # identity at start

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        frames = c.shape[-1] - 2 * self.context
        if frames < 1:
            raise ValueError(f"need more than {2 * self.context} frames of conditioning, got {c.shape[-1]}")
        c = self.conv_in(c)
        for up in self.ups:
            c = up(c)
        return c

    def pad(self, c: torch.Tensor) -> torch.Tensor:
        """Add the ``context`` frames on both sides (edge frames repeated) that forward drops;
        for whole utterances at inference time."""
        return F.pad(c, (self.context, self.context), mode="replicate") if self.context else c
