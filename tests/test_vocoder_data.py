"""Vocoder training data: dumps with audio (vc extract --save-audio) and aligned audio segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vc.audio.config import FeatureConfig
from vc.audio.features import FeatureComputer
from vc.audio.stats import StatsStore
from vc.data.audio import AudioSegmentLoader
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import ConfigError, DataError

CFG = FeatureConfig(n_fft=512, hop_length=128, n_mels=40)


@pytest.fixture
def audio_dump(speech_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "dump"
    extract_dump(DataDir.read(speech_dir), CFG, out, nj=2, save_audio=True, progress=False)
    compute_stats(FeatureDump.open(out)).save(out / "stats.npz")
    return out


def test_save_audio_stores_the_waveform_the_features_came_from(audio_dump: Path) -> None:
    dump = FeatureDump.open(audio_dump)
    assert dump.has_audio and sorted((audio_dump / "audio.scp").read_text().split()[::2]) == sorted(dump.utts)
    compute = FeatureComputer(CFG)
    for utt in dump.utts:
        wav = np.array(dump.audio(utt))  # arks are read-only maps
        assert wav.dtype == np.float32 and wav.ndim == 1
        np.testing.assert_allclose(compute(wav), dump[utt], rtol=1e-5, atol=1e-5)
        assert dump.num_frames[utt] == 1 + len(wav) // CFG.hop_length


def test_dump_without_audio_says_how_to_get_it(speech_dir: Path, tmp_path: Path) -> None:
    extract_dump(DataDir.read(speech_dir), CFG, tmp_path / "plain", progress=False)
    dump = FeatureDump.open(tmp_path / "plain")
    assert not dump.has_audio
    with pytest.raises(DataError, match="--save-audio"):
        dump.audio(dump.utts[0])
    with pytest.raises(DataError, match="--save-audio"):
        AudioSegmentLoader(dump, None, 8, 2, hop_length=CFG.hop_length, normalize="none")


def test_segments_are_aligned_with_their_frames(audio_dump: Path) -> None:
    stats = StatsStore.load(audio_dump / "stats.npz").global_
    loader = AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", 24, 3, seed=5, context_frames=2,
                                hop_length=CFG.hop_length)
    batch = loader.batch(0)
    assert batch["feats"].shape == (3, 40, 24 + 4) and batch["audio"].shape == (3, 24 * 128)
    compute = FeatureComputer(CFG)
    for feats, audio in zip(batch["feats"].numpy(), batch["audio"].numpy()):
        recomputed = stats.normalize(compute(audio))  # frame t of the segment is centred at t * hop
        inner = slice(4, 20)  # frames whose window lies inside the segment
        np.testing.assert_allclose(recomputed[inner], feats.T[2:-2][inner], atol=1e-4)


def test_batches_follow_the_step_and_edges_repeat(audio_dump: Path) -> None:
    make = lambda: AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", 10, 4, seed=1, context_frames=3,
                                      hop_length=CFG.hop_length)
    a, b = make(), make()
    b.set_step(2)
    third = next(iter(b))
    stream = iter(a)
    next(stream), next(stream)
    np.testing.assert_array_equal(next(stream)["audio"], third["audio"])
    # A segment at an utterance's start sees its first frame repeated as left context.
    sampler = a.sampler
    feats, audio = sampler._utterance(sampler.utts[0])
    np.testing.assert_array_equal(feats[0], feats[3])
    assert len(audio) == (len(feats) - 6) * CFG.hop_length


def test_loader_errors_name_the_problem(audio_dump: Path) -> None:
    with pytest.raises(ConfigError, match="'global' or 'none'"):
        AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", 8, 2, hop_length=128, normalize="speaker")
    with pytest.raises(ConfigError, match="upsamples by 256.*hop_length is 128"):
        AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", 8, 2, hop_length=256)
    with pytest.raises(DataError, match="no utterance has at least 100000 frames"):
        AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", 100000, 2, hop_length=128)


def test_short_utterances_are_skipped_and_counted(audio_dump: Path) -> None:
    frames = sorted(FeatureDump.open(audio_dump).num_frames.values())
    loader = AudioSegmentLoader(audio_dump, audio_dump / "stats.npz", frames[1], 2, hop_length=128)
    assert len(loader.sampler.skipped) == 1 and "1 skipped" in loader.sampler.describe()
