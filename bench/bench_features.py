"""Log-mel (and log-linear) features of 10 s of speech: ours (FeatureComputer) vs librosa.

Same audio and parameters on both sides: 16 kHz, n_fft 1024, hop 256, periodic Hann,
centred with zero padding, 80 Slaney mels 80-7600 Hz, natural log floored at 1e-5.
Ours is timed end to end (numpy in, [frames, dim] numpy out, device transfers included).
The log-domain difference is float32 round-off, largest where magnitudes are near the floor.
"""

from __future__ import annotations

import librosa
import numpy as np

from common import median_seconds, ms, parser, setup, speech, table
from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer

TARGET = 2.0  # speed-up over librosa this toolkit aims for


def librosa_features(wav: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The reference computation, [frames, dim] like ours."""
    stft = dict(n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_size, window="hann",
                center=True, pad_mode="constant")
    if cfg.kind == "logmel":
        spec = librosa.feature.melspectrogram(y=wav, sr=cfg.sample_rate, power=1.0, n_mels=cfg.n_mels,
                                              fmin=cfg.fmin, fmax=cfg.mel_fmax, htk=False, norm="slaney", **stft)
    else:
        spec = np.abs(librosa.stft(wav, **stft))
    return np.log(np.maximum(spec, cfg.log_floor)).T


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="audio length [10]")
    p.set_defaults(repeats=21)  # a few ms per call: 5 runs leave the median at the mercy of one hiccup
    args = p.parse_args()
    device = setup(args)
    wav = speech(args.seconds)
    rows = []
    for kind in ("logmel", "linear"):
        cfg = FeatureConfig(kind=kind)
        compute = FeatureComputer(cfg, device)
        ours = median_seconds(lambda: compute(wav), args, device)
        theirs = median_seconds(lambda: librosa_features(wav, cfg), args)
        diff = np.abs(compute(wav) - librosa_features(wav, cfg)).max()
        rows.append([f"{kind} [frames, {cfg.dim}]", ms(ours), ms(theirs), f"{theirs / ours:.2f}x", f"{diff:.1e}"])
    print(f"{args.seconds:g} s of speech at 16 kHz; target: ours >= {TARGET:g}x librosa")
    print(table(["features", "ours", "librosa", "speed-up", "max |diff|"], rows))


if __name__ == "__main__":
    main()
