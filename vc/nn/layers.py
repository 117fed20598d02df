"""Gated convolutions, conditional norms, pixel-shuffle upsampling and residual blocks.

Each block exists in a 1D ([B, C, T]) and a 2D ([B, C, H, W]) form; the twins share one
implementation chosen by ``dims``. Padding is ``kernel // 2`` per axis, so a stride-1 odd
kernel keeps the size and a stride-s layer gives ``ceil(size / s)`` for odd kernels; any
length, odd or even, goes through. With ``causal=True`` the time axis (the last) is padded
on the left only and never strided, and ``norm="frame"`` normalises each frame alone
(``"cumulative"``: by the statistics of the frames so far): the layers then stream
(vc.nn.streaming).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import PositiveInt
from vc.nn.streaming import CausalConv, CumulativeNorm, FrameNorm

Size = PositiveInt | tuple[PositiveInt, ...]  # a kernel or stride: one for every axis, or one per axis

NORMS = ("instance", "frame", "cumulative", "none")


def _tuple(value: Size, dims: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * dims
    if len(value) != dims:
        raise ValueError(f"expected an int or {dims} values, got {value!r}")
    return tuple(value)


def by_dims(dims: int, one: type[nn.Module], two: type[nn.Module]) -> type[nn.Module]:
    """The 1D or 2D twin of a layer class."""
    if dims not in (1, 2):
        raise ValueError(f"dims must be 1 or 2, got {dims}")
    return one if dims == 1 else two


def same_padding(kernel_size: Size, dims: int) -> tuple[int, ...]:
    """``kernel // 2`` per axis: length-preserving at stride 1 for odd kernels."""
    return tuple(k // 2 for k in _tuple(kernel_size, dims))


def conv(dims: int, in_ch: int, out_ch: int, kernel_size: Size, stride: Size = 1,
         bias: bool = True, causal: bool = False) -> nn.Module:
    """Conv1d or Conv2d with same-style padding, or left-only padding in time when ``causal``."""
    if causal:
        return CausalConv(dims, in_ch, out_ch, _tuple(kernel_size, dims), _tuple(stride, dims), bias)
    cls = by_dims(dims, nn.Conv1d, nn.Conv2d)
    return cls(in_ch, out_ch, _tuple(kernel_size, dims), _tuple(stride, dims),
               padding=same_padding(kernel_size, dims), bias=bias)


def norm_layer(kind: str, dims: int, channels: int) -> nn.Module:
    """Affine instance norm, per-frame norm, cumulative (causal instance) norm or identity; the conv
    before an instance or cumulative norm needs no bias of its own."""
    if kind == "instance":
        return by_dims(dims, nn.InstanceNorm1d, nn.InstanceNorm2d)(channels, affine=True)
    if kind == "frame":
        return FrameNorm(dims, channels)
    if kind == "cumulative":
        return CumulativeNorm(dims, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


class GLU(nn.Module):
    """Gated linear unit over channels: the first half times sigmoid of the second."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(x, dim=1)


class GatedConv(nn.Module):
    """conv -> norm -> GLU, the gated CNN unit of CycleGAN-VC/StarGAN-VC, in ``dims`` D."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel_size: Size,
                 stride: Size = 1, norm: str = "instance", causal: bool = False) -> None:
        super().__init__()
        # A bias before a norm is subtracted right away: it would be a dead parameter.
        self.conv = conv(dims, in_ch, 2 * out_ch, kernel_size, stride, bias=norm == "none", causal=causal)
        self.norm = norm_layer(norm, dims, 2 * out_ch)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.glu(self.norm(self.conv(x)))


class GatedConv1d(GatedConv):
    """Gated conv on [B, C, T]."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Size, stride: Size = 1,
                 norm: str = "instance") -> None:
        super().__init__(1, in_ch, out_ch, kernel_size, stride, norm)


class GatedConv2d(GatedConv):
    """Gated conv on [B, C, H, W]; kernel and stride may be (h, w) tuples."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Size, stride: Size = 1,
                 norm: str = "instance", causal: bool = False) -> None:
        super().__init__(2, in_ch, out_ch, kernel_size, stride, norm, causal)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale and bias come from a condition vector (StarGAN-VC2's CIN).

    ``c`` [B, cond_dim] may be a one-hot code (source+target concatenated) or an embedding.
    The scale is ``1 + gamma(c)`` so that a freshly built layer starts near plain instance
    norm instead of near zero output.
    """

    def __init__(self, num_features: int, cond_dim: int, dims: int = 1) -> None:
        super().__init__()
        self.norm = by_dims(dims, nn.InstanceNorm1d, nn.InstanceNorm2d)(num_features, affine=False)
        self.affine = nn.Linear(cond_dim, 2 * num_features)
        self.dims = dims

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(c).chunk(2, dim=1)
        shape = (*gamma.shape, *(1,) * self.dims)
        return self.norm(x) * (1 + gamma.view(shape)) + beta.view(shape)


class ConditionalFrameNorm(ConditionalInstanceNorm):
    """Conditional instance norm with each frame normalised alone (FrameNorm, no affine of its
    own): its streaming twin, an adaptive layer norm (AdaSpeech's conditional layer norm)."""

    def __init__(self, num_features: int, cond_dim: int, dims: int = 1) -> None:
        super().__init__(num_features, cond_dim, dims)
        self.norm = FrameNorm(dims, num_features, affine=False)


class PixelShuffle1d(nn.Module):
    """[B, C*r, T] -> [B, C, T*r]; channel c*r + i becomes time step t*r + i, as in 2D."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, cr, t = x.shape
        if cr % self.factor:
            raise ValueError(f"{cr} channels are not divisible by the factor {self.factor}")
        x = x.reshape(b, cr // self.factor, self.factor, t)
        return x.transpose(2, 3).reshape(b, cr // self.factor, t * self.factor)


class HeightShuffle(nn.Module):
    """[B, C*r, H, W] -> [B, C, H*r, W]: pixel shuffle along the height (feature) axis only,
    for networks that keep the time axis at full rate."""

    def __init__(self, factor: int) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, cr, h, w = x.shape
        x = x.reshape(b, cr // self.factor, self.factor, h, w)
        return x.transpose(2, 3).reshape(b, cr // self.factor, h * self.factor, w)


class GatedUpsample(nn.Module):
    """conv -> pixel shuffle -> norm -> GLU: CycleGAN-VC2's upsampling by ``factor`` per axis.

    ``causal`` (2D only) upsamples the height alone and keeps time at its rate, so the
    layer streams.
    """

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel_size: Size,
                 factor: int = 2, norm: str = "instance", causal: bool = False) -> None:
        super().__init__()
        if causal and dims != 2:
            raise ValueError("a causal upsampling layer is 2D (it upsamples the feature axis)")
        scale = factor if causal else factor**dims
        self.conv = conv(dims, in_ch, 2 * out_ch * scale, kernel_size, bias=norm == "none", causal=causal)
        self.shuffle = HeightShuffle(factor) if causal else by_dims(dims, PixelShuffle1d, nn.PixelShuffle)(factor)
        self.norm = norm_layer(norm, dims, 2 * out_ch)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.glu(self.norm(self.shuffle(self.conv(x))))


class GatedUpsample1d(GatedUpsample):
    """[B, in_ch, T] -> [B, out_ch, T * factor]."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Size, factor: int = 2,
                 norm: str = "instance") -> None:
        super().__init__(1, in_ch, out_ch, kernel_size, factor, norm)


class GatedUpsample2d(GatedUpsample):
    """[B, in_ch, H, W] -> [B, out_ch, H * factor, W * factor]."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: Size, factor: int = 2,
                 norm: str = "instance", causal: bool = False) -> None:
        super().__init__(2, in_ch, out_ch, kernel_size, factor, norm, causal)


class ResidualBlock1d(nn.Module):
    """x + norm(conv(GLU(norm(conv(x))))): CycleGAN-VC2's 1D residual block.

    The gated hidden width defaults to ``channels``; MaskCycleGAN-VC's public generator uses
    ``hidden_channels = 2 * channels``. With ``norm="cin"`` both norms are conditional and
    ``forward`` takes ``(x, c)``.
    """

    def __init__(self, channels: int, kernel_size: int = 3, norm: str = "instance",
                 cond_dim: int | None = None, hidden_channels: int | None = None,
                 causal: bool = False) -> None:
        super().__init__()
        hidden = hidden_channels or channels
        self.conditional = norm == "cin"
        if self.conditional:
            if cond_dim is None:
                raise ValueError("norm='cin' needs cond_dim")
            self.norm1 = ConditionalInstanceNorm(2 * hidden, cond_dim)
            self.norm2 = ConditionalInstanceNorm(channels, cond_dim)
        elif norm in NORMS:
            self.norm1 = norm_layer(norm, 1, 2 * hidden)
            self.norm2 = norm_layer(norm, 1, channels)
        else:
            raise ValueError(f"unknown norm {norm!r}; expected one of {(*NORMS, 'cin')}")
        bias = norm == "none"
        self.conv1 = conv(1, channels, 2 * hidden, kernel_size, bias=bias, causal=causal)
        self.glu = GLU()
        self.conv2 = conv(1, hidden, channels, kernel_size, bias=bias, causal=causal)

    def _norm(self, layer: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return layer(x, c) if self.conditional else layer(x)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.conditional != (c is not None):
            raise ValueError("a 'cin' block needs a condition c; other blocks take none")
        h = self.glu(self._norm(self.norm1, self.conv1(x), c))
        return x + self._norm(self.norm2, self.conv2(h), c)


class ConvBank1d(nn.Module):
    """CBHG's bank of 1D convs with kernel sizes 1..``bank_size``, concatenated with the input.

    [B, in_ch, T] -> [B, in_ch + bank_size * bank_channels, T]: the n-th conv sees n-gram-like
    contexts of frames, the concatenated input keeps the frame itself (Chou et al. 2018's
    encoders start this way). Even kernels are padded on the left one frame more than on
    the right so every output keeps length T. With ``causal`` every conv is a CausalConv
    (zero context on the left, none on the right), so the bank streams.
    """

    def __init__(self, in_ch: int, bank_size: int = 8, bank_channels: int = 128, causal: bool = False) -> None:
        super().__init__()
        if bank_size < 1:
            raise ValueError(f"bank_size must be >= 1, got {bank_size}")
        self.causal = causal
        self.convs = nn.ModuleList(conv(1, in_ch, bank_channels, k, causal=True) if causal
                                   else nn.Conv1d(in_ch, bank_channels, k) for k in range(1, bank_size + 1))
        self.out_channels = in_ch + bank_size * bank_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [x]
        for layer in self.convs:
            outs.append(F.leaky_relu(layer(x if self.causal else self._pad(x, layer.kernel_size[0])), 0.2))
        return torch.cat(outs, dim=1)

    @staticmethod
    def _pad(x: torch.Tensor, k: int) -> torch.Tensor:
        """Reflected on both sides to keep the length (replicated when T is too short to reflect)."""
        return F.pad(x, (k // 2, (k - 1) // 2), mode="reflect" if x.shape[-1] > k // 2 else "replicate")


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:  # type: ignore[override]
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return -ctx.weight * grad, None


def reverse_gradient(x: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """Identity forward, gradient times ``-weight`` backward (Ganin & Lempitsky 2015).

    A classifier on ``reverse_gradient(h)`` learns to classify while whatever produced
    ``h`` learns, from the same backward pass, to defeat it.
    """
    return _GradientReversal.apply(x, weight)
