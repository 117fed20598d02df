"""Log-mel / log-linear frames computed as their samples arrive, equal to the offline ones.

Offline features (vc.audio.features) centre frame ``t`` on sample ``t * hop``, with
``n_fft // 2`` zeros padded at both ends. Here the left padding starts the buffer, each
frame is computed as soon as its last sample is in (``n_fft // 2`` samples after its
centre: the features' lookahead), and :meth:`StreamingFeatures.flush` pads the right
end, so the frames of a stream are those of the whole signal, ``1 + samples // hop``
(to float rounding; bit for bit the same whatever the blocks).
"""

from __future__ import annotations

import numpy as np
import torch

from vc.audio.config import FeatureConfig
from vc.audio.features import spectral_extractor
from vc.errors import ConfigError


class StreamingFeatures:
    """Samples in, the newly complete feature frames [n, dim] out."""

    def __init__(self, cfg: FeatureConfig, device: str | torch.device = "cpu") -> None:
        if cfg.kind == "world":
            raise ConfigError("WORLD features cannot stream (harvest reads the whole utterance); stream a model "
                              "trained on log-mel or linear features")
        self.cfg = cfg
        self.device = torch.device(device)
        self.module = spectral_extractor(cfg, center=False).to(self.device)
        self.reset()

    def reset(self) -> None:
        self._buffer = np.zeros(self.cfg.n_fft // 2, dtype=np.float32)  # from the next frame's first sample
        self._samples = 0
        self._frames = 0

    def frames_ready(self, samples: int) -> int:
        """Frames complete once ``samples`` samples have come in (before the end of the stream)."""
        tail = self.cfg.n_fft - self.cfg.n_fft // 2  # samples a frame needs past its centre, itself included
        return 0 if samples < tail else (samples - tail) // self.cfg.hop_length + 1

    def push(self, samples: np.ndarray) -> np.ndarray:
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float32)])
        self._samples += len(samples)
        return self._frames_up_to(self.frames_ready(self._samples))

    def flush(self) -> np.ndarray:
        """The last frames, over the right padding: the stream has 1 + samples // hop in all."""
        self._buffer = np.concatenate([self._buffer, np.zeros(self.cfg.n_fft // 2, dtype=np.float32)])
        return self._frames_up_to(self.cfg.num_frames(self._samples))

    def _frames_up_to(self, total: int) -> np.ndarray:
        count = total - self._frames
        if count <= 0:
            return np.zeros((0, self.cfg.dim), dtype=np.float32)
        hop, n_fft = self.cfg.hop_length, self.cfg.n_fft
        # One frame per call: the same kernels whatever the blocks, so a stream's frames do not
        # depend on how its samples were cut (batched, the mel product rounds by batch size).
        windows = np.lib.stride_tricks.sliding_window_view(self._buffer[: (count - 1) * hop + n_fft], n_fft)[::hop]
        with torch.inference_mode():
            frames = np.concatenate([self.module(torch.from_numpy(w.copy()).to(self.device)[None])[0].T.cpu().numpy()
                                     for w in windows])
        self._buffer = self._buffer[count * hop:]
        self._frames = total
        return frames
