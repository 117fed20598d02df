"""CycleGAN-VC2 with MaskCycleGAN-VC's filling-in-frames (Kaneko et al. 2019, 2021).

Two 2-1-2D generators (X->Y, Y->X), 2D PatchGAN discriminators for each domain and, for
the two-step adversarial loss, a second pair judging cycle-reconstructed features.
Features are [batch, dim, frames] (normalised log-mel or MCEP); the height ``dim`` comes
from the data, nothing is hard-coded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeInt, PositiveInt
from vc.errors import ConfigError
from vc.models.content import build_phonetic
from vc.models.registry import build_network, register_model
from vc.nn.streaming import FrameStream
from vc.nn import GANLoss, GatedConv2d, GatedUpsample2d, PatchGAN2d, ResidualBlock1d, conv, norm_layer
from vc.train.model import StepContext, TrainableModel


def conv_out_size(size: int, kernel: int, stride: int) -> int:
    """Output size of a conv with padding kernel // 2."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


class Generator212(nn.Module):
    """2D convs over (dim, frames) -> 1D residual blocks over frames -> 2D upsampling.

    CycleGAN-VC2's generator, shared by StarGAN-VC2. With ``masked`` (MaskCycleGAN-VC)
    the input is two channels, the masked features and the mask (1 = kept, 0 = frames to
    fill in). With ``cond_dim`` the residual blocks take a condition vector through
    conditional instance norm (StarGAN-VC2's speaker pair). Output [B, dim, T] for any T:
    the down/upsampling is cropped back to the input size.

    With ``causal`` the generator streams (vc.nn.streaming): every conv is causal in time,
    only the feature axis is down- and upsampled, and each frame is normalised alone
    (``norm: frame``; instance norm over a whole utterance cannot stream). It then looks
    ``lookahead`` frames ahead: its body runs on the input padded with that many frames
    and the first outputs are dropped, so output t sees input frames up to t + lookahead.
    """

    def __init__(
        self,
        dim: PositiveInt,
        channels: PositiveInt = 128,
        down_channels: tuple[PositiveInt, ...] = (256, 256),
        residual_channels: PositiveInt = 256,
        residual_blocks: PositiveInt = 6,
        residual_kernel: PositiveInt = 3,
        residual_hidden: PositiveInt | None = None,  # None: 2 x residual_channels, as MaskCycleGAN-VC
        up_channels: tuple[PositiveInt, ...] = (128, 128),
        first_kernel: tuple[PositiveInt, PositiveInt] = (5, 15),
        kernel: PositiveInt = 5,
        masked: bool = True,
        cond_dim: PositiveInt | None = None,
        causal: bool = False,
        lookahead: NonNegativeInt = 0,
        norm: Literal["instance", "frame"] = "instance",
    ) -> None:
        super().__init__()
        if len(up_channels) != len(down_channels):
            raise ValueError("up_channels must have one entry per down_channels entry (same scale factor)")
        if causal and (norm == "instance" or cond_dim):
            raise ValueError("a causal generator needs norm: frame (instance norm spans the whole utterance)")
        if lookahead and not causal:
            raise ValueError("lookahead is the causal generator's setting; the default generator sees the "
                             "whole utterance")
        self.masked, self.dim, self.causal, self.lookahead = masked, dim, causal, lookahead
        self.first = GatedConv2d(2 if masked else 1, channels, first_kernel, norm="none", causal=causal)
        stride = (2, 1) if causal else 2  # a causal network keeps every frame
        downs, ch, height = [], channels, dim
        for out in down_channels:
            downs.append(GatedConv2d(ch, out, kernel, stride=stride, norm=norm, causal=causal))
            ch, height = out, conv_out_size(height, kernel, 2)
        self.down = nn.Sequential(*downs)
        self.bottleneck_channels, self.bottleneck_height = ch, height
        flat = ch * height
        # No conv bias before a norm: the norm would cancel it.
        self.to_1d = nn.Sequential(conv(1, flat, residual_channels, 1, bias=False),
                                   norm_layer(norm, 1, residual_channels))
        self.residual = nn.ModuleList(
            ResidualBlock1d(residual_channels, residual_kernel, norm="cin" if cond_dim else norm,
                            cond_dim=cond_dim, hidden_channels=residual_hidden or 2 * residual_channels,
                            causal=causal)
            for _ in range(residual_blocks))
        self.to_2d = nn.Sequential(conv(1, residual_channels, flat, 1, bias=False),
                                   norm_layer(norm, 1, flat))
        ups = []
        for out in up_channels:
            ups.append(GatedUpsample2d(ch, out, kernel, factor=2, norm=norm, causal=causal))
            ch = out
        self.up = nn.Sequential(*ups)
        self.last = conv(2, ch, 1, first_kernel, causal=causal)

    def forward(self, feats: torch.Tensor, mask: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        frames = feats.shape[-1]
        h = F.pad(self.prepare(feats, mask), (0, self.lookahead))
        return self.body(h, cond)[..., self.lookahead:self.lookahead + frames]

    def prepare(self, feats: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """[B, dim, T] features (and mask) -> the [B, channels, dim, T] input of :meth:`body`."""
        if not self.masked:
            return feats[:, None]
        mask = torch.ones_like(feats) if mask is None else mask
        return torch.stack([feats * mask, mask], dim=1)

    def body(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Every layer, on prepared input: [B, dim, T'] out (T' = T, or T rounded up to the
        time stride and cropped by :meth:`forward`)."""
        batch = h.shape[0]
        h = self.down(self.first(h))
        t = h.shape[-1]
        h = self.to_1d(h.reshape(batch, -1, t))
        for block in self.residual:
            h = block(h, cond)
        h = self.to_2d(h).reshape(batch, self.bottleneck_channels, self.bottleneck_height, t)
        return self.last(self.up(h))[:, 0, :self.dim]


@dataclass
class CycleGANVCParams:
    """``model_params`` of ``model: cyclegan_vc``."""

    generator: dict = field(default_factory=dict)  # Generator212 keyword arguments
    discriminator: dict = field(default_factory=dict)  # PatchGAN2d keyword arguments
    gan_loss: str = "lsgan"
    lambda_cycle: float = 10.0
    lambda_identity: float = 5.0
    identity_steps: int = 10000  # the identity loss is dropped after this many steps
    two_step: bool = True  # second-step adversarial loss on cycle-reconstructed features
    max_mask_frames: int = 25  # filling-in-frames: mask a random span of up to this many; 0 = off
    # A trained phone recogniser (set from the experiment's content_model) and the weight of
    # keeping its bottleneck unchanged by conversion: content the discriminator cannot see.
    phonetic: dict = field(default_factory=dict)
    lambda_content: float = 0.0


@register_model("cyclegan_vc")
class CycleGANVC(TrainableModel):
    """Batches: {"x": [B, dim, T] source speaker, "y": [B, dim, T] target speaker}."""

    Params = CycleGANVCParams
    data_layout = "paired"  # batches of two speakers' segments, see vc.data.unpaired

    def __init__(self, dim: int, params: CycleGANVCParams | None = None) -> None:
        super().__init__()
        self.params = p = params or CycleGANVCParams()
        if "cond_dim" in p.generator:  # the generator's speaker conditioning is StarGAN-VC's, not a pair's
            raise ConfigError("model_params.generator.cond_dim: not a cyclegan_vc setting (speaker-conditioned "
                              "normalisation is stargan_vc's)")
        self.g_xy = build_network("generator", Generator212, dim, **p.generator)
        self.g_yx = build_network("generator", Generator212, dim, **p.generator)
        self.d_x = build_network("discriminator", PatchGAN2d, **p.discriminator)
        self.d_y = build_network("discriminator", PatchGAN2d, **p.discriminator)
        if p.two_step:
            self.d2_x = build_network("discriminator", PatchGAN2d, **p.discriminator)
            self.d2_y = build_network("discriminator", PatchGAN2d, **p.discriminator)
        self.gan = build_network("gan_loss", GANLoss, p.gan_loss)
        self.phonetic = build_phonetic(dim, p.phonetic)
        if p.lambda_content > 0 and self.phonetic is None:
            raise ConfigError("model_params.lambda_content: needs a phone recogniser (content_model: EXP)")

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        discriminators = [self.d_x, self.d_y] + ([self.d2_x, self.d2_y] if self.params.two_step else [])
        return {"generator": [self.g_xy, self.g_yx], "discriminator": discriminators}

    def ema_networks(self) -> list[str]:
        return ["g_xy", "g_yx"]

    def random_mask(self, feats: torch.Tensor) -> torch.Tensor:
        """1 everywhere except one random span of 0..max_mask_frames frames per item."""
        batch, _, frames = feats.shape
        limit = min(self.params.max_mask_frames, frames)
        if limit <= 0:
            return torch.ones_like(feats)
        lengths = torch.randint(0, limit + 1, (batch, 1), device=feats.device)
        starts = (torch.rand(batch, 1, device=feats.device) * (frames - lengths + 1)).long()
        t = torch.arange(frames, device=feats.device)
        keep = (t < starts) | (t >= starts + lengths)
        return keep[:, None, :].to(feats.dtype).expand_as(feats)

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        p = self.params
        with ctx.autocast(), ctx.only("generator"):
            fake_y = self.g_xy(x, self.random_mask(x))
            fake_x = self.g_yx(y, self.random_mask(y))
            cycle_x, cycle_y = self.g_yx(fake_y), self.g_xy(fake_x)
            adv = self.gan.generator(self.d_y(fake_y[:, None])) + self.gan.generator(self.d_x(fake_x[:, None]))
            if p.two_step:
                adv = adv + self.gan.generator(self.d2_x(cycle_x[:, None])) + self.gan.generator(self.d2_y(cycle_y[:, None]))
            cycle = F.l1_loss(cycle_x, x) + F.l1_loss(cycle_y, y)
            loss_g = adv + p.lambda_cycle * cycle
            content = torch.zeros((), device=x.device)
            if p.lambda_content > 0:
                content = self.phonetic.loss(fake_y, x) + self.phonetic.loss(fake_x, y)
                loss_g = loss_g + p.lambda_content * content
            identity = torch.zeros((), device=x.device)
            if ctx.step < p.identity_steps and p.lambda_identity > 0:
                identity = F.l1_loss(self.g_yx(x), x) + F.l1_loss(self.g_xy(y), y)
                loss_g = loss_g + p.lambda_identity * identity
        ctx.update("generator", loss_g)

        # The discriminators judge the fakes made above, detached: no second generator pass.
        with ctx.autocast():
            loss_d = (self.gan.discriminator(self.d_x(x[:, None]), self.d_x(fake_x.detach()[:, None]))
                      + self.gan.discriminator(self.d_y(y[:, None]), self.d_y(fake_y.detach()[:, None])))
            if p.two_step:
                loss_d = loss_d + (
                    self.gan.discriminator(self.d2_x(x[:, None]), self.d2_x(cycle_x.detach()[:, None]))
                    + self.gan.discriminator(self.d2_y(y[:, None]), self.d2_y(cycle_y.detach()[:, None])))
        ctx.update("discriminator", loss_d)
        return {"g/total": loss_g.item(), "g/adv": adv.item(), "g/cycle": cycle.item(),
                "g/identity": identity.item(), "g/content": content.item(), "d/total": loss_d.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        fake_y, fake_x = self.g_xy(x), self.g_yx(y)
        return {"cycle_l1": (F.l1_loss(self.g_yx(fake_y), x) + F.l1_loss(self.g_xy(fake_x), y)).item() / 2,
                "identity_l1": (F.l1_loss(self.g_yx(x), x) + F.l1_loss(self.g_xy(y), y)).item() / 2}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["x"][:1]
        fake_y = self.g_xy(x)
        return {"x": x[0], "x_to_y": fake_y[0], "x_cycled": self.g_yx(fake_y)[0]}

    @torch.no_grad()
    def convert(self, feats: torch.Tensor, direction: str = "xy") -> torch.Tensor:
        """Normalised source features [B, dim, T] -> normalised target features, no mask."""
        if direction not in ("xy", "yx"):
            raise ValueError(f"direction must be 'xy' or 'yx', got {direction!r}")
        return (self.g_xy if direction == "xy" else self.g_yx)(feats)

    def frame_stream(self, direction: str = "xy") -> FrameStream:
        """Normalised source frames in blocks -> target frames, ``lookahead`` frames behind,
        with a copy of the generator of its own (causal generators only)."""
        if direction not in ("xy", "yx"):
            raise ValueError(f"direction must be 'xy' or 'yx', got {direction!r}")
        generator = copy.deepcopy(self.g_xy if direction == "xy" else self.g_yx)
        if not generator.causal:
            raise ConfigError("this CycleGAN-VC generator sees the whole utterance and cannot stream; train one "
                              "with model_params.generator.causal: true (conf/cyclegan_stream_quick.yaml)")
        return FrameStream(generator, generator.prepare, generator.body, generator.lookahead)
