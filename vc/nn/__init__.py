"""Building blocks shared by every model: gated convs, norms, up/down/residual blocks,
the PatchGAN discriminator and GAN losses. Nothing here knows about audio or files."""

from vc.nn.discriminators import PatchGAN2d
from vc.nn.layers import (
    GLU,
    ConditionalInstanceNorm,
    ConvBank1d,
    GatedConv,
    GatedConv1d,
    GatedConv2d,
    GatedUpsample,
    GatedUpsample1d,
    GatedUpsample2d,
    PixelShuffle1d,
    ResidualBlock1d,
    by_dims,
    conv,
    norm_layer,
    reverse_gradient,
    same_padding,
)
from vc.nn.losses import GANLoss, gradient_penalty

__all__ = [
    "GLU",
    "ConditionalInstanceNorm",
    "ConvBank1d",
    "GANLoss",
    "GatedConv",
    "GatedConv1d",
    "GatedConv2d",
    "GatedUpsample",
    "GatedUpsample1d",
    "GatedUpsample2d",
    "PatchGAN2d",
    "PixelShuffle1d",
    "ResidualBlock1d",
    "by_dims",
    "conv",
    "gradient_penalty",
    "norm_layer",
    "reverse_gradient",
    "same_padding",
]
