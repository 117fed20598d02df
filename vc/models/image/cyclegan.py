"""CycleGAN (Zhu et al. 2017) for unpaired image translation between domains x and y.

Two ResNet generators (x -> y, y -> x), a PatchGAN per domain judging pooled fakes, LSGAN,
cycle-consistency and identity losses, as pytorch-CycleGAN-and-pix2pix.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeFloat, NonNegativeInt
from vc.models.image.base import (
    ImageGANParams,
    ImageTranslationModel,
    check_direction,
    image_strip,
)
from vc.models.image.blocks import ImagePool, PatchDiscriminator, ResnetGenerator
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss
from vc.train.model import StepContext


@dataclass(kw_only=True)
class ImageCycleGANParams(ImageGANParams):
    """``model_params`` of ``model: image_cyclegan``; n_layers None: the PatchGAN covers half the image."""

    lambda_cycle: NonNegativeFloat = 10.0
    lambda_identity: NonNegativeFloat = 0.5  # times lambda_cycle, as pix2pix's --lambda_identity; 0 = off
    pool_size: NonNegativeInt = 50  # history of fakes the discriminators also see; 0 = only the latest


@register_model("image_cyclegan")
class ImageCycleGAN(ImageTranslationModel):
    """Batches: {"x": [B, C, S, S] domain-x images, "y": [B, C, S, S] domain-y images} in [-1, 1],
    unpaired; S = image_size."""

    Params = ImageCycleGANParams
    data_layout = "image_unpaired"

    def __init__(self, channels: int, params: ImageCycleGANParams) -> None:
        super().__init__(channels, params)
        p = params
        self.g_xy = ResnetGenerator(channels, channels, p.ngf, p.n_down, p.n_blocks)
        self.g_yx = ResnetGenerator(channels, channels, p.ngf, p.n_down, p.n_blocks)
        self.d_x = PatchDiscriminator(channels, p.ndf, self.n_layers)
        self.d_y = PatchDiscriminator(channels, p.ndf, self.n_layers)
        shape = (channels, p.image_size, p.image_size)
        self.pool_x, self.pool_y = ImagePool(p.pool_size, shape), ImagePool(p.pool_size, shape)
        self.gan = build_network("gan_loss", GANLoss, p.gan_loss)

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.g_xy, self.g_yx], "discriminator": [self.d_x, self.d_y]}

    def ema_networks(self) -> list[str]:
        return ["g_xy", "g_yx"]

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        p = self.params
        with ctx.autocast(), ctx.only("generator"):
            fake_y, fake_x = self.g_xy(x), self.g_yx(y)
            adv = self.gan.generator(self.d_y(fake_y)) + self.gan.generator(self.d_x(fake_x))
            cycle = F.l1_loss(self.g_yx(fake_y), x) + F.l1_loss(self.g_xy(fake_x), y)
            loss_g = adv + p.lambda_cycle * cycle
            identity = torch.zeros((), device=x.device)
            if p.lambda_identity > 0:  # a generator fed its own target domain should change nothing
                identity = F.l1_loss(self.g_yx(x), x) + F.l1_loss(self.g_xy(y), y)
                loss_g = loss_g + p.lambda_cycle * p.lambda_identity * identity
        ctx.update("generator", loss_g)

        # Halved as pix2pix: D learns slower than G. Fakes come through the history pools.
        with ctx.autocast():
            loss_d = 0.5 * (self.gan.discriminator(self.d_x(x), self.d_x(self.pool_x(fake_x.detach())))
                            + self.gan.discriminator(self.d_y(y), self.d_y(self.pool_y(fake_y.detach()))))
        ctx.update("discriminator", loss_d)
        return {"g/total": loss_g.item(), "g/adv": adv.item(), "g/cycle": cycle.item(),
                "g/identity": identity.item(), "d/total": loss_d.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        return {"cycle_l1_x": F.l1_loss(self.g_yx(self.g_xy(x)), x).item(),
                "cycle_l1_y": F.l1_loss(self.g_xy(self.g_yx(y)), y).item()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch["x"][:1], batch["y"][:1]
        fake_y, fake_x = self.g_xy(x), self.g_yx(y)
        return {"x_to_y": image_strip(x, fake_y, self.g_yx(fake_y)),
                "y_to_x": image_strip(y, fake_x, self.g_xy(fake_x))}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "xy") -> torch.Tensor:
        """Images [B, C, H, W] in [-1, 1] of domain x ("xy") or y ("yx") -> the other domain, same shape."""
        check_direction(direction)
        self.check_images(images)
        return (self.g_xy if direction == "xy" else self.g_yx)(images)
