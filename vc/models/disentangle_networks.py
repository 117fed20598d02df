"""The disentangle model's networks (vc.models.disentangle): content encoder, latent speaker
classifier, reference speaker encoder, and the speaker-conditioned decoder (also the
patcher's generator), with the settings that make the encoder and decoder stream.

Features are [B, dim, T]; every width comes from ``model_params``. With ``causal`` the
convs see only past frames, every frame is kept (factors 1), there is no sequence layer and
no statistic over the whole utterance (vc.nn.streaming).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeInt, PositiveInt
from vc.nn import ConditionalInstanceNorm, ConvBank1d, PixelShuffle1d, conv, norm_layer
from vc.nn.layers import ConditionalFrameNorm
from vc.nn.streaming import CumulativeNorm, FrameNorm

Conditioning = Literal["adain", "add", "concat", "adaln"]
SequenceKind = Literal["gru", "attention", "none"]
NormKind = Literal["instance", "frame", "cumulative", "none"]


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def _check_factors(name: str, factors: tuple[int, ...]) -> None:
    if not factors or any(f < 1 for f in factors):
        raise ValueError(f"{name} needs one factor >= 1 per block, got {list(factors)}")


def _check_causal(factors: tuple[int, ...], sequence: str) -> None:
    """A network of a causal model keeps every frame and reads no whole sequence."""
    if any(f != 1 for f in factors):
        raise ValueError(f"a causal model (model_params.causal) keeps every frame: factors must all be 1, "
                         f"got {list(factors)}")
    if sequence != "none":
        raise ValueError(f"a causal model (model_params.causal) needs sequence: none, got {sequence!r} "
                         "(it reads the whole utterance)")


class DownBlock(nn.Module):
    """conv -> norm -> act -> conv (stride ``factor``) -> norm -> act, plus an average-pooled shortcut."""

    def __init__(self, channels: int, kernel: int, factor: int, norm: NormKind, causal: bool = False) -> None:
        super().__init__()
        self.factor = factor
        # No conv bias before an instance or cumulative norm: the norm would cancel it. A
        # per-frame norm (over channels) keeps a per-channel offset, so the bias stays.
        bias = norm not in ("instance", "cumulative")
        self.conv1 = conv(1, channels, channels, kernel, bias=bias, causal=causal)
        self.conv2 = conv(1, channels, channels, kernel, stride=factor, bias=bias, causal=causal)
        self.norm1 = norm_layer(norm, 1, channels)
        self.norm2 = norm_layer(norm, 1, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _act(self.norm1(self.conv1(x)))
        h = _act(self.norm2(self.conv2(h)))
        shortcut = F.avg_pool1d(x, self.factor, ceil_mode=True) if self.factor > 1 else x
        return h + shortcut[..., : h.shape[-1]]


class SequenceLayer(nn.Module):
    """A residual BiGRU or multi-head self-attention over frames ("none": identity)."""

    def __init__(self, kind: SequenceKind, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.kind = kind
        if kind == "attention" and channels % heads:
            raise ValueError(f"self-attention with {heads} heads needs a channel count divisible by {heads}, "
                             f"got {channels}")
        if kind == "gru":
            if channels % 2:
                raise ValueError(f"a bidirectional GRU needs an even channel count, got {channels}")
            self.layer = nn.GRU(channels, channels // 2, batch_first=True, bidirectional=True)
        elif kind == "attention":
            self.norm = nn.LayerNorm(channels)
            self.layer = nn.MultiheadAttention(channels, heads, batch_first=True)
        elif kind != "none":
            raise ValueError(f"sequence layer must be 'gru', 'attention' or 'none', got {kind!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "none":
            return x
        h = x.transpose(1, 2)  # [B, T, C]
        if self.kind == "gru":
            # Outside autocast: a bf16 GRU on CPU runs one tiny matmul per step plus casts,
            # 4-5x slower than fp32 (measured by bench_disentangle.py).
            with torch.autocast(x.device.type, enabled=False):
                out, _ = self.layer(h.float())
        else:
            # Positions come from the convolutions below; attention adds global context.
            q = self.norm(h)
            out, _ = self.layer(q, q, q, need_weights=False)
        return x + out.transpose(1, 2).to(x.dtype)


class ContentEncoder(nn.Module):
    """[B, dim, T] -> content code [B, code_dim, ceil(T / downsample)], normalised by ``code_norm``
    without affine (``instance``: over the utterance; ``frame``: each frame over its channels;
    ``cumulative``: each channel over the frames so far, instance norm's causal twin).

    ``norm`` is the down blocks' (with affine). ``causal`` (set from the model) makes every
    conv causal and needs factors all 1, sequence none and norms that are not instance.
    """

    def __init__(self, dim: PositiveInt, channels: PositiveInt = 256, bank_size: PositiveInt = 8,
                 bank_channels: PositiveInt = 128, kernel: PositiveInt = 5,
                 factors: tuple[PositiveInt, ...] = (1, 2, 2), sequence: SequenceKind = "gru",
                 code_dim: PositiveInt = 128, norm: NormKind = "instance", code_norm: NormKind = "instance",
                 causal: bool = False) -> None:
        super().__init__()
        _check_factors("factors", factors)
        if causal:
            _check_causal(factors, sequence)
            for key, kind in (("norm", norm), ("code_norm", code_norm)):
                if kind == "instance":
                    raise ValueError(f"a causal model (model_params.causal) needs {key}: frame, cumulative or "
                                     "none, got 'instance' (it spans the whole utterance)")
        self.bank = ConvBank1d(dim, bank_size, bank_channels, causal=causal)
        self.inp = nn.Conv1d(self.bank.out_channels, channels, 1)
        self.blocks = nn.Sequential(*(DownBlock(channels, kernel, f, norm, causal) for f in factors))
        self.sequence = SequenceLayer(sequence, channels)
        # An instance or cumulative norm would cancel a bias.
        self.out = nn.Conv1d(channels, code_dim, 1, bias=code_norm not in ("instance", "cumulative"))
        self.norm = _code_norm(code_norm, code_dim)
        self.downsample = math.prod(factors)
        self.code_dim = code_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = _act(self.inp(self.bank(x)))
        h = self.sequence(self.blocks(h))
        return self.norm(self.out(h))


def _code_norm(kind: NormKind, channels: int) -> nn.Module:
    """The content code's norm (``none``: identity), without affine: the code keeps one scale,
    the one ``code_noise`` and the latent classifier are set for."""
    if kind == "instance":
        return nn.InstanceNorm1d(channels, affine=False)
    if kind == "cumulative":
        return CumulativeNorm(1, channels, affine=False)
    return FrameNorm(1, channels, affine=False) if kind == "frame" else nn.Identity()


class LatentClassifier(nn.Module):
    """Content code [B, code_dim, T'] -> speaker logits [B, num_speakers] (global average pool)."""

    def __init__(self, code_dim: PositiveInt, num_speakers: PositiveInt, channels: PositiveInt = 256,
                 layers: NonNegativeInt = 3, kernel: PositiveInt = 5) -> None:  # layers 0: linear on the pooled code
        super().__init__()
        convs, ch = [], code_dim
        for _ in range(layers):
            convs.append(nn.Conv1d(ch, channels, kernel, padding=kernel // 2))
            ch = channels
        self.convs = nn.ModuleList(convs)
        self.out = nn.Linear(ch, num_speakers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        h = code
        for layer in self.convs:
            h = _act(layer(h))
        return self.out(h.mean(dim=-1))


class ReferenceEncoder(nn.Module):
    """Any utterance [B, dim, T] (T >= 1) -> speaker vector [B, embedding_dim].

    No instance norm anywhere: the per-utterance statistics it would remove are what
    this encoder is meant to read. Global average pooling makes the length free.
    """

    def __init__(self, dim: PositiveInt, embedding_dim: PositiveInt, channels: PositiveInt = 256,
                 bank_size: PositiveInt = 8, bank_channels: PositiveInt = 128, kernel: PositiveInt = 5,
                 factors: tuple[PositiveInt, ...] = (1, 2, 2)) -> None:
        super().__init__()
        _check_factors("factors", factors)
        self.bank = ConvBank1d(dim, bank_size, bank_channels)
        self.inp = nn.Conv1d(self.bank.out_channels, channels, 1)
        self.blocks = nn.Sequential(*(DownBlock(channels, kernel, f, norm="none") for f in factors))
        self.out = nn.Sequential(nn.Linear(channels, channels), nn.LeakyReLU(0.2), nn.Linear(channels, embedding_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(_act(self.inp(self.bank(x))))
        return self.out(h.mean(dim=-1))


class Conditioner(nn.Module):
    """Puts the speaker vector into a feature map: AdaIN, its per-frame twin AdaLN (each frame
    normalised over its channels, then the speaker's scale and shift), addition or concatenation."""

    def __init__(self, kind: str, channels: int, embedding_dim: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "adain":
            self.layer: nn.Module = ConditionalInstanceNorm(channels, embedding_dim)
        elif kind == "adaln":
            self.layer = ConditionalFrameNorm(channels, embedding_dim)
        elif kind == "add":
            self.layer = nn.Linear(embedding_dim, channels)
        elif kind == "concat":
            self.layer = nn.Conv1d(channels + embedding_dim, channels, 1)
        else:
            raise ValueError(f"conditioning must be 'adain', 'adaln', 'add' or 'concat', got {kind!r}")

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        if self.kind in ("adain", "adaln"):
            return self.layer(h, e)
        if self.kind == "add":
            return h + self.layer(e).unsqueeze(-1).to(h.dtype)
        return self.layer(torch.cat([h, e.unsqueeze(-1).expand(-1, -1, h.shape[-1]).to(h.dtype)], dim=1))


class UpBlock(nn.Module):
    """conv -> cond -> act -> conv to channels x ``factor`` -> pixel shuffle -> cond -> act,
    plus a nearest-upsampled shortcut: [B, C, T] -> [B, C, T * factor]."""

    def __init__(self, channels: int, embedding_dim: int, kernel: int, factor: int, conditioning: str,
                 causal: bool = False) -> None:
        super().__init__()
        self.factor = factor
        bias = conditioning != "adain"  # AdaIN's instance norm would cancel a conv bias (AdaLN's would not)
        self.conv1 = conv(1, channels, channels, kernel, bias=bias, causal=causal)
        self.cond1 = Conditioner(conditioning, channels, embedding_dim)
        self.conv2 = conv(1, channels, channels * factor, kernel, bias=bias, causal=causal)
        self.shuffle = PixelShuffle1d(factor)
        self.cond2 = Conditioner(conditioning, channels, embedding_dim)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = _act(self.cond1(self.conv1(x), e))
        h = _act(self.cond2(self.shuffle(self.conv2(h)), e))
        shortcut = x.repeat_interleave(self.factor, dim=-1) if self.factor > 1 else x
        return h + shortcut


class Decoder(nn.Module):
    """(content code [B, code_dim, T'], speaker vector [B, E]) -> features [B, dim, T' * upsample].

    ``causal`` (set from the model) makes every conv causal and needs factors all 1, sequence
    none and conditioning other than adain (adaln is its per-frame twin).
    """

    def __init__(self, code_dim: PositiveInt, dim: PositiveInt, embedding_dim: PositiveInt,
                 channels: PositiveInt = 256, kernel: PositiveInt = 5, factors: tuple[PositiveInt, ...] = (2, 2, 1),
                 sequence: SequenceKind = "gru", conditioning: Conditioning = "adain",
                 zero_output: bool = False, causal: bool = False) -> None:
        super().__init__()
        _check_factors("factors", factors)
        if causal:
            _check_causal(factors, sequence)
            if conditioning == "adain":
                raise ValueError("a causal model (model_params.causal) needs conditioning: adaln, add or concat, "
                                 "got 'adain' (its instance norm spans the whole utterance)")
        self.inp = nn.Conv1d(code_dim, channels, 1)
        self.blocks = nn.ModuleList(UpBlock(channels, embedding_dim, kernel, f, conditioning, causal)
                                    for f in factors)
        self.sequence = SequenceLayer(sequence, channels)
        self.out = nn.Conv1d(channels, dim, 1)
        if zero_output:  # a residual generator starts as "add nothing"
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)
        self.upsample = math.prod(factors)

    def forward(self, code: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = _act(self.inp(code))
        for block in self.blocks:
            h = block(h, e)
        return self.out(self.sequence(h))


def decoded(decoder: Decoder, patcher: Decoder | None, code: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """Every decoded frame of ``code`` for ``vectors``, plus the patcher's residual when given."""
    out = decoder(code, vectors)
    return out if patcher is None else out + patcher(code, vectors)
