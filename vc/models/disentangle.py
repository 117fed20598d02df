"""Projection to a common space (Chou et al. 2018; AdaIN-VC, Chou et al. 2019).

A content encoder maps features to a code from which a speaker classifier, trained
against it, cannot tell the speaker; a speaker encoder gives a vector per speaker; a
decoder rebuilds features from (content, speaker). Converting is decoding A's content
with B's speaker vector. An optional stage-2 "patcher" GAN adds a residual that
sharpens converted features toward the target speaker.

Networks (in vc.models.disentangle_networks; all widths from ``model_params``; features are [B, dim, T]
with ``dim`` from the data):

* :class:`ContentEncoder`: conv bank -> strided residual convs (time / ``downsample``)
  -> BiGRU or self-attention -> 1x1 conv -> instance norm without affine, which removes
  each utterance's channel means and spreads (where much speaker identity lives).
* :class:`LatentClassifier`: convs over the content code, global average pooling, so any
  segment length works.
* Speaker encoders: a lookup table per training speaker (multi-target) and/or
  :class:`ReferenceEncoder` (any utterance -> vector, so unseen speakers convert one-shot).
* :class:`Decoder`: upsampling residual convs conditioned on the speaker vector by AdaIN
  (default), its per-frame twin AdaLN, addition or concatenation; the patcher's generator
  is another Decoder.

Training runs in phases, one batch per trainer step (see :class:`Schedule`):
autoencoder pre-training, classifier pre-training, the adversarial phase (``k``
classifier steps, then an autoencoder step with loss recon + alpha * adversarial term, alpha ramped: -CE as Chou
et al., or confusion toward uniform; or gradient reversal), then the patcher. The phase is a function of the step, so a run
resumes exactly at any phase.

With ``model_params.causal`` the content encoder, decoder and patcher stream
(vc.nn.streaming, :meth:`Disentangle.frame_stream`): causal convs, every frame kept, no
sequence layer, no statistic over the whole utterance (per-frame or cumulative norms, or none;
AdaIN's per-frame twin ``adaln``). The model then reads ``lookahead`` frames ahead: the content
encoder reads the features padded with that many zero frames and the first decoded frames
are dropped. The reference encoder reads whole recordings up front and stays as it is.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import NonNegativeInt
from vc.errors import ConfigError
from vc.models.content import build_phonetic
from vc.models.disentangle_networks import ContentEncoder, Decoder, LatentClassifier, ReferenceEncoder, decoded
from vc.models.registry import build_network, register_model
from vc.nn import GANLoss, PatchGAN2d, reverse_gradient
from vc.nn.streaming import FrameStream
from vc.train.config import TrainConfig
from vc.train.model import StepContext, TrainableModel

SpeakerEncoderKind = Literal["lookup", "reference", "both"]
PHASES = ("autoencoder", "classifier", "adversarial", "patcher")

@dataclass
class Schedule:
    """Steps per phase, in this order; ``train.max_steps`` must equal their sum.

    One trainer step is one batch. In the adversarial phase ``classifier_steps``
    classifier steps alternate with one autoencoder step (Chou et al.'s solver), so
    its autoencoder updates number adversarial / (classifier_steps + 1).
    """

    autoencoder: int = 2000
    classifier: int = 1000
    adversarial: int = 20000
    patcher: int = 0

    def phase_at(self, step: int) -> tuple[str, int]:
        """(phase name, step within that phase) of global ``step``; past the end, the last phase."""
        start = 0
        for name in PHASES:
            length = getattr(self, name)
            if step < start + length:
                return name, step - start
            start += length
        last = [name for name in PHASES if getattr(self, name) > 0][-1]
        return last, step - (start - getattr(self, last))

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in PHASES)


@dataclass
class PatcherParams:
    """Stage 2: a residual generator (a Decoder) and a PatchGAN with a speaker head."""

    generator: dict = field(default_factory=dict)  # Decoder keywords but code_dim/dim/embedding_dim
    discriminator: dict = field(default_factory=lambda: {"channels": [64, 128, 256]})  # PatchGAN2d keywords
    gan_loss: str = "lsgan"
    lambda_cls: float = 1.0  # target-speaker classification of patched features (G), of real ones (D)


@dataclass
class DisentangleParams:
    """``model_params`` of ``model: disentangle``. ``num_speakers`` is taken from the data when omitted."""

    num_speakers: int
    speaker_encoder: SpeakerEncoderKind = "both"
    embedding_dim: int = 128
    content_encoder: dict = field(default_factory=dict)  # ContentEncoder keywords
    reference_encoder: dict = field(default_factory=dict)  # ReferenceEncoder keywords
    decoder: dict = field(default_factory=dict)  # Decoder keywords (conditioning: adain|adaln|add|concat)
    classifier: dict = field(default_factory=dict)  # LatentClassifier keywords
    adversarial: Literal["alternate", "reverse"] = "alternate"  # Chou et al.'s alternation, or gradient reversal
    adversarial_loss: Literal["confusion", "negative_ce"] = "confusion"  # the encoder's term (alternate)
    classifier_steps: int = 5  # k classifier steps per autoencoder step (alternate)
    lambda_adv: float = 0.01  # alpha, reached after adv_ramp_steps of the adversarial phase
    adv_ramp_steps: int = 10000
    code_noise: float = 0.0  # std of Gaussian noise on the decoder's content code in training (AdaIN-VC)
    lambda_consistency: float = 1.0  # reference vectors: near their speaker's prototype, far from others
    consistency_scale: float = 10.0  # cosine -> logit scale of that term
    recon_loss: Literal["l1", "l2"] = "l1"
    schedule: Schedule = field(default_factory=Schedule)
    patcher: PatcherParams = field(default_factory=PatcherParams)
    # A trained phone recogniser (set from the experiment's content_model): the content
    # encoder then reads its bottleneck instead of the features.
    phonetic: dict = field(default_factory=dict)
    lambda_content: float = 0.0  # recogniser bottleneck of A's content decoded as B == that of A's input
    # Streaming (frame_stream): causal content encoder, decoder and patcher, which then read
    # `lookahead` frames past each output frame.
    causal: bool = False
    lookahead: NonNegativeInt = 0

    def __post_init__(self) -> None:
        if self.num_speakers < 2:
            raise ConfigError(f"model_params.num_speakers: need at least 2 speakers, got {self.num_speakers}")
        for key in ("embedding_dim", "classifier_steps", "adv_ramp_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model_params.{key}: must be >= 1, got {getattr(self, key)}")
        if self.lambda_content > 0 and not self.phonetic:
            raise ConfigError("model_params.lambda_content: needs a phone recogniser (content_model: EXP)")
        if self.lookahead and not self.causal:
            raise ConfigError("model_params.lookahead: a causal model's setting (causal: true); the default "
                              "model sees the whole utterance")
        if self.causal and self.phonetic:
            raise ConfigError("model_params.causal: a causal model reads the features, not a phone recogniser "
                              "(it sees the whole utterance): remove content_model")
        for where, network in (("content_encoder", self.content_encoder), ("decoder", self.decoder),
                               ("patcher.generator", self.patcher.generator)):
            if "causal" in network:
                raise ConfigError(f"model_params.{where}.causal: set from model_params.causal, remove it")
        for key in ("lambda_adv", "lambda_consistency", "consistency_scale", "code_noise", "lambda_content"):
            if getattr(self, key) < 0:
                raise ConfigError(f"model_params.{key}: must be >= 0, got {getattr(self, key)}")
        for name in PHASES:
            if getattr(self.schedule, name) < 0:
                raise ConfigError(f"model_params.schedule.{name}: must be >= 0, got {getattr(self.schedule, name)}")
        if self.schedule.total < 1:
            raise ConfigError("model_params.schedule: every phase has 0 steps")
        for key in ("code_dim", "dim", "embedding_dim", "zero_output"):
            if key in self.patcher.generator:
                raise ConfigError(f"model_params.patcher.generator.{key}: set from the model, remove it")
        if "num_classes" in self.patcher.discriminator:
            raise ConfigError("model_params.patcher.discriminator.num_classes: set from num_speakers, remove it")


@register_model("disentangle")
class Disentangle(TrainableModel):
    """Batches: {"feats": [B, dim, T], "speaker": [B], "ref": [B, dim, T] (another segment of the
    same speaker), ...} from the speaker-balanced loader (``data_layout`` "multi")."""

    Params = DisentangleParams
    data_layout = "multi"
    reference_segments = True  # the loader adds batch["ref"]

    def __init__(self, dim: int, params: DisentangleParams) -> None:
        super().__init__()
        self.params = p = params
        self.phonetic = build_phonetic(dim, p.phonetic)
        content_dim = self.phonetic.dim_out if self.phonetic is not None else dim
        self.content_encoder = build_network("content_encoder", ContentEncoder, content_dim, causal=p.causal,
                                             **p.content_encoder)
        code_dim = self.content_encoder.code_dim
        self.classifier = build_network("classifier", LatentClassifier, code_dim, p.num_speakers, **p.classifier)
        # One vector per training speaker: the decoder's condition (lookup) and/or the
        # prototypes reference vectors are pulled toward (reference).
        self.speaker_table = nn.Embedding(p.num_speakers, p.embedding_dim)
        self.reference_encoder = (build_network("reference_encoder", ReferenceEncoder, dim, p.embedding_dim,
                                                **p.reference_encoder)
                                  if p.speaker_encoder != "lookup" else None)
        self.decoder = build_network("decoder", Decoder, code_dim, dim, p.embedding_dim, causal=p.causal,
                                     **p.decoder)
        if self.decoder.upsample != self.content_encoder.downsample:
            raise ConfigError(f"model_params.decoder.factors: upsample by {self.decoder.upsample}, but the content "
                              f"encoder downsamples by {self.content_encoder.downsample}")
        self.patcher = self.patch_discriminator = None
        if p.schedule.patcher > 0:
            patch = {"factors": self.decoder_factors(), **p.patcher.generator}
            self.patcher = build_network("patcher.generator", Decoder, code_dim, dim, p.embedding_dim,
                                         zero_output=True, causal=p.causal, **patch)
            if self.patcher.upsample != self.content_encoder.downsample:
                raise ConfigError("model_params.patcher.generator.factors: must upsample by the content "
                                  f"encoder's {self.content_encoder.downsample}")
            self.patch_discriminator = build_network("patcher.discriminator", PatchGAN2d,
                                                     num_classes=p.num_speakers, **p.patcher.discriminator)
            self.gan = build_network("patcher.gan_loss", GANLoss, p.patcher.gan_loss)
        self.recon = F.l1_loss if p.recon_loss == "l1" else F.mse_loss

    def decoder_factors(self) -> tuple[int, ...]:
        return tuple(block.factor for block in self.decoder.blocks)

    # ---- the trainer's contract -------------------------------------------------------------

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        autoencoder = [self.content_encoder, self.speaker_table, self.decoder]
        if self.reference_encoder is not None:
            autoencoder.append(self.reference_encoder)
        groups = {"autoencoder": autoencoder, "classifier": [self.classifier]}
        if self.patcher is not None:
            groups.update(patcher=[self.patcher], patch_discriminator=[self.patch_discriminator])
        return groups

    def check_train_config(self, config: TrainConfig) -> None:
        s = self.params.schedule
        if config.max_steps != s.total:
            raise ConfigError(
                f"train.max_steps: {config.max_steps}, but model_params.schedule adds up to {s.total} "
                f"({' + '.join(f'{name} {getattr(s, name)}' for name in PHASES)}); make them equal")

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        phase, step = self.params.schedule.phase_at(ctx.step)
        if phase == "autoencoder":
            return self._autoencoder_step(batch, ctx, alpha=0.0)
        if phase == "classifier":
            return self._classifier_step(batch, ctx)
        if phase == "patcher":
            return self._patcher_step(batch, ctx)
        p = self.params
        alpha = p.lambda_adv * min(1.0, (step + 1) / p.adv_ramp_steps)
        if p.adversarial == "reverse":
            return self._autoencoder_step(batch, ctx, alpha=alpha, reverse=True)
        if step % (p.classifier_steps + 1) < p.classifier_steps:
            return self._classifier_step(batch, ctx)
        return self._autoencoder_step(batch, ctx, alpha=alpha)

    def _autoencoder_step(self, batch: dict[str, torch.Tensor], ctx: StepContext, alpha: float,
                          reverse: bool = False) -> dict[str, float]:
        """recon + consistency + alpha * adversarial term on classifier(code); with ``reverse`` the classifier
        learns from the same pass through a gradient-reversal layer."""
        x, speaker = batch["feats"], batch["speaker"]
        groups: str | tuple[str, ...] = ("autoencoder", "classifier") if reverse else "autoencoder"
        with ctx.autocast(), ctx.only("autoencoder") if not reverse else nullcontext():
            content_input = self.content_input(x)
            code = self.content_encoder(content_input)
            vectors, consistency, consistency_acc = self._training_vectors(batch)
            # Noise on the unit-variance code limits what it can carry (AdaIN-VC's sampling):
            # the decoder must take the speaker from the speaker vector.
            noisy = code + self.params.code_noise * torch.randn_like(code) if self.params.code_noise else code
            decoded = self.decode(noisy.repeat(len(vectors), 1, 1), torch.cat(vectors), x.shape[-1])
            recon = self.recon(decoded.float(), x.repeat(len(vectors), 1, 1))
            loss = recon + self.params.lambda_consistency * consistency
            logs = {"ae/recon": recon.item()}
            if self.params.lambda_content > 0:
                # Each item's content spoken by its balanced-batch neighbour's speaker must
                # still read as the same phones.
                converted = self.decode(code, vectors[0].roll(1, dims=0), x.shape[-1])
                # The encoder's own pass over x is the target: no second recogniser pass.
                content = self.phonetic.loss(converted, source_content=content_input[..., : x.shape[-1]])
                loss = loss + self.params.lambda_content * content
                logs["ae/content"] = content.item()
            if self.reference_encoder is not None:
                logs.update({"ae/consistency": consistency.item(), "ae/consistency_acc": consistency_acc})
            if alpha > 0 or reverse:
                logits = self.classifier(reverse_gradient(code, alpha) if reverse else code).float()
                ce = F.cross_entropy(logits, speaker)
                term = ce if reverse else self._adversarial_term(logits, ce)
                loss = loss + (term if reverse else alpha * term)
                logs.update({"adv/ce": ce.item(), "adv/term": term.item(), "adv/alpha": alpha,
                             "adv/acc": (logits.argmax(1) == speaker).float().mean().item()})
        ctx.update(groups, loss)
        return {"ae/total": loss.item(), **logs}

    def _adversarial_term(self, logits: torch.Tensor, ce: torch.Tensor) -> torch.Tensor:
        """What the encoder minimises against the classifier. ``negative_ce`` (Chou et al.):
        -CE, whose gradient vanishes once the classifier is confident (softmax saturated).
        ``confusion``: cross-entropy to the uniform distribution, minimal (log N) when the
        classifier cannot tell; its logit gradient p - 1/N stays large exactly then."""
        if self.params.adversarial_loss == "negative_ce":
            return -ce
        return -F.log_softmax(logits, dim=1).mean(dim=1).mean()

    def _training_vectors(self, batch: dict[str, torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor, float]:
        """The speaker vectors the decoder trains with (lookup and/or reference of another
        segment), the consistency loss, and the reference vectors' prototype accuracy."""
        speaker = batch["speaker"]
        vectors, consistency, accuracy = [], torch.zeros((), device=speaker.device), float("nan")
        if self.has_lookup:
            vectors.append(self.speaker_table(speaker))
        if self.reference_encoder is not None:
            ref = self.reference_encoder(batch["ref"])
            logits = self.prototype_logits(ref)
            consistency = F.cross_entropy(logits, speaker)
            accuracy = (logits.argmax(1) == speaker).float().mean().item()
            vectors.append(ref)
        return vectors, consistency, accuracy

    def prototype_logits(self, vectors: torch.Tensor) -> torch.Tensor:
        """Scaled cosine of reference vectors [B, E] to every training speaker's prototype: [B, N]."""
        cos = F.normalize(vectors.float(), dim=1) @ F.normalize(self.speaker_table.weight.float(), dim=1).T
        return self.params.consistency_scale * cos

    def _classifier_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, speaker = batch["feats"], batch["speaker"]
        with ctx.autocast():
            with torch.no_grad():  # the encoder is not trained here: no graph through it
                code = self.encode(x)
            logits = self.classifier(code).float()
            loss = F.cross_entropy(logits, speaker)
        ctx.update("classifier", loss)
        return {"clf/ce": loss.item(), "clf/acc": (logits.argmax(1) == speaker).float().mean().item()}

    def _patcher_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        """Encoder and decoder frozen; the patcher's residual makes converted features pass the
        PatchGAN as real speech of the target speaker."""
        x, speaker = batch["feats"], batch["speaker"]
        target = speaker.roll(1)  # the balanced batch's neighbour: usually another speaker
        lam = self.params.patcher.lambda_cls
        with ctx.autocast():
            with torch.no_grad():
                code = self.encode(x)
                vector = (self.speaker_table(target) if self.has_lookup
                          else self.reference_encoder(batch["ref"].roll(1, dims=0)))
                base = self.decode(code, vector, x.shape[-1])
            with ctx.only("patcher"):
                fake = base + self._crop(self.patcher(code, vector), x.shape[-1])
                logits, classes = self.patch_discriminator(fake[:, None].float())
                adv = self.gan.generator(logits)
                cls = F.cross_entropy(classes.float(), target)
                loss_g = adv + lam * cls
        ctx.update("patcher", loss_g)
        with ctx.autocast():
            real_logits, real_classes = self.patch_discriminator(x[:, None])
            fake_logits, _ = self.patch_discriminator(fake.detach()[:, None].float())
            adv_d = self.gan.discriminator(real_logits, fake_logits)
            cls_d = F.cross_entropy(real_classes.float(), speaker)
            loss_d = adv_d + lam * cls_d
        ctx.update("patch_discriminator", loss_d)
        return {"patch/g_adv": adv.item(), "patch/g_cls": cls.item(), "patch/d_adv": adv_d.item(),
                "patch/d_cls": cls_d.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        x, speaker = batch["feats"], batch["speaker"]
        code, frames = self.encode(x), x.shape[-1]
        metrics = {"latent_cls_acc": (self.classifier(code).argmax(1) == speaker).float().mean().item()}
        if self.has_lookup:
            metrics["recon_l1_lookup"] = F.l1_loss(self.decode(code, self.speaker_table(speaker), frames), x).item()
        if self.reference_encoder is not None:
            ref = self.reference_encoder(batch["ref"])
            metrics["recon_l1_reference"] = F.l1_loss(self.decode(code, ref, frames), x).item()
            metrics["reference_proto_acc"] = (self.prototype_logits(ref).argmax(1) == speaker).float().mean().item()
        return metrics

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x, speaker = batch["feats"][:1], batch["speaker"][:1]
        if self.has_lookup:
            own, other = self.speaker_vectors(speaker), self.speaker_vectors((speaker + 1) % self.params.num_speakers)
        else:  # the first item's own reference, and the reference of the batch's next item
            own, other = self.reference_vector(batch["ref"][:1]), self.reference_vector(batch["ref"][-1:])
        return {"source": x[0], "reconstructed": self.decode(self.encode(x), own, x.shape[-1])[0],
                "converted": self.convert_to(x, other)[0]}

    # ---- conversion ---------------------------------------------------------------------------

    @property
    def has_lookup(self) -> bool:
        """Whether training speakers can be targets by index (``convert``)."""
        return self.params.speaker_encoder != "reference"

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        """Content code [B, code_dim, max(ceil(T / downsample), 2)] of normalised features
        [B, dim, T], any T >= 1 ([B, code_dim, T + lookahead] for a causal model)."""
        return self.content_encoder(self.content_input(feats))

    def content_input(self, feats: torch.Tensor) -> torch.Tensor:
        """What the content encoder reads: the features padded (last frame repeated) to a multiple
        of the downsampling and to at least two code frames, through the recogniser when the model
        has one. A causal model's: the features and ``lookahead`` zero frames, as its stream reads
        them (vc.nn.streaming)."""
        if self.params.causal:
            return F.pad(feats, (0, self.params.lookahead))
        frames, r = feats.shape[-1], self.content_encoder.downsample
        # Instance norm needs two frames of code or more: pad to a multiple of r, at least 2r.
        padded = max(-(-frames // r) * r, 2 * r)
        if padded > frames:
            feats = F.pad(feats, (0, padded - frames), mode="replicate")
        return self.phonetic(feats) if self.phonetic is not None else feats

    def decode(self, code: torch.Tensor, vectors: torch.Tensor, frames: int, patch: bool = False) -> torch.Tensor:
        """Features [B, dim, frames] from a content code and speaker vectors [B, E]; with
        ``patch`` plus the patcher's residual (when the model has a patcher)."""
        return self._crop(decoded(self.decoder, self.patcher if patch else None, code, vectors), frames)

    def _crop(self, decoded: torch.Tensor, frames: int) -> torch.Tensor:
        """The ``frames`` decoded frames that stand for the input's: past those of the first
        ``lookahead`` code frames (a causal model's lookahead; 0 otherwise)."""
        return decoded[..., self.params.lookahead:self.params.lookahead + frames]

    def speaker_vectors(self, index: torch.Tensor) -> torch.Tensor:
        """Lookup vectors [B, E] of training speakers ``index`` [B]."""
        if not self.has_lookup:
            raise ValueError("this model has no speaker lookup table (speaker_encoder: reference); "
                             "give reference recordings of the target instead")
        n = self.params.num_speakers
        if index.numel() and not 0 <= int(index.min()) <= int(index.max()) < n:
            raise ValueError(f"speaker indices must be in [0, {n}), got {index.tolist()}")
        return self.speaker_table(index.long())

    def reference_vector(self, feats: torch.Tensor) -> torch.Tensor:
        """Speaker vector [1, E] of normalised reference features [1, dim, T], T >= 1."""
        if self.reference_encoder is None:
            raise ValueError("this model has no reference encoder (speaker_encoder: lookup); "
                             "convert to a training speaker instead")
        return self.reference_encoder(feats)

    def convert_to(self, feats: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Features [B, dim, T] spoken by the speakers of ``vectors`` [B, E]: the content decoded
        with those vectors, plus the patcher's residual when the model has one; any T >= 1."""
        return self.decode(self.encode(feats), vectors, feats.shape[-1], patch=True)

    @torch.no_grad()
    def convert(self, feats: torch.Tensor, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """StarGAN-style multi-target entry point: the source index is not needed (the content
        code carries no speaker), only the target training speakers ``tgt`` [B]."""
        if tgt.shape != feats.shape[:1]:
            raise ValueError(f"tgt: expected one speaker index per item, shape {tuple(feats.shape[:1])}, "
                             f"got {tuple(tgt.shape)}")
        return self.convert_to(feats, self.speaker_vectors(tgt))

    def frame_stream(self, vectors: torch.Tensor) -> FrameStream:
        """Normalised source frames [1, dim, n] in blocks -> what :meth:`convert_to` gives for the
        speaker of ``vectors`` [1, E] (a lookup or a reference vector), ``lookahead`` frames
        behind, with copies of the networks of its own (causal models only)."""
        if self.phonetic is not None:
            raise ConfigError("this disentangle model reads a phone recogniser's bottleneck (content_model), which "
                              "sees the whole utterance, and cannot stream; train one without content_model and "
                              "with model_params.causal: true (conf/disentangle_stream_quick.yaml)")
        if not self.params.causal:
            raise ConfigError("this disentangle model sees the whole utterance and cannot stream; train one with "
                              "model_params.causal: true (conf/disentangle_stream_quick.yaml)")
        if vectors.shape != (1, self.params.embedding_dim):
            raise ValueError(f"vectors: expected one speaker vector [1, {self.params.embedding_dim}], "
                             f"got shape {tuple(vectors.shape)}")
        encoder, decoder, patcher = copy.deepcopy((self.content_encoder, self.decoder, self.patcher))
        networks = nn.ModuleList(net for net in (encoder, decoder, patcher) if net is not None).eval()
        vectors = vectors.detach()
        return FrameStream(networks, lambda feats: feats,
                           lambda h: decoded(decoder, patcher, encoder(h), vectors), self.params.lookahead)
