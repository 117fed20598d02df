"""Disentanglement diagnostics of a ``disentangle`` model: is the speaker gone from its content codes?

The model's own latent classifier says little: the encoder was trained to fool exactly
that network. A fresh probe trained after the fact on frozen codes of held-out speech is
the honest test. The identical probe, trained by the identical recipe on the normalised
input features, gives the accuracy the probe reaches when the speaker is there, so the
two numbers compare directly; chance, 1/N, means the codes carry no speaker information
the probe can find.

Beside it: how well the model reconstructs held-out speech from its own code, with the
lookup vector of the utterance's (training) speaker and with the utterance's own reference
vector, since a code that has lost the speaker but also the content is no success.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vc.audio.stats import FeatureStats
from vc.errors import ConfigError, DataError
from vc.models.disentangle import Disentangle
from vc.utils import atomic_write_text

SUMMARY = "summary.json"


@dataclass
class ProbeConfig:
    """How the probe is trained; the same for codes and inputs."""

    steps: int = 300
    segment_frames: int = 32  # input frames per training segment; codes: ceil(this / downsample)
    batch_size: int = 32
    lr: float = 1e-3
    channels: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("steps", "segment_frames", "batch_size", "channels"):
            if getattr(self, key) < 1:
                raise ConfigError(f"probe {key}: must be >= 1, got {getattr(self, key)}")
        if self.lr <= 0:
            raise ConfigError(f"probe lr: must be positive, got {self.lr}")


class SpeakerProbe(nn.Module):
    """[B, C, T] -> speaker logits [B, N]: two convs, global mean pooling (any T), a linear layer."""

    def __init__(self, in_channels: int, num_classes: int, channels: int = 128, kernel: int = 5) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv1d(in_channels, channels, kernel, padding=kernel // 2), nn.LeakyReLU(0.2),
            nn.Conv1d(channels, channels, kernel, padding=kernel // 2), nn.LeakyReLU(0.2))
        self.out = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.convs(x).mean(dim=-1))


def split_utterances(utt2spk: Mapping[str, str], where: str) -> tuple[list[str], list[str]]:
    """Probe-train and probe-test utterances: every other one of each speaker's, sorted, so
    each speaker has at least one of each and the split does not depend on dump order."""
    by_speaker: dict[str, list[str]] = {}
    for utt, spk in utt2spk.items():
        by_speaker.setdefault(spk, []).append(utt)
    if len(by_speaker) < 2:
        raise DataError(f"{where}: the speaker probe needs at least 2 speakers, found {len(by_speaker)} "
                        f"({', '.join(sorted(by_speaker)) or 'none'})")
    few = sorted(spk for spk, utts in by_speaker.items() if len(utts) < 2)
    if few:
        raise DataError(f"{where}: the speaker probe needs at least 2 utterances per speaker "
                        f"(one to train on, one to test); {', '.join(few)} {'has' if len(few) == 1 else 'have'} 1")
    train, test = [], []
    for spk in sorted(by_speaker):
        utts = sorted(by_speaker[spk])
        train += utts[0::2]
        test += utts[1::2]
    return train, test


def probe_accuracy(
    train: list[torch.Tensor],
    train_labels: list[int],
    test: list[torch.Tensor],
    test_labels: list[int],
    num_classes: int,
    segment: int,
    config: ProbeConfig,
) -> float:
    """Balanced accuracy (the mean over classes of per-class accuracy, so chance is 1/N) of a
    fresh :class:`SpeakerProbe` trained on random ``segment``-frame pieces of ``train``
    sequences [C, T] and tested on whole ``test`` sequences.

    Deterministic for a seed: the probe's initial weights come from a forked, seeded torch
    generator and the segments from a seeded numpy one.
    """
    device = train[0].device
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(config.seed)
        probe = SpeakerProbe(train[0].shape[0], num_classes, config.channels).to(device)
    optimizer = torch.optim.Adam(probe.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    padded = [_pad_to(x, segment) for x in train]
    by_class = [[i for i, y in enumerate(train_labels) if y == c] for c in range(num_classes)]
    probe.train()
    for _ in range(config.steps):
        # Classes drawn uniformly, so the probe has no prior to exploit.
        classes = rng.integers(num_classes, size=config.batch_size)
        pieces = []
        for c in classes:
            x = padded[by_class[c][rng.integers(len(by_class[c]))]]
            start = rng.integers(x.shape[-1] - segment + 1)
            pieces.append(x[:, start:start + segment])
        loss = F.cross_entropy(probe(torch.stack(pieces)), torch.as_tensor(classes, device=device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    probe.eval()
    with torch.no_grad():
        predicted = [_classify(probe, x, segment) for x in test]
    hits = [[p == y for p, y in zip(predicted, test_labels) if y == c] for c in range(num_classes)]
    return float(np.mean([np.mean(h) for h in hits if h]))


def _pad_to(x: torch.Tensor, frames: int) -> torch.Tensor:
    """[C, T] with its last frame repeated up to ``frames`` (as the model pads its input)."""
    return F.pad(x[None], (0, frames - x.shape[-1]), mode="replicate")[0] if x.shape[-1] < frames else x


def _classify(probe: SpeakerProbe, x: torch.Tensor, segment: int) -> int:
    """The class of the mean logits over ``segment``-frame windows covering all of ``x``
    (the probe sees pieces as long as it trained on; the last window ends at the end)."""
    x = _pad_to(x, segment)
    frames = x.shape[-1]
    starts = sorted({*range(0, frames - segment + 1, segment), frames - segment})
    logits = probe(torch.stack([x[:, s:s + segment] for s in starts]))
    return int(logits.mean(0).argmax())


@dataclass
class Reconstruction:
    """Mean absolute error of decode(encode(x), vector) to x over all frames of ``utts``."""

    utts: int
    l1: float  # in normalised units, as the model trains
    l1_features: float  # denormalised: the features' own units (log-magnitude nats for log-mel)


@dataclass
class DisentangleResult:
    dump: str
    speakers: list[str]  # the probe's classes: the dump's speakers
    train_utts: int
    test_utts: int
    code_accuracy: float  # the probe on frozen content codes
    input_accuracy: float  # the same probe on the normalised input features
    chance: float  # 1 / number of speakers
    reconstruction: dict[str, Reconstruction] = field(default_factory=dict)  # "lookup", "self_reference"
    skipped: dict[str, str] = field(default_factory=dict)  # what was not measured, and why
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    checkpoint: str | None = None  # what was probed, when it came from an experiment
    step: int | None = None


def evaluate_model(
    model: Disentangle,
    feats: Mapping[str, np.ndarray],
    utt2spk: Mapping[str, str],
    training_speakers: list[str],
    normalizer: Callable[[str], FeatureStats | None],
    config: ProbeConfig,
    where: str,
    device: torch.device | str = "cpu",
) -> DisentangleResult:
    """Probe accuracies and reconstruction errors of ``model`` on un-normalised ``feats``
    (utt -> [frames, dim]) of the speakers ``utt2spk`` names; ``normalizer(spk)`` gives the
    statistics the model's training normalised that speaker with (None: none)."""
    train_utts, test_utts = split_utterances({u: utt2spk[u] for u in feats}, where)
    speakers = sorted({utt2spk[u] for u in feats})
    stats = {spk: normalizer(spk) for spk in speakers}
    x = {u: _tensor(f, stats[utt2spk[u]], device) for u, f in feats.items()}
    model.eval()
    with torch.no_grad():
        codes = {u: model.encode(v[None])[0].float() for u, v in x.items()}
    labels = {u: speakers.index(utt2spk[u]) for u in feats}

    def accuracy(seqs: dict[str, torch.Tensor], segment: int) -> float:
        return probe_accuracy([seqs[u] for u in train_utts], [labels[u] for u in train_utts],
                              [seqs[u] for u in test_utts], [labels[u] for u in test_utts],
                              len(speakers), segment, config)

    code_segment = math.ceil(config.segment_frames / model.content_encoder.downsample)
    result = DisentangleResult(where, speakers, len(train_utts), len(test_utts), accuracy(codes, code_segment),
                               accuracy(x, config.segment_frames), 1 / len(speakers), probe=config)
    _reconstruct(model, x, codes, utt2spk, training_speakers, stats, result)
    return result


