"""A small CTC phone recogniser: the phonetic content encoder shared by both model families.

Trained by ``vc train`` on a dump whose data dir was phonemized (``vc phonemize``), it
maps features [B, dim, T] to phone posteriors over espeak-ng phones. Its bottleneck, the
layer before the phone classes, is the speaker-poor "phonetic" representation that the
disentangle model's content encoder reads (``content_input: phonetic``) and that
CycleGAN-VC and StarGAN-VC keep unchanged between input and conversion
(``lambda_content``): the lectures' "constraint by a pre-trained embedding network".

What makes it speaker-poor on few speakers:

* per-utterance mean and variance normalisation of every input channel (CMVN), which
  cancels any per-channel gain and offset, i.e. each speaker's average spectral shape, and
  makes the network indifferent to whether its input was normalised per speaker or
  globally;
* training-time augmentation: a random warp of the frequency axis (a vocal-tract-length
  change) and SpecAugment-style frequency and time masks;
* a narrow bottleneck, normalised per frame.

The network is convolutional with a bounded receptive field (``receptive_field`` frames),
so any length goes through and a streaming converter can run it block by block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import Fraction, PositiveInt
from vc.data.phones import BLANK, phone_classes
from vc.errors import ConfigError
from vc.models.registry import build_network, register_model
from vc.train.model import StepContext, TrainableModel



def masked_cmvn(x: torch.Tensor, lengths: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Each item's channels to zero mean and unit variance over its first ``lengths`` frames."""
    if lengths is None:
        return (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True, unbiased=False) + eps)
    mask = (torch.arange(x.shape[-1], device=x.device) < lengths[:, None].to(x.device))[:, None].to(x.dtype)
    count = mask.sum(-1, keepdim=True).clamp_min(1)
    mean = (x * mask).sum(-1, keepdim=True) / count
    var = ((x - mean) ** 2 * mask).sum(-1, keepdim=True) / count
    return (x - mean) / torch.sqrt(var + eps) * mask


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of every frame of [B, C, T]: no batch or time statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ConvBlock(nn.Module):
    """x + dropout(GELU(norm(dilated conv(x))))."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2), dilation=dilation)
        self.norm = ChannelNorm(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(F.gelu(self.norm(self.conv(x))))


class PhoneNet(nn.Module):
    """Features [B, dim, T] -> bottleneck [B, bottleneck, T] -> logits [B, classes, T]."""

    def __init__(self, dim: PositiveInt, classes: PositiveInt, channels: PositiveInt = 256, kernel: PositiveInt = 5,
                 dilations: tuple[PositiveInt, ...] = (1, 2, 4, 1, 2), bottleneck: PositiveInt = 64,
                 dropout: Fraction = 0.1) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be an odd number >= 1, got {kernel}")
        if not dilations:
            raise ValueError("dilations must be one or more numbers >= 1, got []")
        self.inp = nn.Conv1d(dim, channels, kernel, padding=kernel // 2)
        self.blocks = nn.Sequential(*(ConvBlock(channels, kernel, d, dropout) for d in dilations))
        self.bottleneck = nn.Conv1d(channels, bottleneck, 1)
        self.bottleneck_norm = ChannelNorm(bottleneck, elementwise_affine=False)
        self.head = nn.Conv1d(bottleneck, classes, 1)
        self.receptive_field = 1 + (kernel - 1) * (1 + sum(dilations))

    def features(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = F.gelu(self.inp(masked_cmvn(x, lengths)))
        return self.bottleneck_norm(self.bottleneck(self.blocks(h)))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(F.gelu(self.features(x, lengths)))


class FrameSpeakerClassifier(nn.Module):
    """Bottleneck [B, C, T] -> speaker logits of every frame [B, speakers, T], from a few frames of
    context: the decoder reads the bottleneck frame by frame, so that is where the speaker must go."""

    def __init__(self, channels: int, num_speakers: int, kernel: int, hidden: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Conv1d(channels, hidden, kernel, padding=kernel // 2), nn.GELU(),
                                    nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2), nn.GELU(),
                                    nn.Conv1d(hidden, num_speakers, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    @staticmethod
    def loss(logits: torch.Tensor, speaker: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Cross-entropy and accuracy over every valid frame."""
        frames = logits.shape[-1]
        valid = torch.arange(frames, device=logits.device)[None] < lengths[:, None].to(logits.device)
        target = speaker[:, None].expand(-1, frames)
        ce = F.cross_entropy(logits, target, reduction="none")[valid].mean()
        acc = (logits.argmax(1) == target)[valid].float().mean().item()
        return ce, acc

    @staticmethod
    def confusion(logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of every valid frame's speaker posterior to the uniform distribution."""
        valid = torch.arange(logits.shape[-1], device=logits.device)[None] < lengths[:, None].to(logits.device)
        return -F.log_softmax(logits, dim=1).mean(dim=1)[valid].mean()


@dataclass
class PhoneRecognizerParams:
    """``model_params`` of ``model: phone_recognizer``; ``phones`` is taken from the dump when omitted."""

    phones: list[str]
    num_speakers: int = 0  # training speakers, for the speaker adversary (taken from the data)
    speaker_adversarial: float = 0.0  # > 0: weight of confusing a frame speaker classifier on the bottleneck
    channels: int = 256
    kernel: int = 5
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 1, 2])
    bottleneck: int = 64
    dropout: float = 0.1
    warp: float = 0.1  # frequency axis stretched by a factor in [1 - warp, 1 + warp] in training
    freq_masks: int = 2  # SpecAugment: masks of up to freq_mask_bins channels ...
    freq_mask_bins: int = 8
    time_masks: int = 2  # ... and of up to time_mask_frames frames, in training
    time_mask_frames: int = 8

    def __post_init__(self) -> None:
        if len(self.phones) < 2 or len(set(self.phones)) != len(self.phones):
            raise ConfigError(f"model_params.phones: need two or more distinct phones, got {self.phones}")
        if self.speaker_adversarial < 0:
            raise ConfigError(f"model_params.speaker_adversarial: must be >= 0, got {self.speaker_adversarial}")
        if self.speaker_adversarial > 0 and self.num_speakers < 2:
            raise ConfigError("model_params.speaker_adversarial: needs two or more training speakers")
        if not 0 <= self.warp < 0.5:
            raise ConfigError(f"model_params.warp: must be in [0, 0.5), got {self.warp}")
        for key in ("freq_masks", "freq_mask_bins", "time_masks", "time_mask_frames"):
            if getattr(self, key) < 0:
                raise ConfigError(f"model_params.{key}: must be >= 0, got {getattr(self, key)}")


