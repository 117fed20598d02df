"""Networks the image models share: ResNet encoder/decoder stacks, pix2pix's PatchGAN and ImagePool.

Images are [B, C, H, W] in [-1, 1]. Stride-1 convs pad by reflection (no dark border for
the next layer to learn around, as pix2pix's ResnetGenerator); stride-2 convs pad with zeros.
Every conv followed by a norm has no bias: instance norm would subtract it right away.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vc.nn import norm_layer

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "none": nn.Identity}


class NearestUpConv2d(nn.Conv2d):
    """x2 nearest-neighbour upsampling, then a 3x3 reflection-padded conv: [B, in, h, w] -> [B, out, 2h, 2w].

    Computed in sub-pixel form when the input is large: each of the four output phases
    (even/odd row and column) sees only a 2x2 block of input pixels, so four 2x2 convs on
    the input, their kernels sums of the 3x3 kernel's rows and columns, give the same
    result with 16 instead of 36 multiply-adds per input pixel and channel pair. Reflection
    padding of the upsampled map is replicate padding of the input. Parameters and their
    names are a plain Conv2d's.
    """

    # Input size (B * C * h * w) from which the sub-pixel form was the faster one here (2-core
    # CPU, forward and backward): its four slices and interleave outweigh the saving on small inputs.
    SUBPIXEL_FROM = 2**15

    def __init__(self, in_ch: int, out_ch: int, bias: bool = True) -> None:
        super().__init__(in_ch, out_ch, 3, padding=1, padding_mode="reflect", bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() < self.SUBPIXEL_FROM:
            return super().forward(F.interpolate(x, scale_factor=2, mode="nearest"))
        b, _, h, w = x.shape
        # Kernels of phases (0, 0), (0, 1), (1, 0), (1, 1): rows split, then columns.
        phases = [kernel for rows in _two_taps(self.weight, 2) for kernel in _two_taps(rows, 3)]
        out = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), torch.cat(phases), None if self.bias is None
                       else self.bias.repeat(4)).view(b, 2, 2, self.out_channels, h + 1, w + 1)
        # Phase (p, q)'s output (a, c) is at window (a + p, c + q) of the padded input.
        y = torch.stack([torch.stack([out[:, p, q, :, p:p + h, q:q + w] for q in (0, 1)], -1) for p in (0, 1)], 3)
        return y.reshape(b, self.out_channels, 2 * h, 2 * w)


def _two_taps(kernel: torch.Tensor, dim: int) -> list[torch.Tensor]:
    """A 3-tap axis ``dim`` of ``kernel`` as its two 2-tap phases on the x2-upsampled map.

    An even output row reads input rows a-1, a with taps [k0, k1 + k2]; an odd one rows
    a, a+1 with [k0 + k1, k2].
    """
    k0, k1, k2 = kernel.unbind(dim)
    return [torch.stack([k0, k1 + k2], dim), torch.stack([k0 + k1, k2], dim)]


class ConvBlock(nn.Sequential):
    """conv -> norm -> activation: [B, in_ch, H, W] -> [B, out_ch, H / stride, W / stride]."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, norm: str = "instance",
                 act: str = "relu") -> None:
        conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2,
                         padding_mode="reflect" if stride == 1 else "zeros", bias=norm == "none")
        super().__init__(conv, norm_layer(norm, 2, out_ch), ACTIVATIONS[act]())


class UpBlock(nn.Sequential):
    """NearestUpConv2d -> instance norm -> ReLU: [B, in_ch, H, W] -> [B, out_ch, 2H, 2W]."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(NearestUpConv2d(in_ch, out_ch, bias=False), norm_layer("instance", 2, out_ch), nn.ReLU())


class ResidualBlock(nn.Module):
    """x + IN(conv3(ReLU(IN(conv3(x))))) on [B, channels, H, W] (Johnson et al. 2016, as CycleGAN)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvBlock(channels, channels, 3), ConvBlock(channels, channels, 3, act="none"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def residual_stack(channels: int, n_blocks: int) -> nn.Sequential:
    """``n_blocks`` residual blocks in a row (an empty stack is the identity)."""
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(n_blocks)))