def _tensor(feats: np.ndarray, stats: FeatureStats | None, device: torch.device | str) -> torch.Tensor:
    """Normalised [dim, frames] float32 on ``device``."""
    x = stats.normalize(feats) if stats is not None else feats
    return torch.from_numpy(np.ascontiguousarray(x.T, dtype=np.float32)).to(device)


def _reconstruct(model: Disentangle, x: dict[str, torch.Tensor], codes: dict[str, torch.Tensor],
                 utt2spk: Mapping[str, str], training_speakers: list[str],
                 stats: dict[str, FeatureStats | None], result: DisentangleResult) -> None:
    """Fill ``result.reconstruction`` (or ``result.skipped``) for the lookup and self-reference paths."""
    device = next(iter(x.values())).device
    vectors: dict[str, Callable[[str], torch.Tensor]] = {}
    if not model.has_lookup:
        result.skipped["lookup"] = "the model has no speaker lookup table (speaker_encoder: reference)"
    elif not any(utt2spk[u] in training_speakers for u in x):
        result.skipped["lookup"] = "no utterance of the dump is of a training speaker"
    else:
        vectors["lookup"] = lambda u: model.speaker_vectors(
            torch.tensor([training_speakers.index(utt2spk[u])], device=device))
    if model.reference_encoder is None:
        result.skipped["self_reference"] = "the model has no reference encoder (speaker_encoder: lookup)"
    else:
        vectors["self_reference"] = lambda u: model.reference_vector(x[u][None])
    # |error| in feature units is |normalised error| times each dimension's standard deviation.
    std = {spk: torch.as_tensor(st.std, dtype=torch.float32, device=device)[:, None] if st is not None else 1.0
           for spk, st in stats.items()}
    for name, vector in vectors.items():
        utts = [u for u in x if name != "lookup" or utt2spk[u] in training_speakers]
        err = err_features = 0.0
        with torch.no_grad():
            for u in utts:
                diff = (model.decode(codes[u][None], vector(u), x[u].shape[-1])[0].float() - x[u]).abs()
                err += float(diff.sum())
                err_features += float((diff * std[utt2spk[u]]).sum())
        values = sum(x[u].numel() for u in utts)
        result.reconstruction[name] = Reconstruction(len(utts), err / values, err_features / values)