def build_phone_net(dim: int, p: PhoneRecognizerParams, where: str = "") -> PhoneNet:
    """The recogniser's network; ``where`` is the path of ``p`` under ``model_params`` ("" at the top)."""
    return build_network(where, PhoneNet, dim, len(p.phones) + 1, channels=p.channels, kernel=p.kernel,
                         dilations=p.dilations, bottleneck=p.bottleneck, dropout=p.dropout)


@register_model("phone_recognizer")
class PhoneRecognizer(TrainableModel):
    """Batches: {"feats": [B, dim, T], "lengths": [B], "phones": [B, L], "phone_lengths": [B]}."""

    Params = PhoneRecognizerParams
    data_layout = "transcribed"  # whole utterances with their phones, see vc.data.transcribed

    def __init__(self, dim: int, params: PhoneRecognizerParams) -> None:
        super().__init__()
        self.params = params
        self.net = build_phone_net(dim, params)
        self.speaker_classifier = (FrameSpeakerClassifier(params.bottleneck, params.num_speakers, params.kernel)
                                   if params.speaker_adversarial > 0 else None)

    def optimizer_groups(self) -> dict[str, list[nn.Module]]:
        groups = {"recognizer": [self.net]}
        if self.speaker_classifier is not None:
            groups["speaker_classifier"] = [self.speaker_classifier]
        return groups

    def describe(self, cfg: object) -> str:
        return (f"{super().describe(cfg)}; {len(self.params.phones)} phones; receptive field "
                f"{self.net.receptive_field} frames")

    def train_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> dict[str, float]:
        x, lengths = self.augment(batch["feats"], batch["lengths"]), batch["lengths"]
        with ctx.autocast(), ctx.only("recognizer"):
            features = self.net.features(x, lengths)
            logits = self.net.head(F.gelu(features))
            loss = ctc = self.ctc(logits, batch)
            logs = {"ctc": ctc.item()}
            if self.speaker_classifier is not None:
                # The network makes every frame's speaker unguessable (cross-entropy to the
                # uniform distribution: bounded, unlike a reversed cross-entropy, which let the
                # network trade the phones away for a classifier wrong with confidence).
                confusion = self.speaker_classifier.confusion(self.speaker_classifier(features).float(), lengths)
                loss = ctc + self.params.speaker_adversarial * confusion
                logs["spk/confusion"] = confusion.item()
        ctx.update("recognizer", loss)
        if self.speaker_classifier is not None:
            with ctx.autocast():
                speaker_logits = self.speaker_classifier(features.detach())
            ce, acc = self.speaker_classifier.loss(speaker_logits.float(), batch["speaker"], lengths)
            ctx.update("speaker_classifier", ce)
            logs.update({"spk/ce": ce.item(), "spk/acc": acc})
        return logs

    def ctc(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        log_probs = F.log_softmax(logits.float(), dim=1).permute(2, 0, 1)  # [T, B, C]
        return F.ctc_loss(log_probs, batch["phones"], batch["lengths"], batch["phone_lengths"], blank=BLANK,
                          zero_infinity=True)

    def augment(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Frequency warp and masks, one draw per item (from torch's RNG: resumes exactly)."""
        p, (batch, dim, frames) = self.params, x.shape
        if p.warp > 0:
            factor = 1 + (torch.rand(batch, 1, device=x.device) * 2 - 1) * p.warp
            pos = (torch.arange(dim, device=x.device) * factor).clamp(max=dim - 1)  # [B, dim]
            low = pos.floor().long()
            high = (low + 1).clamp(max=dim - 1)
            frac = (pos - low)[..., None]
            x = (torch.gather(x, 1, low[..., None].expand(-1, -1, frames)) * (1 - frac)
                 + torch.gather(x, 1, high[..., None].expand(-1, -1, frames)) * frac)
        keep = torch.ones_like(x)
        for count, width, axis, size in ((p.freq_masks, p.freq_mask_bins, 1, dim),
                                         (p.time_masks, p.time_mask_frames, 2, frames)):
            for _ in range(count):
                span = torch.randint(0, width + 1, (batch, 1), device=x.device)
                start = (torch.rand(batch, 1, device=x.device) * (size - span + 1)).long()
                pos = torch.arange(size, device=x.device)
                hit = (pos >= start) & (pos < start + span)  # [B, size]
                keep = keep * (~(hit[:, :, None] if axis == 1 else hit[:, None, :])).to(x.dtype)
        # Masked cells take the utterance mean (0 after CMVN), not the floor of the log scale.
        mean = (x.sum(-1, keepdim=True) / lengths[:, None, None].to(x.dtype))
        return x * keep + mean * (1 - keep)

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        features = self.net.features(batch["feats"], batch["lengths"])
        logits = self.net.head(F.gelu(features))
        metrics = {}
        if self.speaker_classifier is not None:
            _, metrics["speaker_acc"] = self.speaker_classifier.loss(self.speaker_classifier(features),
                                                                     batch["speaker"], batch["lengths"])
        errors, total = 0, 0
        for hyp, ref in zip(self.decode(logits, batch["lengths"]),
                            (row[:n].tolist() for row, n in zip(batch["phones"], batch["phone_lengths"]))):
            errors += edit_distance(hyp, ref)
            total += len(ref)
        return {"ctc": self.ctc(logits, batch).item(), "per": errors / max(total, 1), **metrics}

    @staticmethod
    def decode(logits: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[int]]:
        """Greedy CTC decoding: best class per frame, repeats merged, blanks dropped."""
        best = logits.argmax(1)
        out = []
        for i, row in enumerate(best):
            seq = row[: int(lengths[i])] if lengths is not None else row
            merged = torch.unique_consecutive(seq)
            out.append([int(c) for c in merged if int(c) != BLANK])
        return out

    def phone_names(self, ids: list[int]) -> list[str]:
        names = {i: phone for phone, i in phone_classes(self.params.phones).items()}
        return [names[i] for i in ids]

    def phone_ids(self, phones: list[str]) -> list[int]:
        """Class ids of ``phones``; one the inventory lacks is -1, which never matches a decoded id."""
        index = phone_classes(self.params.phones)
        return [index.get(phone, -1) for phone in phones]


def edit_distance(hyp: list[int], ref: list[int]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions) between two sequences."""
    row = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        prev, row[0] = row[0], i
        for j, r in enumerate(ref, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (h != r))
    return row[-1]