class ImageEncoder(nn.Sequential):
    """c7s1-ngf, ``n_down`` stride-2 convs doubling the width, ``n_blocks`` residual blocks.

    [B, in_ch, H, W] -> [B, out_channels, H / 2**n_down, W / 2**n_down], out_channels = ngf * 2**n_down.
    ``stem_norm`` is the first conv's norm: "none" (with a bias) for inputs carrying
    spatially constant channels, which instance norm would erase (see DomainGenerator).
    """

    def __init__(self, in_ch: int, ngf: int, n_down: int, n_blocks: int, stem_norm: str = "instance") -> None:
        layers: list[nn.Module] = [ConvBlock(in_ch, ngf, 7, norm=stem_norm)]
        width = ngf
        for _ in range(n_down):
            layers.append(ConvBlock(width, 2 * width, 3, stride=2))
            width *= 2
        super().__init__(*layers, residual_stack(width, n_blocks))
        self.out_channels = width


class ImageDecoder(nn.Sequential):
    """``n_blocks`` residual blocks, ``n_up`` x2 upsamplings halving the width, c7s1-out_ch + tanh.

    [B, in_ch, h, w] -> [B, out_ch, h * 2**n_up, w * 2**n_up] in [-1, 1]. Upsampling is
    nearest-neighbour then a conv rather than a transposed conv: no checkerboard artefacts
    (Odena et al. 2016), which show on small grayscale images.
    """

    def __init__(self, in_ch: int, out_ch: int, n_up: int, n_blocks: int) -> None:
        layers: list[nn.Module] = [residual_stack(in_ch, n_blocks)]
        width = in_ch
        for _ in range(n_up):
            layers.append(UpBlock(width, width // 2))
            width //= 2
        layers.append(ConvBlock(width, out_ch, 7, norm="none", act="tanh"))
        super().__init__(*layers)


class ResnetGenerator(nn.Sequential):
    """CycleGAN's generator: ImageEncoder then ImageDecoder, [B, in_ch, H, W] -> [B, out_ch, H, W].

    H and W must be divisible by 2**n_down. ``stem_norm``: as ImageEncoder's.
    """

    def __init__(self, in_ch: int, out_ch: int, ngf: int, n_down: int, n_blocks: int,
                 stem_norm: str = "instance") -> None:
        encoder = ImageEncoder(in_ch, ngf, n_down, n_blocks, stem_norm)
        super().__init__(encoder, ImageDecoder(encoder.out_channels, out_ch, n_down, 0))


# ---- PatchGAN ---------------------------------------------------------------------------------

PATCH_KERNEL = 4  # pix2pix's 4x4 convs, padding 1


def patch_field(n_layers: int) -> int:
    """Receptive field (pixels per side) of one logit of a PatchDiscriminator with ``n_layers``.

    The path to a logit is ``n_layers`` stride-2 convs, a stride-1 conv and the stride-1
    logit conv, all 4x4: 16 for 1 layer, 34 for 2, 70 for 3 (pix2pix's 70x70 PatchGAN), 142 for 4.
    """
    field, jump = 1, 1
    for stride in [2] * n_layers + [1, 1]:
        field += (PATCH_KERNEL - 1) * jump
        jump *= stride
    return field


def patch_map_size(image_size: int, n_layers: int) -> int:
    """Side of the logit map a PatchDiscriminator gives for square ``image_size`` inputs (<= 0: none)."""
    size = image_size
    for _ in range(n_layers):
        size //= 2  # a 4x4 stride-2 conv with padding 1
    return size - 2  # two 4x4 stride-1 convs with padding 1


def max_patch_layers(image_size: int) -> int:
    """The most stride-2 layers that still leave a logit map of at least 1x1 (0: the image is too small)."""
    n = 0
    while patch_map_size(image_size, n + 1) >= 1:
        n += 1
    return n


def patch_layers(image_size: int, fraction: float) -> int:
    """The fewest layers whose receptive field covers ``fraction`` of the image side, as many as fit.

    With fraction 0.5 (the CycleGAN default here): 1 layer (16x16) at 32x32, 2 (34x34) at 64,
    3 (70x70, pix2pix's) at 128, 4 (142x142) at 256.
    """
    limit = max(max_patch_layers(image_size), 1)
    n = 1
    while n < limit and patch_field(n) < fraction * image_size:
        n += 1
    return n


class PatchDiscriminator(nn.Module):
    """pix2pix's NLayerDiscriminator, optionally with a class head (StarGAN).

    [B, in_ch, H, W] -> patch logits [B, 1, H', W'] (H' = patch_map_size), each judging a
    patch_field(n_layers)-pixel square; with ``num_classes`` > 0 also class logits
    [B, num_classes], a conv on the same trunk averaged over the map. Trunk: 4x4 convs, the
    first ``n_layers`` of stride 2 (the first without norm), widths ndf * min(2**i, 8), then
    one of stride 1; LeakyReLU 0.2 throughout.
    """

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 num_classes: int = 0) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        widths = [ndf * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, PATCH_KERNEL, 2, 1), nn.LeakyReLU(0.2)]
        for i in range(1, n_layers + 1):
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(widths[i - 1], widths[i], PATCH_KERNEL, stride, 1, bias=norm == "none"),
                       norm_layer(norm, 2, widths[i]), nn.LeakyReLU(0.2)]
        self.trunk = nn.Sequential(*layers)
        self.out = nn.Conv2d(widths[-1], 1, PATCH_KERNEL, 1, 1)
        self.classifier = nn.Conv2d(widths[-1], num_classes, PATCH_KERNEL, 1, 1) if num_classes > 0 else None
        self.n_layers = n_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        if self.classifier is None:
            return self.out(h)
        return self.out(h), self.classifier(h).mean(dim=(2, 3))

    def receptive_field(self) -> int:
        """Pixels per side one patch logit sees through the convs (instance norm aside)."""
        return patch_field(self.n_layers)


