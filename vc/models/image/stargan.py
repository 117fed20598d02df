"""StarGAN (Choi et al. 2018): one generator translating images among N domains.

The generator is CycleGAN's ResNet generator whose input carries the target domain's
one-hot code as N constant channels. The discriminator is a PatchGAN with two heads: real
vs fake patches, and the domain of the image (trained on real images, StarGAN's
auxiliary classifier). Losses: adversarial (LSGAN, or WGAN-GP as the paper with
``n_critic`` 5), domain classification (lambda_cls) and reconstruction back to the source
domain (lambda_rec).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeFloat, PositiveInt
from vc.errors import ConfigError
from vc.models.image.base import (
    ImageGANParams,
    ImageTranslationModel,
    image_strip,
)
from vc.models.image.blocks import PatchDiscriminator, ResnetGenerator
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss, gradient_penalty
from vc.train.model import StepContext


class DomainGenerator(nn.Module):
    """G(images [B, C, H, W], domain [B] target indices) -> images of those domains [B, C, H, W].

    The target's one-hot code enters as N constant channels. Through a reflection-padded
    conv a constant channel adds a per-channel constant, which instance norm subtracts
    right away: the generator would never see its target. So the first conv has no norm
    (and a bias): the code shifts each feature's ReLU threshold, a change the next
    norm cannot undo. (StarGAN's own code keeps the norm and zero-pads, so the code
    reaches the net only through the border pixels.)
    """

    def __init__(self, channels: int, num_domains: int, ngf: int, n_down: int, n_blocks: int) -> None:
        super().__init__()
        self.num_domains = num_domains
        self.net = ResnetGenerator(channels + num_domains, channels, ngf, n_down, n_blocks, stem_norm="none")

    def forward(self, images: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        code = F.one_hot(domain, self.num_domains).to(images.dtype)[:, :, None, None].expand(b, -1, h, w)
        return self.net(torch.cat([images, code], dim=1))


@dataclass(kw_only=True)
class ImageStarGANParams(ImageGANParams):
    """``model_params`` of ``model: image_stargan``.

    ``num_domains`` is required (the data's domain count; its order gives the indices the
    loader emits). n_layers None: the PatchGAN sees the whole image, which the domain head needs.
    """

    num_domains: int
    gan_loss: str = "lsgan"  # lsgan, hinge, ns, wgan (GANLoss kinds) or wgan-gp
    lambda_cls: NonNegativeFloat = 1.0
    lambda_rec: NonNegativeFloat = 10.0
    lambda_gp: NonNegativeFloat = 10.0  # wgan-gp only
    n_critic: PositiveInt = 1  # discriminator steps per generator step (the paper: 5 with wgan-gp)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_domains < 2:
            raise ConfigError(f"model_params.num_domains: need at least 2 domains, got {self.num_domains}")


@register_model("image_stargan")
class ImageStarGAN(ImageTranslationModel):
    """Batches: {"image": [B, C, S, S] in [-1, 1], "domain": [B] long, each image's domain index};
    S = image_size. Each step translates every image to a random other domain."""

    Params = ImageStarGANParams
    data_layout = "image_multi"
    patch_fraction = 1.0

    def __init__(self, channels: int, params: ImageStarGANParams) -> None:
        super().__init__(channels, params)
        p = params
        self.generator = DomainGenerator(channels, p.num_domains, p.ngf, p.n_down, p.n_blocks)
        # No norm in D, as StarGAN: the gradient penalty is per image and the patch
        # statistics stay each image's own.
        self.discriminator = PatchDiscriminator(channels, p.ndf, self.n_layers, norm="none",
                                                num_classes=p.num_domains)
        self.gan = build_network("gan_loss", GANLoss, "wgan" if p.gan_loss == "wgan-gp" else p.gan_loss)

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.generator], "discriminator": [self.discriminator]}

    def ema_networks(self) -> list[str]:
        return ["generator"]

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, source = batch["image"], batch["domain"]
        p = self.params
        target = (source + torch.randint(1, p.num_domains, source.shape, device=source.device)) % p.num_domains
        train_g = (ctx.step + 1) % p.n_critic == 0  # after n_critic discriminator steps, as StarGAN
        with ctx.autocast(), ctx.only("generator"), torch.set_grad_enabled(train_g):
            fake = self.generator(x, target)

        # D first: its classifier learns from real images only, so G cannot teach it its mistakes.
        with ctx.autocast():
            real_logits, real_classes = self.discriminator(x)
            fake_logits, _ = self.discriminator(fake.detach())
            adv_d = self.gan.discriminator(real_logits, fake_logits)
            cls_d = F.cross_entropy(real_classes.float(), source)
            loss_d = adv_d + p.lambda_cls * cls_d
            logs = {"d/adv": adv_d.item(), "d/cls": cls_d.item()}
            if p.gan_loss == "wgan-gp":
                gp = gradient_penalty(self.discriminator, x, fake, p.lambda_gp)
                loss_d = loss_d + gp
                logs["d/gp"] = gp.item()
        ctx.update("discriminator", loss_d)
        logs["d/total"] = loss_d.item()
        if not train_g:
            return logs

        with ctx.autocast(), ctx.only("generator"):
            fake_logits, fake_classes = self.discriminator(fake)
            adv = self.gan.generator(fake_logits)
            cls = F.cross_entropy(fake_classes.float(), target)
            rec = F.l1_loss(self.generator(fake, source), x)
            loss_g = adv + p.lambda_cls * cls + p.lambda_rec * rec
        ctx.update("generator", loss_g)
        return {**logs, "g/total": loss_g.item(), "g/adv": adv.item(), "g/cls": cls.item(), "g/rec": rec.item()}

    def validation_targets(self, source: torch.Tensor) -> torch.Tensor:
        """A fixed other domain per item, cycling through all of them along the batch (no RNG)."""
        n = self.params.num_domains
        shift = 1 + torch.arange(len(source), device=source.device) % (n - 1)
        return (source + shift) % n

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x, source = batch["image"], batch["domain"]
        target = self.validation_targets(source)
        fake = self.generator(x, target)
        _, real_classes = self.discriminator(x)
        _, fake_classes = self.discriminator(fake)
        return {"rec_l1": F.l1_loss(self.generator(fake, source), x).item(),
                "real_cls_acc": (real_classes.argmax(1) == source).float().mean().item(),
                "translated_cls_acc": (fake_classes.argmax(1) == target).float().mean().item()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The first image, then its translation to every domain (its own included)."""
        x = batch["image"][:1]
        every = torch.arange(self.params.num_domains, device=x.device)
        return {"to_each_domain": image_strip(x, *self.generator(x.expand(len(every), -1, -1, -1), every).split(1))}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, target_domain: torch.Tensor) -> torch.Tensor:
        """Images [B, C, H, W] in [-1, 1] (any domains) -> images of ``target_domain`` [B] (long), same shape."""
        self.check_images(images)
        n = self.params.num_domains
        if target_domain.shape != images.shape[:1]:
            raise ValueError(f"target_domain: expected one index per image, shape {tuple(images.shape[:1])}, "
                             f"got {tuple(target_domain.shape)}")
        if target_domain.numel() and not 0 <= int(target_domain.min()) <= int(target_domain.max()) < n:
            raise ValueError(f"target_domain: indices must be in [0, {n}), got {target_domain.tolist()}")
        return self.generator(images, target_domain.long())
