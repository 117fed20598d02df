"""A shared-latent translator (UNIT, Liu et al. 2017; the CoGAN family) with ComboGAN/XGAN options.

Per-domain encoders E_x, E_y whose last residual blocks are one shared stack, and decoders
G_x, G_y whose first residual blocks are another shared stack, so both domains meet in one
latent space. Encoding is VAE-style as UNIT: the encoder gives a mean map mu, the decoder
takes z = mu + noise_std * N(0, 1), and the KL term reduces to mean(mu**2). Translating x
to y is G_y(E_x(x)). Losses (generators):

* reconstruction |G_x(z_x) - x| (and for y), lambda_recon;
* KL, lambda_kl;
* adversarial: a PatchGAN per domain judges the translations;
* cycle |G_x(E_y(G_y(z_x))) - x| through the other domain, lambda_cycle;
* latent domain confusion: a latent discriminator learns which domain a mean map came from,
  the encoders are trained toward its 1/2 answer (domain confusion, Tzeng et al. 2015),
  lambda_latent_adv (0 removes the discriminator);
* ``lambda_latent_cycle`` (ComboGAN-style cycle in the latent): |E_y(G_y(z_x)) - mu_x|, the
  translation's latent map position by position;
* ``lambda_semantic`` (XGAN's semantic consistency / DTN's f-constancy): 1 - cosine of the
  translation's and the source's global embeddings (mean maps averaged over positions), the
  source side held fixed as DTN's f, so the encoders cannot meet it by collapsing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeFloat, NonNegativeInt
from vc.errors import ConfigError
from vc.models.image.base import (
    ImageGANParams,
    ImageTranslationModel,
    check_direction,
    image_strip,
)
from vc.models.image.blocks import (
    ImageDecoder,
    ImageEncoder,
    PatchDiscriminator,
    residual_stack,
)
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss
from vc.train.model import StepContext


class LatentDiscriminator(nn.Module):
    """Latent maps [B, width, h, w] -> one logit per item [B], positive for domain x.

    Two 3x3 convs (the second of stride 2) and a 1x1 conv, averaged over positions: any latent size works.
    """

    def __init__(self, width: int, ndf: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(width, ndf, 3, 1, 1), nn.LeakyReLU(0.2),
                                 nn.Conv2d(ndf, ndf, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ndf, 1, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).mean(dim=(1, 2, 3))


@dataclass(kw_only=True)
class ImageSharedLatentParams(ImageGANParams):
    """``model_params`` of ``model: image_shared_latent``; n_layers None: the PatchGANs cover half the image."""

    n_blocks: NonNegativeInt = 4  # residual blocks per encoder and per decoder, n_shared_blocks of them shared
    n_shared_blocks: int = 1
    noise_std: NonNegativeFloat = 1.0
    lambda_recon: NonNegativeFloat = 10.0
    lambda_kl: NonNegativeFloat = 0.01
    lambda_cycle: NonNegativeFloat = 10.0
    lambda_latent_adv: NonNegativeFloat = 0.1
    lambda_latent_cycle: NonNegativeFloat = 0.0
    lambda_semantic: NonNegativeFloat = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.n_shared_blocks <= self.n_blocks:
            raise ConfigError(f"model_params.n_shared_blocks: must be in [1, n_blocks = {self.n_blocks}], "
                              f"got {self.n_shared_blocks}")

    @property
    def reencodes(self) -> bool:
        """Whether a loss needs the translations encoded again."""
        return max(self.lambda_cycle, self.lambda_latent_cycle, self.lambda_semantic) > 0


def global_embedding(mu: torch.Tensor) -> torch.Tensor:
    """Mean map [B, width, h, w] -> one embedding [B, width] (positions averaged)."""
    return mu.float().mean(dim=(2, 3))


@register_model("image_shared_latent")
class ImageSharedLatent(ImageTranslationModel):
    """Batches: {"x": [B, C, S, S] domain-x images, "y": [B, C, S, S] domain-y images} in [-1, 1],
    unpaired; S = image_size."""

    Params = ImageSharedLatentParams
    data_layout = "image_unpaired"

    def __init__(self, channels: int, params: ImageSharedLatentParams) -> None:
        super().__init__(channels, params)
        p = params
        private = p.n_blocks - p.n_shared_blocks
        self.enc_x = ImageEncoder(channels, p.ngf, p.n_down, private)
        self.enc_y = ImageEncoder(channels, p.ngf, p.n_down, private)
        width = self.enc_x.out_channels
        self.enc_shared = residual_stack(width, p.n_shared_blocks)
        self.dec_shared = residual_stack(width, p.n_shared_blocks)
        self.dec_x = ImageDecoder(width, channels, p.n_down, private)
        self.dec_y = ImageDecoder(width, channels, p.n_down, private)
        self.d_x = PatchDiscriminator(channels, p.ndf, self.n_layers)
        self.d_y = PatchDiscriminator(channels, p.ndf, self.n_layers)
        self.latent_d = LatentDiscriminator(width, p.ndf) if p.lambda_latent_adv > 0 else None
        self.gan = build_network("gan_loss", GANLoss, p.gan_loss)

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        discriminators = [self.d_x, self.d_y] + ([self.latent_d] if self.latent_d is not None else [])
        return {"generator": [getattr(self, name) for name in self.ema_networks()], "discriminator": discriminators}

    def ema_networks(self) -> list[str]:
        return ["enc_x", "enc_y", "enc_shared", "dec_shared", "dec_x", "dec_y"]

    def encode(self, images: torch.Tensor, domain: str) -> torch.Tensor:
        """Images [B, C, H, W] of ``domain`` ("x" or "y") -> mean map [B, width, H / 2**n_down, W / 2**n_down]."""
        return self.enc_shared(getattr(self, f"enc_{domain}")(images))

    def sample(self, mu: torch.Tensor) -> torch.Tensor:
        return mu + self.params.noise_std * torch.randn_like(mu)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent map -> (its domain-x image, its domain-y image): the shared stack runs once."""
        h = self.dec_shared(z)
        return self.dec_x(h), self.dec_y(h)

    def decode_to(self, z: torch.Tensor, domain: str) -> torch.Tensor:
        """Latent map -> its image in ``domain`` ("x" or "y") only."""
        return getattr(self, f"dec_{domain}")(self.dec_shared(z))

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        p = self.params
        with ctx.autocast(), ctx.only("generator"):
            mu_x, mu_y = self.encode(x, "x"), self.encode(y, "y")
            recon_x, fake_y = self.decode(self.sample(mu_x))
            fake_x, recon_y = self.decode(self.sample(mu_y))
            terms = {"recon": F.l1_loss(recon_x, x) + F.l1_loss(recon_y, y),
                     "kl": mu_x.float().square().mean() + mu_y.float().square().mean(),
                     "adv": self.gan.generator(self.d_y(fake_y)) + self.gan.generator(self.d_x(fake_x))}
            weights = {"recon": p.lambda_recon, "kl": p.lambda_kl, "adv": 1.0}
            if self.latent_d is not None:
                logits = self.latent_d(torch.cat([mu_x, mu_y])).float()
                terms["latent_adv"] = F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 0.5))
                weights["latent_adv"] = p.lambda_latent_adv
            if p.reencodes:
                mu_fy, mu_fx = self.encode(fake_y, "y"), self.encode(fake_x, "x")
                if p.lambda_cycle > 0:
                    terms["cycle"] = (F.l1_loss(self.decode_to(self.sample(mu_fy), "x"), x)
                                      + F.l1_loss(self.decode_to(self.sample(mu_fx), "y"), y))
                    weights["cycle"] = p.lambda_cycle
                if p.lambda_latent_cycle > 0:
                    terms["latent_cycle"] = F.l1_loss(mu_fy, mu_x) + F.l1_loss(mu_fx, mu_y)
                    weights["latent_cycle"] = p.lambda_latent_cycle
                if p.lambda_semantic > 0:
                    terms["semantic"] = sum(
                        (1 - F.cosine_similarity(global_embedding(translated), global_embedding(source).detach())).mean()
                        for translated, source in ((mu_fy, mu_x), (mu_fx, mu_y)))
                    weights["semantic"] = p.lambda_semantic
            loss_g = sum(weights[name] * term for name, term in terms.items())
        ctx.update("generator", loss_g)
        logs = {"g/total": loss_g.item(), **{f"g/{name}": term.item() for name, term in terms.items()}}

        with ctx.autocast():
            loss_d = (self.gan.discriminator(self.d_x(x), self.d_x(fake_x.detach()))
                      + self.gan.discriminator(self.d_y(y), self.d_y(fake_y.detach())))
            logs["d/image"] = loss_d.item()
            if self.latent_d is not None:
                logits = self.latent_d(torch.cat([mu_x, mu_y]).detach()).float()
                is_x = torch.cat([torch.ones(len(mu_x)), torch.zeros(len(mu_y))]).to(logits.device)
                latent = F.binary_cross_entropy_with_logits(logits, is_x)
                loss_d = loss_d + latent
                accuracy = ((logits > 0) == is_x.bool()).float().mean()
                logs.update({"d/latent": latent.item(), "d/latent_acc": accuracy.item()})
        ctx.update("discriminator", loss_d)
        logs["d/total"] = loss_d.item()
        return logs

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Noise-free: reconstruction and cycle L1 through the mean maps."""
        x, y = batch["x"], batch["y"]
        recon_x, fake_y = self.decode(self.encode(x, "x"))
        fake_x, recon_y = self.decode(self.encode(y, "y"))
        return {"recon_l1_x": F.l1_loss(recon_x, x).item(), "recon_l1_y": F.l1_loss(recon_y, y).item(),
                "cycle_l1_x": F.l1_loss(self.translate(fake_y, "yx"), x).item(),
                "cycle_l1_y": F.l1_loss(self.translate(fake_x, "xy"), y).item()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, y = batch["x"][:1], batch["y"][:1]
        fake_y, fake_x = self.translate(x, "xy"), self.translate(y, "yx")
        return {"x_to_y": image_strip(x, fake_y, self.translate(fake_y, "yx")),
                "y_to_x": image_strip(y, fake_x, self.translate(fake_x, "xy"))}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "xy") -> torch.Tensor:
        """Images [B, C, H, W] in [-1, 1] of domain x ("xy") or y ("yx") -> the other domain, same shape.

        Through the mean map, without noise (UNIT's test-time translation).
        """
        check_direction(direction)
        self.check_images(images)
        source, target = direction
        return self.decode_to(self.encode(images, source), target)