# ---- image pool -------------------------------------------------------------------------------


class ImagePool(nn.Module):
    """pix2pix's history of generated images for the discriminator (Shrivastava et al. 2017).

    ``forward(images [B, C, H, W]) -> [B, C, H, W]``: until ``size`` images are stored, each
    image is stored and returned as is. After that, each image, with probability 1/2,
    takes the place of a random stored one, which is returned instead; otherwise it is
    returned as is. So the discriminator also sees older generators' fakes and cannot
    just chase the latest one. The stored images and their count are buffers: checkpoints
    carry them and a resumed run continues with the same history. The coin flips come from
    torch's global generator, whose state the trainer checkpoints too.
    """

    def __init__(self, size: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.register_buffer("images", torch.zeros(size, *image_shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        if images.shape[1:] != self.images.shape[1:]:
            raise ValueError(f"the image pool holds images of shape {tuple(self.images.shape[1:])}, "
                             f"got {tuple(images.shape[1:])}")
        # Drawn for every query, full pool or not, so the generator's stream advances the same way.
        coins = torch.rand(len(images)).tolist()
        slots = torch.randint(self.size, (len(images),)).tolist()
        count = int(self.count)
        out = []
        for image, coin, slot in zip(images, coins, slots):
            if count < self.size:
                self.images[count] = image
                count += 1
                out.append(image)
            elif coin > 0.5:
                out.append(self.images[slot].to(images.dtype, copy=True))  # a copy: the slot is overwritten next
                self.images[slot] = image
            else:
                out.append(image)
        self.count.fill_(count)
        return torch.stack(out)
