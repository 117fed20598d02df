"""StarGAN-VC2 (Kaneko et al. 2019): one generator for every pair of speakers.

The generator is CycleGAN-VC2's 2-1-2D gated CNN whose 1D residual blocks take the
(source, target) speaker pair through conditional instance norm. The discriminator is a
PatchGAN2d trunk with two heads: a real/fake patch head made target-aware by projection
(inner product of pooled trunk features with a learned speaker embedding, added to every
patch logit) and StarGAN-VC's speaker classifier. Features are [batch, dim, frames];
``dim`` comes from the data, nothing is hard-coded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from vc.errors import ConfigError
from vc.models.content import build_phonetic
from vc.models.cyclegan_vc import Generator212
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss, PatchGAN2d
from vc.train.model import StepContext, TrainableModel


class SpeakerPairCode(nn.Module):
    """(source, target) speaker indices [B], [B] -> the generator's condition vector [B, size].

    With ``embedding_dim`` 0 the code is the two one-hots concatenated, as StarGAN-VC2;
    otherwise each role has its own learned ``embedding_dim`` vector per speaker.
    """

    def __init__(self, num_speakers: int, embedding_dim: int = 0) -> None:
        super().__init__()
        self.num_speakers = num_speakers
        # One table: rows [0, N) embed sources, rows [N, 2N) embed targets.
        self.embed = nn.Embedding(2 * num_speakers, embedding_dim) if embedding_dim > 0 else None
        self.size = 2 * (embedding_dim or num_speakers)

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.embed is None:
            return torch.cat([F.one_hot(source, self.num_speakers),
                              F.one_hot(target, self.num_speakers)], dim=1).float()
        return self.embed(torch.stack([source, target + self.num_speakers], dim=1)).flatten(1)


# StarGAN-VC2's generator: no mask channel, 9 conditioned residual blocks of kernel 5
# with hidden width = channels, and pixel-shuffle convs of 1024 and 512 channels.
STARGAN_GENERATOR = dict(masked=False, residual_blocks=9, residual_kernel=5, up_channels=(128, 64))


class StarGANGenerator(nn.Module):
    """G(feats [B, dim, T], source [B], target [B]) -> features of ``target`` [B, dim, T].

    ``net`` is a Generator212 with ``cond_dim = code.size`` (see :func:`build_generator`).
    """

    def __init__(self, code: SpeakerPairCode, net: Generator212) -> None:
        super().__init__()
        self.code = code
        self.net = net

    def forward(self, feats: torch.Tensor, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.net(feats, cond=self.code(source, target))


def build_generator(dim: int, num_speakers: int, embedding_dim: int = 0,
                    network: dict | None = None) -> StarGANGenerator:
    """StarGAN-VC2's generator; ``network``: Generator212 keywords over the StarGAN defaults."""
    code = SpeakerPairCode(num_speakers, embedding_dim)
    network = {**STARGAN_GENERATOR, **(network or {})}
    network.setdefault("residual_hidden", network.get("residual_channels", 256))  # hidden = channels
    return StarGANGenerator(code, build_network("generator", Generator212, dim, cond_dim=code.size, **network))


