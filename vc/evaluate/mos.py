"""Predicted MOS: DNSMOS P.835 (signal, background, overall) and P.808, through speechmos's
bundled ONNX models. DNSMOS scores 9 s windows; shorter clips are repeated to fill one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vc.evaluate.optional import require

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class MosScores:
    ovrl: float
    sig: float
    bak: float
    p808: float


class MosPredictor:
    def __init__(self) -> None:
        require("onnxruntime")
        require("speechmos")
        from speechmos import dnsmos

        self._dnsmos = dnsmos

    def predict(self, wav: np.ndarray) -> MosScores:
        # speechmos refuses samples outside [-1, 1]; a playback device would clip them too.
        scores = self._dnsmos.run(np.clip(wav, -1.0, 1.0).astype(np.float32), sr=SAMPLE_RATE)
        return MosScores(float(scores["ovrl_mos"]), float(scores["sig_mos"]), float(scores["bak_mos"]),
                         float(scores["p808_mos"]))
