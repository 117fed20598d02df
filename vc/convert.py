"""Converter: wav -> features -> model -> vocoder -> wav, from an experiment directory.

```python
from vc import Converter

conv = Converter.load("exp/synth_cyclegan")          # latest checkpoint, EMA weights
out = conv.convert(wav, 16000, "spkA", "spkB")      # float32 at conv.sample_rate
feats_b = conv.convert_features(feats_a, "spkA", "spkB")  # [frames, dim] -> [frames, dim]

# projection models (model: disentangle) also convert to an unseen speaker, one-shot:
ref = conv.reference([(wav_c1, 16000), (wav_c2, 16000)])  # speaker vectors averaged
out = conv.convert(wav, 16000, None, ref)           # no source speaker needed
```
Everything needed travels in the checkpoint (feature config, speakers, statistics), so
conversion needs nothing but the experiment directory. Long inputs are converted in
overlapping chunks (see :func:`chunk_spans`) so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch

from vc.audio.config import FeatureConfig
from vc.audio.f0 import LogF0Stats, convert_f0
from vc.audio.features import FeatureComputer
from vc.audio.io import check_signal, resample
from vc.audio.stats import FeatureStats, StatsStore
from vc.audio.world import world_layout
from vc.device import cpu_has_fast_bf16, resolve_device
from vc.errors import AudioError, ConfigError, DataError
from vc.train.restore import load_trained
from vc.vocoders import load_vocoder


@dataclass(frozen=True)
class SpeakerReference:
    """A target speaker given by recordings instead of a name (one-shot conversion)."""

    vector: torch.Tensor  # [1, E]: the mean of the recordings' speaker vectors
    log_f0: LogF0Stats | None  # WORLD features: the recordings' log-F0 statistics
    label: str  # for messages: "reference (2 recordings)"


Target = Union[str, SpeakerReference]

# [1, dim, T] normalised source features -> normalised target features
Route = Callable[[torch.Tensor], torch.Tensor]
# (converted [frames, dim] features, output samples, seed) -> waveform
Vocode = Callable[[np.ndarray, int, int], np.ndarray]


class Converter:
    """A trained conversion model with its feature config, speakers and statistics."""

    def __init__(
        self,
        model: torch.nn.Module,
        feature_config: FeatureConfig,
        speakers: list[str],
        stats: StatsStore,
        normalize: str = "speaker",
        device: str | torch.device = "auto",
        chunk_frames: int | None = 512,
        overlap_frames: int = 32,
        bf16: bool = False,
    ) -> None:
        if chunk_frames is not None and not 0 <= overlap_frames < chunk_frames:
            raise ConfigError(f"chunk_frames/overlap_frames: need 0 <= overlap ({overlap_frames}) "
                              f"< chunk ({chunk_frames})")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.feature_config = feature_config
        self.speakers = list(speakers)
        self.stats = stats
        self.normalize = normalize
        self.chunk_frames = chunk_frames
        self.overlap_frames = overlap_frames
        # bf16 autocast around the model only: ~2.5x faster on CPUs with AMX/AVX512-BF16;
        # on other CPUs it would be emulated and slower, so it stays off there.
        self.bf16 = bf16 and (self.device.type != "cpu" or cpu_has_fast_bf16())
        self.checkpoint: Path | None = None  # set by load()
        self.step: int | None = None
        self.using_ema = False
        self._features = FeatureComputer(feature_config, self.device)
        self._vocoders: dict[tuple, Vocode] = {}

    @classmethod
    def load(
        cls,
        exp_dir: str | Path,
        checkpoint: str | Path | None = None,
        device: str | torch.device = "auto",
        use_ema: bool = True,
        chunk_frames: int | None = 512,
        overlap_frames: int = 32,
        bf16: bool = False,
    ) -> Converter:
        """The model of ``exp_dir`` at its latest checkpoint (or ``checkpoint``), in eval mode,
        with the EMA weights of its EMA networks when the checkpoint has them and ``use_ema``."""
        trained = load_trained(exp_dir, checkpoint, use_ema)
        converter = cls(trained.model, trained.feature_config, trained.speakers, trained.stats,
                        trained.config.data.normalize, device, chunk_frames, overlap_frames, bf16)
        converter.checkpoint, converter.step, converter.using_ema = trained.checkpoint, trained.step, trained.using_ema
        return converter

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate

    # ---- conversion -----------------------------------------------------------------------

    def check(self, src: str | None, tgt: Target, vocoder: str = "gl", **vocoder_opts: Any) -> None:
        """Raise the error :meth:`convert` would for these speakers and vocoder, before any audio is read."""
        self._route(src, tgt)
        self._vocoder(vocoder, vocoder_opts)

    def reference(self, recordings: Sequence[tuple[np.ndarray, int] | tuple[np.ndarray, int, str]]) -> SpeakerReference:
        """A target speaker from ``(wav, sr[, name])`` recordings, for models with a reference
        speaker encoder: each recording's speaker vector, averaged (and, for WORLD features,
        the recordings' log-F0 statistics for F0 conversion)."""
        if not hasattr(self.model, "reference_vector"):
            raise ConfigError(f"{type(self.model).__name__} converts to training speakers only; reference "
                              "recordings need a model with a reference speaker encoder (model: disentangle)")
        if not recordings:
            raise ConfigError("no reference recordings given")
        if self.normalize == "speaker":
            raise ConfigError("this model was trained on per-speaker normalised features, so an unseen speaker "
                              "has no statistics to denormalise with; train with data.normalize: global")
        vectors, feats_all = [], []
        for i, recording in enumerate(recordings):
            wav, sr = recording[0], recording[1]
            name = recording[2] if len(recording) > 2 else f"reference {i + 1}"  # type: ignore[misc]
            feats = self._features(self._prepare(wav, sr, name))
            feats_all.append(feats)
            x = self.normalizer(None).normalize(feats) if self.normalize == "global" else feats
            with torch.inference_mode():
                try:
                    vector = self._autocast(self.model.reference_vector)(
                        torch.from_numpy(np.ascontiguousarray(x.T, dtype=np.float32)).to(self.device)[None])
                except ValueError as e:
                    raise ConfigError(str(e)) from None
            vectors.append(vector)
        log_f0 = None
        if self.feature_config.kind == "world":
            log_f0 = _log_f0_of(np.concatenate(feats_all), self.feature_config, "the reference recordings")
        n = len(recordings)
        return SpeakerReference(torch.cat(vectors).mean(dim=0, keepdim=True), log_f0,
                                f"reference ({n} recording{'s' if n != 1 else ''})")

    def convert(
        self,
        wav: np.ndarray,
        sr: int,
        src: str | None,
        tgt: Target,
        vocoder: str = "gl",
        *,
        seed: int = 0,
        name: str = "input",
        **vocoder_opts: Any,
    ) -> np.ndarray:
        """``src``'s speech ``wav`` at rate ``sr`` spoken as ``tgt``: float32 at :attr:`sample_rate`,
        as long as the input resampled. ``tgt`` is a training speaker or a :meth:`reference`;
        ``src`` may be None for models that do not need it (projection models trained on
        globally normalised features). ``vocoder`` is ``gl``, ``world`` (WORLD features) or a
        trained vocoder's experiment directory, whose feature config must equal the model's.
        ``vocoder_opts`` go to the vocoder's constructor (gl: n_iter, momentum, mel_inversion)
        or its inference (a trained WaveNet: method); ``seed`` fixes Griffin-Lim's initial
        phase or a neural vocoder's noise; ``name`` labels errors about the signal."""
        route = self._route(src, tgt)
        vocode = self._vocoder(vocoder, vocoder_opts)
        wav = self._prepare(wav, sr, name)
        converted = self._convert_features(self._features(wav), src, tgt, route)
        return vocode(converted, len(wav), seed)

    def convert_features(self, feats: np.ndarray, src: str | None, tgt: Target) -> np.ndarray:
        """Un-normalised features [frames, dim] of ``src`` -> those of ``tgt`` (same shape, float32).

        WORLD features: the model converts the mel-cepstrum; log-F0 is moved from the
        source's to the target's Gaussian; voicing and aperiodicity are the source's.
        """
        return self._convert_features(feats, src, tgt, self._route(src, tgt))

    def _convert_features(self, feats: np.ndarray, src: str | None, tgt: Target, route: Route) -> np.ndarray:
        cfg = self.feature_config
        if feats.ndim != 2 or feats.shape[1] != cfg.dim:
            raise DataError(f"features of shape {list(feats.shape)}: this model takes [frames, {cfg.dim}] "
                            f"({cfg.kind} features)")
        source = np.asarray(feats, dtype=np.float32)
        src_stats, tgt_stats = self.normalizer(src), self.normalizer(tgt)
        x = src_stats.normalize(source) if src_stats is not None else source
        with torch.inference_mode():
            y = self._run_chunked(route, torch.from_numpy(np.ascontiguousarray(x.T)).to(self.device)[None])
        y = y[0].T.cpu().numpy()
        if tgt_stats is not None:
            y = tgt_stats.denormalize(y)
        if cfg.kind == "world":
            y = self._world_excitation(source, y, src, tgt)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _run_chunked(self, route: Route, x: torch.Tensor) -> torch.Tensor:
        """``route(x)`` over overlapping chunks, cross-faded linearly where they overlap."""
        frames = x.shape[-1]
        if self.chunk_frames is None or frames <= self.chunk_frames:
            return route(x)
        out = torch.zeros_like(x)
        weight = x.new_zeros(frames)
        for start, end in chunk_spans(frames, self.chunk_frames, self.overlap_frames):
            w = _fade_weights(end - start, self.overlap_frames, start == 0, end == frames, x)
            out[..., start:end] += route(x[..., start:end]) * w
            weight[start:end] += w
        return out / weight

    def _route(self, src: str | None, tgt: Target) -> Route:
        """The model call converting ``src`` into ``tgt``, dispatched on the model's data layout."""
        for spk in (src, tgt):
            if isinstance(spk, str) and spk not in self.speakers:
                raise ConfigError(f"unknown speaker {spk!r}: this model converts between "
                                  f"{', '.join(self.speakers) or 'no speakers'}")
        if src is None and self._needs_source():
            raise ConfigError(f"the source speaker is needed: {self._needs_source()}")
        if isinstance(tgt, SpeakerReference):
            if not hasattr(self.model, "convert_to"):
                raise ConfigError(f"{type(self.model).__name__} converts to training speakers only")
            vector = tgt.vector.to(self.device)
            return self._autocast(lambda x: self.model.convert_to(x, vector.expand(len(x), -1)))
        layout = self.model.data_layout
        if hasattr(self.model, "convert_to"):  # projection: the target's vector is all it needs
            try:
                vector = self.model.speaker_vectors(torch.tensor([self.speakers.index(tgt)], device=self.device))
            except ValueError as e:
                raise ConfigError(f"{tgt}: {e}") from None
            return self._autocast(lambda x: self.model.convert_to(x, vector.expand(len(x), -1)))
        if layout == "paired":
            pairs = {tuple(self.speakers): "xy", tuple(reversed(self.speakers)): "yx"}
            if (src, tgt) not in pairs:
                a, b = self.speakers
                raise ConfigError(f"{src} -> {tgt}: this model converts {a} -> {b} and {b} -> {a} only")
            direction = pairs[(src, tgt)]
            return self._autocast(lambda x: self.model.convert(x, direction))
        if layout == "multi":
            src_index, tgt_index = (torch.tensor([self.speakers.index(s)], device=self.device) for s in (src, tgt))
            return self._autocast(lambda x: self.model.convert(x, src_index.expand(len(x)), tgt_index.expand(len(x))))
        raise ConfigError(f"{type(self.model).__name__}: data layout {layout!r} has no conversion path")

    def _needs_source(self) -> str:
        """Why this converter needs the source speaker's name ("" when it does not)."""
        if self.normalize == "speaker":
            return "this model normalises features per speaker"
        if not hasattr(self.model, "convert_to"):
            return f"{type(self.model).__name__} is conditioned on the source speaker"
        return ""

    def _autocast(self, run: Route) -> Route:
        def call(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                return run(x).float()

        return call

    def normalizer(self, spk: Target | None) -> FeatureStats | None:
        """Statistics of a training speaker (per-speaker normalisation) or the global ones."""
        if self.normalize == "none":
            return None
        if self.normalize == "global":
            return self.stats.global_
        if not isinstance(spk, str):  # _route has already refused these
            raise ConfigError("per-speaker normalisation needs a training speaker's name")
        return self.stats.speaker(spk)

    def _world_excitation(self, source: np.ndarray, converted: np.ndarray, src: str | None,
                          tgt: Target) -> np.ndarray:
        """The model's mel-cepstrum with the source's F0 (Gaussian-converted), voicing and aperiodicity.

        Without a source speaker, the input utterance's own log-F0 statistics stand in for them."""
        cfg = self.feature_config
        lay = world_layout(cfg)
        out = np.array(source, dtype=np.float32)
        out[:, lay.mcep] = converted[:, lay.mcep]
        src_f0 = self.stats.log_f0(src) if src is not None else _log_f0_of(source, cfg, "the input")
        tgt_f0 = tgt.log_f0 if isinstance(tgt, SpeakerReference) else self.stats.log_f0(tgt)
        # The continuous contour is converted everywhere; the voiced flag restores the gaps.
        f0 = np.exp(source[:, lay.lf0].astype(np.float64))
        out[:, lay.lf0] = np.log(convert_f0(f0, src_f0, tgt_f0))
        return out

    # ---- audio ------------------------------------------------------------------------------

    def _prepare(self, wav: np.ndarray, sr: int, name: str) -> np.ndarray:
        """Mono float32 at the feature rate, at least one analysis window long, finite, not silent."""
        wav = np.asarray(wav, dtype=np.float32)
        if wav.ndim != 1:
            raise AudioError(f"{name}: expected a mono signal [samples], got shape {list(wav.shape)}")
        if sr != self.sample_rate:
            wav = resample(wav, sr, self.sample_rate)
        check_signal(wav, name, min_samples=self.feature_config.win_size)
        return np.ascontiguousarray(wav)

    def _vocoder(self, name: str, opts: dict[str, Any]) -> Vocode:
        key = (name, tuple(sorted(opts.items())))
        if key not in self._vocoders:
            self._vocoders[key] = self._build_vocoder(name, opts)
        return self._vocoders[key]

    def _build_vocoder(self, name: str, opts: dict[str, Any]) -> Vocode:
        cfg = self.feature_config
        try:
            module = load_vocoder(name, cfg, **opts).to(self.device).eval()
        except TypeError as e:  # an option the vocoder's constructor does not take
            raise ConfigError(f"vocoder {name!r}: {e}") from None

        def vocode(feats: np.ndarray, length: int, seed: int) -> np.ndarray:
            generator = torch.Generator(self.device).manual_seed(seed)
            x = torch.from_numpy(np.ascontiguousarray(feats.T)).to(self.device)[None]
            return module(x, length=length, generator=generator)[0].cpu().numpy()

        return vocode


def chunk_spans(frames: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """[start, end) spans of ``chunk`` frames covering ``frames``, evenly spaced so that
    neighbours overlap by at least ``overlap`` frames; one span when it fits."""
    if frames <= chunk:
        return [(0, frames)]
    count = math.ceil((frames - overlap) / (chunk - overlap))
    # Spacing (frames - chunk) / (count - 1) <= chunk - overlap; flooring keeps it so.
    return [(s, s + chunk) for s in (i * (frames - chunk) // (count - 1) for i in range(count))]


def _fade_weights(length: int, overlap: int, first: bool, last: bool, like: torch.Tensor) -> torch.Tensor:
    """1 inside a chunk, linear ramps over ``overlap`` frames at edges shared with a neighbour.

    The ramps (k / (overlap + 1), never 0) of two neighbours overlapping by exactly
    ``overlap`` frames sum to 1: a linear cross-fade. Frames near a chunk edge, where the
    generator saw zero padding instead of context, get the least weight.
    """
    w = like.new_ones(length)
    ramp = torch.arange(1, overlap + 1, dtype=like.dtype, device=like.device) / (overlap + 1)
    if not first:
        w[:overlap] = ramp
    if not last:
        w[length - overlap:] = ramp.flip(0)
    return w


def _log_f0_of(feats: np.ndarray, cfg: FeatureConfig, what: str) -> LogF0Stats:
    """Log-F0 mean and spread over the voiced frames of WORLD features [frames, dim]."""
    lay = world_layout(cfg)
    lf0 = feats[feats[:, lay.vuv] > 0.5, lay.lf0].astype(np.float64)
    if lf0.size < 2:
        raise AudioError(f"{what}: fewer than 2 voiced frames, no log-F0 statistics to convert F0 with")
    return LogF0Stats(float(lf0.mean()), float(max(lf0.std(), 1e-3)))
