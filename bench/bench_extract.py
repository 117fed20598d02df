"""Feature-extraction throughput of `vc extract` in hours of audio per minute, --nj 1 vs 2.

The data dir is the CMU ARCTIC sample that pysptk ships, tiled into 10 s files; half of
them are stored at 22.05 kHz so the resampling path is timed as well. Log-mel uses the
demo's config; WORLD uses harvest with 5 ms frames.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from vc.audio import FeatureConfig
from vc.audio.features import FeatureComputer
from vc.audio.io import load_wav, resample
from vc.data.datadir import DataDir
from vc.data.dump import extract_dump


def make_data_dir(root: Path, minutes: float) -> DataDir:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysptk
    speech, _ = load_wav(pysptk.util.example_audio_file(), 16000)
    clip = np.tile(speech, 3)[: 10 * 16000]
    wav_scp, utt2spk = {}, {}
    for i in range(int(minutes * 6)):
        utt = f"spk{i % 4}_{i:04d}"
        path = root / f"{utt}.wav"
        if i % 2:
            sf.write(path, resample(clip, 16000, 22050), 22050)
        else:
            sf.write(path, clip, 16000)
        wav_scp[utt], utt2spk[utt] = str(path), f"spk{i % 4}"
    return DataDir(wav_scp=wav_scp, utt2spk=utt2spk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # WORLD (harvest, 5 ms frames) runs near 0.4x real time per core, so it gets less audio.
    parser.add_argument("--minutes", type=float, default=30.0, help="audio for log-mel [30]")
    parser.add_argument("--world-minutes", type=float, default=2.0, help="audio for WORLD [2]")
    args = parser.parse_args()
    print(f"{'kind':8} {'minutes':>7} {'nj':>3} {'wall s':>8} {'h audio/min':>12} {'speed-up':>9}")
    for kind, minutes in (("logmel", args.minutes), ("world", args.world_minutes)):
        with tempfile.TemporaryDirectory() as tmp:
            data = make_data_dir(Path(tmp), minutes)
            cfg = FeatureConfig(kind=kind, hop_length=80 if kind == "world" else 256)
            FeatureComputer(cfg)  # one-time start-up (librosa's mel filters) kept out of both timings
            base = None
            for nj in (1, 2):
                s = extract_dump(data, cfg, Path(tmp) / f"dump_{nj}", nj=nj, progress=False)
                rate = s.seconds / 3600 / (s.wall / 60)
                base = base or rate
                print(f"{kind:8} {minutes:7.0f} {nj:>3} {s.wall:8.2f} {rate:12.2f} {rate / base:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
