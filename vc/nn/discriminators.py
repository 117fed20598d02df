"""PatchGAN discriminator of CycleGAN-VC2 / MaskCycleGAN-VC, with an optional class head."""

from __future__ import annotations

import torch
from torch import nn

from vc.config import NonNegativeInt, PositiveInt
from vc.nn.layers import GatedConv2d, Size, conv


class PatchGAN2d(nn.Module):
    """2D gated-CNN PatchGAN over a feature map [B, in_channels, H, W] (e.g. mel x frames).

    Trunk: a gated conv (stride 1, no norm), one stride-2 gated conv with instance norm per
    further entry of ``channels``, then a stride-1 gated conv with ``final_kernel``. The
    patch head is a conv with ``out_kernel`` to one channel, giving logits [B, 1, H', W']
    with H' = ceil(H / 2**(len(channels) - 1)) (likewise W'). With ``num_classes > 0`` a
    second conv on the same trunk, averaged over the map, classifies the speaker/domain
    (StarGAN-VC), so the segment length stays free; ``forward`` then returns both.
    """

    def __init__(self, in_channels: PositiveInt = 1, channels: tuple[PositiveInt, ...] = (128, 256, 512, 1024),
                 kernel_size: Size = 3, final_kernel: Size = (1, 5), out_kernel: Size = (1, 3),
                 num_classes: NonNegativeInt = 0) -> None:
        super().__init__()
        if not channels:
            raise ValueError("channels needs at least one entry")
        layers = [GatedConv2d(in_channels, channels[0], kernel_size, norm="none")]
        layers += [GatedConv2d(c_in, c_out, kernel_size, stride=2)
                   for c_in, c_out in zip(channels[:-1], channels[1:])]
        layers.append(GatedConv2d(channels[-1], channels[-1], final_kernel))
        self.trunk = nn.Sequential(*layers)
        self.out = conv(2, channels[-1], 1, out_kernel)
        self.classifier = conv(2, channels[-1], num_classes, out_kernel) if num_classes > 0 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        logits = self.out(h)
        if self.classifier is None:
            return logits
        return logits, self.classifier(h).mean(dim=(2, 3))

    def receptive_field(self) -> tuple[int, int]:
        """(height, width) of input one patch logit sees through the convolutions.

        Instance norm's statistics span the whole map, so this is the local field only.
        """
        convs = [m for m in self.modules() if isinstance(m, nn.Conv2d) and m is not self.classifier]
        field, jump = [1, 1], [1, 1]
        for c in convs:
            for axis in range(2):
                field[axis] += (c.kernel_size[axis] - 1) * c.dilation[axis] * jump[axis]
                jump[axis] *= c.stride[axis]
        return field[0], field[1]
