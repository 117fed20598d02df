"""Layers that can run on a live stream: causal convolutions with carried context,
normalisation over each frame alone, and cumulative normalisation over the frames so far.

A network built only from these, pointwise ops and non-time axes can convert frames as
they arrive: fed through a :class:`FrameStream`, each :class:`StreamingLayer` carries what
it needs of the past across calls (a :class:`CausalConv` its last ``kernel - 1`` input
frames, prepended to the next call instead of zero padding; a :class:`CumulativeNorm` its
running count, sum and sum of squares), so feeding an utterance in pieces gives what one
call on the whole gives (the zero padding of the first call is the same zeros). Time is the
last axis of every tensor, as everywhere in ``vc``.

A network may look ahead ``L`` frames by running its causal body on the input padded with
``L`` zero frames on the right and dropping the first ``L`` outputs; :class:`FrameStream`
does the streaming side of that bookkeeping.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


class StreamingLayer(nn.Module, ABC):
    """A layer whose output at frame t depends on earlier frames, carried across calls while
    ``streaming`` is True (set by :class:`FrameStream`); offline each call is a whole utterance."""

    def __init__(self) -> None:
        super().__init__()
        self.streaming = False

    @abstractmethod
    def reset(self) -> None:
        """Forget the carried state: the next streamed call starts an utterance."""


class CausalConv(StreamingLayer):
    """Conv1d/Conv2d padded on the left in time (the last axis): output t sees inputs <= t.

    Other axes are padded ``kernel // 2`` on both sides and may be strided; time is not
    strided (a strided time axis would make the stream's block boundaries matter).
    """

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel_size: tuple[int, ...],
                 stride: tuple[int, ...], bias: bool = True) -> None:
        super().__init__()
        if stride[-1] != 1:
            raise ValueError(f"a causal conv cannot stride in time, got stride {stride}")
        cls = nn.Conv1d if dims == 1 else nn.Conv2d
        padding = tuple(k // 2 for k in kernel_size[:-1]) + (0,)
        self.conv = cls(in_ch, out_ch, kernel_size, stride, padding=padding, bias=bias)
        self.context = kernel_size[-1] - 1
        self.carry: torch.Tensor | None = None  # the last `context` input frames, while streaming

    def reset(self) -> None:
        self.carry = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.streaming:
            return self.conv(F.pad(x, (self.context, 0)))
        if self.carry is None:
            self.carry = x.new_zeros(*x.shape[:-1], self.context)
        x = torch.cat([self.carry, x], dim=-1)
        self.carry = x[..., x.shape[-1] - self.context:]
        return self.conv(x)


class FrameNorm(nn.Module):
    """Normalise each frame over its channels (and, in 2D, its height), with a per-channel
    affine unless ``affine=False``: a layer norm per time step, so no statistic spans frames
    and it can stream."""

    def __init__(self, dims: int, channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        shape = (channels,) + (1,) * dims
        self.weight = nn.Parameter(torch.ones(shape)) if affine else None
        self.bias = nn.Parameter(torch.zeros(shape)) if affine else None
        self.axes = tuple(range(1, dims + 1))  # channels and height; the time axis stays
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=self.axes, keepdim=True, correction=0)
        x = (x - mean) * torch.rsqrt(var + self.eps)
        return x * self.weight + self.bias if self.weight is not None else x


class CumulativeNorm(StreamingLayer):
    """Instance norm made causal: frame t of each channel normalised by the mean and variance
    of that channel over frames 0..t (and, in 2D, the height), with a per-channel affine unless
    ``affine=False`` (Conv-TasNet's cumulative layer norm, per channel).

    The statistics start from ``prior`` pseudo-frames of mean 0 and variance 1: without them
    frame 0 would be divided by a variance of exactly 0 (its output a bare 0) and the next few
    by the noise of two or three samples; with them the early frames are scaled as by a unit
    variance and the prior fades as 1 / frames. Offline the sums are cumsums over time;
    streaming, the running count, sum and sum of squares are carried across calls.
    """

    def __init__(self, dims: int, channels: int, eps: float = 1e-5, affine: bool = True,
                 prior: float = 1.0) -> None:
        super().__init__()
        if prior < 0:
            raise ValueError(f"prior: pseudo-frames must be >= 0, got {prior}")
        shape = (channels,) + (1,) * dims
        self.weight = nn.Parameter(torch.ones(shape)) if affine else None
        self.bias = nn.Parameter(torch.zeros(shape)) if affine else None
        self.axes = tuple(range(2, dims + 1))  # the height in 2D; time accumulates
        self.eps, self.prior = eps, prior
        self.state: tuple[int, torch.Tensor, torch.Tensor] | None = None  # frames, sum, sum of squares so far

    def reset(self) -> None:
        self.state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Float64 statistics: over a long stream float32 running sums would stop taking in new
        # frames (and a stream's sums, added block by block, would drift from the cumsums).
        h = x.double()
        height = math.prod(h.shape[a] for a in self.axes)
        total = (h.sum(dim=self.axes, keepdim=True) if self.axes else h).cumsum(-1)
        squares = ((h * h).sum(dim=self.axes, keepdim=True) if self.axes else h * h).cumsum(-1)
        frames = torch.arange(1, h.shape[-1] + 1, device=h.device, dtype=h.dtype)
        if self.streaming:
            seen = 0
            if self.state is not None:
                seen, last_total, last_squares = self.state
                frames, total, squares = frames + seen, total + last_total, squares + last_squares
            if h.shape[-1]:
                self.state = (seen + h.shape[-1], total[..., -1:], squares[..., -1:])
        count = (frames + self.prior) * height  # the prior adds sum 0 and sum of squares prior * height
        mean = total / count
        var = ((squares + self.prior * height) / count - mean * mean).clamp_min(0)
        y = ((h - mean) * torch.rsqrt(var + self.eps)).to(x.dtype)
        return y * self.weight + self.bias if self.weight is not None else y


def streaming_layers(module: nn.Module) -> list[StreamingLayer]:
    """The layers of ``module`` that carry state across a stream's calls."""
    return [m for m in module.modules() if isinstance(m, StreamingLayer)]


class FrameStream:
    """Feeds a causal network blocks of frames; its output comes ``lookahead`` frames behind.

    ``prepare`` maps input frames [1, dim, n] to what the causal ``body`` reads (the
    network's offline form pads that with ``lookahead`` zero frames on the right, then
    drops the first ``lookahead`` outputs). The stream owns ``network``: give it a copy
    when several streams run at once, since the carried state lives in its streaming
    layers (:class:`StreamingLayer`), which it switches to streaming and resets.
    """

    def __init__(self, network: nn.Module, prepare: Callable[[torch.Tensor], torch.Tensor],
                 body: Callable[[torch.Tensor], torch.Tensor], lookahead: int) -> None:
        self.prepare, self.body, self.lookahead = prepare, body, lookahead
        self._layers = streaming_layers(network)
        for layer in self._layers:
            layer.streaming = True
            layer.reset()
        self._to_drop = lookahead  # outputs of the first frames stand for the padding's
        self._padding: torch.Tensor | None = None  # the offline form's right padding, once shapes are known

    @torch.inference_mode()
    def push(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 0:
            return x
        h = self.prepare(x)
        if self._padding is None:
            self._padding = h.new_zeros(*h.shape[:-1], self.lookahead)
        return self._emit(self.body(h))

    @torch.inference_mode()
    def flush(self) -> torch.Tensor | None:
        """The last ``lookahead`` outputs (None when nothing was pushed); the stream ends."""
        out = self._emit(self.body(self._padding)) if self._padding is not None and self.lookahead else None
        for layer in self._layers:
            layer.streaming = False
            layer.reset()
        return out

    def _emit(self, y: torch.Tensor) -> torch.Tensor:
        drop = min(self._to_drop, y.shape[-1])
        self._to_drop -= drop
        return y[..., drop:]