def diagnose(exp_dir: str | Path, dump_dir: str | Path, config: ProbeConfig | None = None,
             device: str | torch.device = "auto", checkpoint: str | Path | None = None) -> DisentangleResult:
    """:func:`evaluate_model` for the trained experiment ``exp_dir`` (its latest checkpoint, or
    ``checkpoint``) on the dump ``dump_dir``."""
    from vc.convert import Converter
    from vc.data.dump import FeatureDump
    from vc.models import MODELS

    converter = Converter.load(exp_dir, checkpoint, device=device)
    model = converter.model
    if not isinstance(model, Disentangle):
        name = next((n for n, cls in MODELS.items() if type(model) is cls), type(model).__name__)
        raise ConfigError(f"{exp_dir}: model {name!r} is not a disentangle model; the latent speaker probe "
                          "needs a content encoder (model: disentangle)")
    dump = FeatureDump.open(dump_dir)
    converter.feature_config.require_same(dump.config, f"{dump.root} against the model of {exp_dir}")
    utt2spk = {u: dump.speaker(u) for u in dump.utts}

    def normalizer(spk: str) -> FeatureStats | None:
        if converter.normalize == "none":
            return None
        if converter.normalize == "global":
            return converter.stats.global_
        if spk not in converter.stats.speakers:
            raise DataError(f"{dump.root}: speaker {spk!r} has no statistics in the model of {exp_dir}, which "
                            "normalises per speaker (data.normalize: speaker); probe its training speakers only")
        return converter.stats.speaker(spk)

    result = evaluate_model(model, {u: dump[u] for u in dump.utts}, utt2spk, converter.speakers, normalizer,
                            config or ProbeConfig(), str(dump_dir), converter.device)
    result.checkpoint, result.step = str(converter.checkpoint), converter.step
    return result


def write_summary(result: DisentangleResult, out: str | Path) -> Path:
    """``out/summary.json``: the result as nested JSON, written atomically."""
    path = Path(out) / SUMMARY
    atomic_write_text(path, json.dumps(asdict(result), indent=2) + "\n")
    return path


def format_result(result: DisentangleResult) -> str:
    """A short table for the terminal."""
    r = result
    header = (f"latent speaker probe on {r.dump} ({len(r.speakers)} speakers, {r.train_utts} train / "
              f"{r.test_utts} test utterances; chance {r.chance:.2f})")
    lines = [header,
             f"  content codes   {r.code_accuracy:.2f}",
             f"  input features  {r.input_accuracy:.2f}",
             "reconstruction L1      normalised  feature units  utterances"]
    for name, rec in r.reconstruction.items():
        lines.append(f"  {name.replace('_', '-'):20s} {rec.l1:10.3f} {rec.l1_features:14.3f} {rec.utts:11d}")
    lines += [f"  {name.replace('_', '-')}: skipped, {why}" for name, why in r.skipped.items()]
    if r.checkpoint:
        lines.append(f"model: {r.checkpoint} (step {r.step})")
    return "\n".join(lines)
