"""StreamingConverter: live conversion in blocks, with a fixed delay.

```python
from vc import Converter
from vc.stream import StreamingConverter

conv = Converter.load("exp/cyclegan_stream_flite_awb_fest_slt")   # a causal model
stream = StreamingConverter(conv, "flite_awb", "fest_slt", block=320)
for block in blocks:                  # float32 mono at conv.sample_rate, any length
    play(stream.push(block))          # as many samples back, stream.delay behind the input
play(stream.flush())                  # the last stream.delay samples
```

Each block goes through four stages that each keep only the context they need:
features (:class:`~vc.stream.features.StreamingFeatures`, frames complete ``n_fft / 2``
samples after their centre), the model's causal network (a FrameStream, ``lookahead``
frames behind), statistics (pointwise), and the streaming phase reconstruction (final
samples only). The output is the streaming vocoder's over the converted frames, delayed
by exactly :attr:`delay` samples: the most any input position waits for its output over
a hop's phases, so every push can return as many samples as it took.

Every stage works one frame at a time, so the output is bit for bit the same however the
input is cut into blocks. Against a separate offline run, the converted frames agree to
float rounding (~1e-6); the waveform does not, because phase reconstruction amplifies
such differences into other, equally valid phases (docs/stream.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vc.convert import Converter, SpeakerReference, Target
from vc.errors import AudioError, ConfigError
from vc.nn.streaming import FrameStream
from vc.stream.features import StreamingFeatures
from vc.vocoders.streaming_phase import STREAM_VOCODERS, StreamingPhaseVocoder


class StreamingConverter:
    """One live conversion from ``src`` to ``tgt`` with a causal model of ``converter``."""

    def __init__(self, converter: Converter, src: str | None, tgt: Target, vocoder: str = STREAM_VOCODERS[0],
                 block: int | None = None, **vocoder_opts: Any) -> None:
        cfg = converter.feature_config
        if block is not None and block < cfg.hop_length:
            raise ConfigError(f"block of {block} samples: shorter than a hop ({cfg.hop_length} samples, "
                              f"{cfg.frame_period_ms:g} ms); a block must bring at least one frame's worth")
        self.converter, self.block = converter, block
        self.features = StreamingFeatures(cfg, converter.device)
        converter.check(src, tgt)  # unknown speakers, a missing source: the offline path's messages
        self.frames = frame_stream(converter, src, tgt)
        self.src_stats, self.tgt_stats = converter.normalizer(src), converter.normalizer(tgt)
        self.vocoder = StreamingPhaseVocoder(cfg, vocoder, **vocoder_opts)
        self.delay = self._delay()
        self._pending = np.zeros(self.delay, dtype=np.float32)  # output not yet returned; starts with the delay
        self._samples_in = 0
        self._samples_out = 0

    @property
    def sample_rate(self) -> int:
        return self.converter.sample_rate

    @property
    def latency_ms(self) -> float:
        """Algorithmic latency: the delay plus the wait for a block to fill (compute not included)."""
        return 1000.0 * (self.delay + (self.block or 0)) / self.sample_rate

    def push(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (float32 mono at :attr:`sample_rate`) in, as many converted samples out."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise AudioError(f"expected a mono block [samples], got shape {list(samples.shape)}")
        if not np.isfinite(samples).all():
            at = self._samples_in + int(np.flatnonzero(~np.isfinite(samples))[0])
            raise AudioError(f"input sample {at} ({at / self.sample_rate:.3f} s) is NaN or infinite")
        self._samples_in += len(samples)
        self._take(self.vocoder.push(self.convert_frames(samples)))
        return self._emit(len(samples))

    def flush(self) -> np.ndarray:
        """The last :attr:`delay` samples: the whole output is then the input's length plus the delay."""
        self._take(self.vocoder.push(self.flush_frames()))
        self._take(self.vocoder.flush())
        return self._emit(self._samples_in + self.delay - self._samples_out)

    def convert_in_blocks(self, wav: np.ndarray) -> np.ndarray:
        """A whole signal through the stream in blocks of :attr:`block` samples (one hop when
        unset), with the delay cut off: the stream's output lined up with ``wav``."""
        block = self.block or self.features.cfg.hop_length
        out = [self.push(wav[start:start + block]) for start in range(0, len(wav), block)]
        return np.concatenate(out + [self.flush()])[self.delay:]

    # ---- stages -----------------------------------------------------------------------------

    def convert_frames(self, samples: np.ndarray) -> np.ndarray:
        """Features, model and statistics: the converted frames [n, dim] that ``samples`` complete
        (what :meth:`push` vocodes; for a caller with a vocoder of its own)."""
        return self._through_model(self.features.push(samples))

    def flush_frames(self) -> np.ndarray:
        """The converted frames the end of the input completes."""
        frames = self._through_model(self.features.flush())
        tail = self.frames.flush()
        return frames if tail is None else np.concatenate([frames, self._denormalize(tail)])

    def _through_model(self, feats: np.ndarray) -> np.ndarray:
        x = self.src_stats.normalize(feats) if self.src_stats is not None else feats
        x = torch.from_numpy(np.ascontiguousarray(x.T, dtype=np.float32)).to(self.converter.device)[None]
        # One frame per call, as for the features: the model's output does not depend on the blocks.
        out = [self._denormalize(self.frames.push(x[..., t:t + 1])) for t in range(x.shape[-1])]
        return np.concatenate(out) if out else np.zeros((0, self.features.cfg.dim), np.float32)

    def _denormalize(self, y: torch.Tensor) -> np.ndarray:
        feats = y[0].T.float().cpu().numpy()
        return self.tgt_stats.denormalize(feats) if self.tgt_stats is not None else feats

    def _take(self, audio: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, audio])

    def _emit(self, count: int) -> np.ndarray:
        """The next ``count`` output samples; past the input's end the vocoder's tail is dropped."""
        wanted = min(count, self._samples_in + self.delay - self._samples_out)
        if len(self._pending) < wanted:  # only at the end: a vocoder output shorter than the input
            self._pending = np.concatenate([self._pending, np.zeros(wanted - len(self._pending), np.float32)])
        out, self._pending = self._pending[:wanted], self._pending[wanted:]
        self._samples_out += wanted
        return out

    def _delay(self) -> int:
        """The most that input sample ``n`` waits for output sample ``n``: the output is
        ready up to vocoder.samples_ready(frames out of the model), a function of the input
        count that steps once per hop, so scanning a few hops past the start covers all."""
        cfg = self.features.cfg
        span = cfg.n_fft + cfg.hop_length * (self.frames.lookahead + self.vocoder.lookahead_frames + 4)
        ready = [self.vocoder.samples_ready(max(0, self.features.frames_ready(n) - self.frames.lookahead))
                 for n in range(span)]
        return max(n - r for n, r in enumerate(ready))


def frame_stream(converter: Converter, src: str | None, tgt: Target) -> FrameStream:
    """The model's causal network converting ``src`` to ``tgt``, as a stream of frames."""
    model = converter.model
    if not hasattr(model, "frame_stream"):
        raise ConfigError(f"{type(model).__name__} cannot stream; streaming models are cyclegan_vc and "
                          "disentangle with causal networks (docs/stream.md)")
    if isinstance(tgt, SpeakerReference):
        return model.frame_stream(tgt.vector.to(converter.device))
    if model.data_layout == "paired":
        return model.frame_stream("xy" if (src, tgt) == tuple(converter.speakers) else "yx")
    index = torch.tensor([converter.speakers.index(tgt)], device=converter.device)
    return model.frame_stream(model.speaker_vectors(index))