class ProjectionDiscriminator(nn.Module):
    """D(feats [B, dim, T], speaker [B]) -> (patch logits [B, 1, H', W'], class logits [B, N]).

    The PatchGAN2d trunk feeds its patch head plus the projection term
    ``<mean-pooled trunk features, embed(speaker)>`` (Miyato & Koyama 2018, as StarGAN-VC2),
    and its speaker-classification head; ``patch`` has ``num_classes`` = the speaker count.
    """

    def __init__(self, patch: PatchGAN2d) -> None:
        super().__init__()
        if patch.classifier is None:
            raise ValueError("the projection discriminator needs a PatchGAN2d with num_classes > 0")
        self.patch = patch
        self.embed = nn.Embedding(patch.classifier.out_channels, patch.out.in_channels)
        # Zero: training starts from the unconditional PatchGAN and learns the projection.
        nn.init.zeros_(self.embed.weight)

    def forward(self, feats: torch.Tensor, speaker: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.patch.trunk(feats[:, None])
        projection = (h.mean(dim=(2, 3)) * self.embed(speaker)).sum(dim=1)
        logits = self.patch.out(h) + projection[:, None, None, None]
        return logits, self.patch.classifier(h).mean(dim=(2, 3))


@dataclass
class StarGANVCParams:
    """``model_params`` of ``model: stargan_vc``.

    ``num_speakers`` is required: the experiment builder passes only the feature width, so
    the config sets it to the number of training speakers (``data.speakers``, whose order
    gives the indices the loader emits).
    """

    num_speakers: int
    generator: dict = field(default_factory=dict)  # Generator212 keyword arguments (StarGAN defaults above)
    discriminator: dict = field(default_factory=dict)  # PatchGAN2d keyword arguments but num_classes
    speaker_embedding_dim: int = 0  # generator condition: 0 = one-hots (paper), > 0 = learned
    gan_loss: str = "lsgan"
    lambda_cycle: float = 10.0
    lambda_identity: float = 5.0
    identity_steps: int = 10000  # the identity loss is dropped after this many steps
    lambda_cls: float = 1.0  # domain classification (StarGAN-VC), for G on fakes and D on reals
    phonetic: dict = field(default_factory=dict)  # a trained phone recogniser (from content_model)
    lambda_content: float = 0.0  # its bottleneck kept unchanged by conversion

    def __post_init__(self) -> None:
        if self.num_speakers < 2:
            raise ConfigError(f"model_params.num_speakers: need at least 2 speakers, got {self.num_speakers}")
        if self.speaker_embedding_dim < 0:
            raise ConfigError(f"model_params.speaker_embedding_dim: must be >= 0, got {self.speaker_embedding_dim}")
        if "num_classes" in self.discriminator:
            raise ConfigError("model_params.discriminator.num_classes: set from num_speakers, remove it")
        if "cond_dim" in self.generator:
            raise ConfigError("model_params.generator.cond_dim: set from the speaker code, remove it")


@register_model("stargan_vc")
class StarGANVC(TrainableModel):
    """Batches: {"feats": [B, dim, T], "speaker": [B] source index, "target": [B] target index}."""

    Params = StarGANVCParams
    data_layout = "multi"  # speaker-balanced batches with a random target, see vc.data.unpaired

    def __init__(self, dim: int, params: StarGANVCParams) -> None:
        super().__init__()
        self.params = p = params
        self.generator = build_generator(dim, p.num_speakers, p.speaker_embedding_dim, p.generator)
        self.discriminator = ProjectionDiscriminator(
            build_network("discriminator", PatchGAN2d, num_classes=p.num_speakers, **p.discriminator))
        self.gan = build_network("gan_loss", GANLoss, p.gan_loss)
        self.phonetic = build_phonetic(dim, p.phonetic)
        if p.lambda_content > 0 and self.phonetic is None:
            raise ConfigError("model_params.lambda_content: needs a phone recogniser (content_model: EXP)")

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        return {"generator": [self.generator], "discriminator": [self.discriminator]}

    def ema_networks(self) -> list[str]:
        return ["generator"]

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, source, target = batch["feats"], batch["speaker"], batch["target"]
        p = self.params
        with ctx.autocast():
            fake = self.generator(x, source, target)
            fake_logits, fake_classes = self.discriminator(fake, target)
            adv = self.gan.generator(fake_logits)
            cls = F.cross_entropy(fake_classes.float(), target)
            cycle = F.l1_loss(self.generator(fake, target, source), x)
            loss_g = adv + p.lambda_cls * cls + p.lambda_cycle * cycle
            content = torch.zeros((), device=x.device)
            if p.lambda_content > 0:
                content = self.phonetic.loss(fake, x)
                loss_g = loss_g + p.lambda_content * content
            identity = torch.zeros((), device=x.device)
            if ctx.step < p.identity_steps and p.lambda_identity > 0:
                identity = F.l1_loss(self.generator(x, source, source), x)
                loss_g = loss_g + p.lambda_identity * identity
        ctx.update("generator", loss_g)

        # D judges the fakes made above, detached: no second generator pass. Its classifier
        # learns from real features only, so G cannot teach it its own mistakes.
        with ctx.autocast():
            real_logits, real_classes = self.discriminator(x, source)
            fake_logits, _ = self.discriminator(fake.detach(), target)
            adv_d = self.gan.discriminator(real_logits, fake_logits)
            cls_d = F.cross_entropy(real_classes.float(), source)
            loss_d = adv_d + p.lambda_cls * cls_d
        ctx.update("discriminator", loss_d)
        return {"g/total": loss_g.item(), "g/adv": adv.item(), "g/cls": cls.item(), "g/cycle": cycle.item(),
                "g/identity": identity.item(), "g/content": content.item(), "d/total": loss_d.item(),
                "d/adv": adv_d.item(),
                "d/cls": cls_d.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x, source, target = batch["feats"], batch["speaker"], batch["target"]
        fake = self.generator(x, source, target)
        _, real_classes = self.discriminator(x, source)
        _, fake_classes = self.discriminator(fake, target)
        return {"cycle_l1": F.l1_loss(self.generator(fake, target, source), x).item(),
                "identity_l1": F.l1_loss(self.generator(x, source, source), x).item(),
                "real_cls_acc": (real_classes.argmax(1) == source).float().mean().item(),
                "converted_cls_acc": (fake_classes.argmax(1) == target).float().mean().item()}

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, source, target = batch["feats"][:1], batch["speaker"][:1], batch["target"][:1]
        fake = self.generator(x, source, target)
        return {"source": x[0], "converted": fake[0], "cycled": self.generator(fake, target, source)[0]}

    @torch.no_grad()
    def convert(self, feats: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Normalised features [B, dim, T] of speakers ``src`` [B] -> those of speakers ``tgt`` [B]."""
        n = self.params.num_speakers
        for name, index in (("src", src), ("tgt", tgt)):
            if index.shape != feats.shape[:1]:
                raise ValueError(f"{name}: expected one speaker index per item, shape {tuple(feats.shape[:1])}, "
                                 f"got {tuple(index.shape)}")
            if index.numel() and not 0 <= int(index.min()) <= int(index.max()) < n:
                raise ValueError(f"{name}: speaker indices must be in [0, {n}), got {index.tolist()}")
        return self.generator(feats, src.long(), tgt.long())
