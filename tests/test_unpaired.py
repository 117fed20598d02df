"""Unpaired segment loaders: layouts, normalisation, balance, real slices, resumable streams."""

from __future__ import annotations

from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from vc.audio import FeatureConfig
from vc.audio.stats import StatsStore
from vc.config import to_dict
from vc.data.dump import FeatureDump
from vc.data.stats import compute_stats
from vc.data.unpaired import MultiSpeakerLoader, PairedSpeakersLoader, SegmentSampler
from vc.errors import ConfigError, DataError

from batch_streams import assert_batches_equal, take

DIM, T = 4, 16
# speaker -> (mean, std, utterance lengths); spkC has one utterance shorter than T.
SPEAKERS = {"spkA": (3.0, 2.0, [40, 70, 25]), "spkB": (-1.0, 0.5, [90, 30]), "spkC": (10.0, 4.0, [50, 9, 60])}


def write_dump(root: Path, utts: dict[str, tuple[str, np.ndarray]], cfg: FeatureConfig) -> FeatureDump:
    """A dump as extract_dump writes it, from given [frames, dim] matrices."""
    root.mkdir(parents=True)
    with kaldiio.WriteHelper(f"ark,scp:{root / 'feats.1.ark'},{root / 'feats.scp'}") as writer:
        for utt in sorted(utts):
            writer(utt, utts[utt][1].astype(np.float32))
    (root / "utt2spk").write_text("".join(f"{u} {utts[u][0]}\n" for u in sorted(utts)))
    (root / "feats.yaml").write_text(yaml.safe_dump(to_dict(cfg)))
    return FeatureDump.open(root)


@pytest.fixture
def dump(tmp_path: Path) -> FeatureDump:
    rng = np.random.default_rng(0)
    utts = {f"{spk}_{i:03d}": (spk, rng.normal(mean, std, size=(n, DIM)))
            for spk, (mean, std, lengths) in SPEAKERS.items() for i, n in enumerate(lengths)}
    return write_dump(tmp_path / "dump", utts, FeatureConfig(n_mels=DIM))


@pytest.fixture
def stats(dump: FeatureDump) -> StatsStore:
    return compute_stats(dump)


def find_in_dump(dump: FeatureDump, spk: str, segment: np.ndarray) -> str:
    """The utterance of ``spk`` that holds ``segment`` ([T, dim]) as a contiguous slice."""
    for utt in dump.utts:
        feats = dump[utt]
        if dump.speaker(utt) != spk:
            continue
        for start in range(len(feats) - len(segment) + 1):
            if np.allclose(feats[start:start + len(segment)], segment, atol=1e-4):
                return utt
    raise AssertionError(f"segment not found in any utterance of {spk}")


def test_layouts_shapes_dtypes_and_report(dump: FeatureDump, stats: StatsStore) -> None:
    paired = PairedSpeakersLoader(dump, stats, "spkA", "spkB", segment_frames=T, batch_size=5, seed=1)
    batch = next(iter(paired))
    assert set(batch) == {"x", "y"}
    assert batch["x"].shape == batch["y"].shape == (5, DIM, T) and batch["x"].dtype == torch.float32
    assert paired.speakers == ["spkA", "spkB"] and paired.dim == DIM
    assert paired.frames == {"spkA": 135, "spkB": 120}

    multi = MultiSpeakerLoader(dump, stats, ["spkA", "spkB", "spkC"], segment_frames=T, batch_size=7, seed=1)
    batch = next(iter(multi))
    assert set(batch) == {"feats", "speaker", "target"}
    assert batch["feats"].shape == (7, DIM, T) and batch["feats"].dtype == torch.float32
    assert batch["speaker"].shape == batch["target"].shape == (7,)
    assert batch["speaker"].dtype == batch["target"].dtype == torch.long
    assert "spkC: 2 utterances, 110 frames, 1 skipped (shorter than 16 frames)" in multi.sampler.describe()


@pytest.mark.parametrize("normalize", ["speaker", "global", "none"])
def test_normalisation_is_applied(dump: FeatureDump, stats: StatsStore, normalize: str) -> None:
    loader = PairedSpeakersLoader(dump, stats, "spkA", "spkC", T, batch_size=16, seed=0, normalize=normalize)
    x = torch.cat([b["x"] for b in take(loader, 40)]).transpose(1, 2).reshape(-1, DIM).numpy()
    y = torch.cat([b["y"] for b in take(loader, 40)]).transpose(1, 2).reshape(-1, DIM).numpy()
    if normalize == "speaker":
        for seg in (x, y):
            np.testing.assert_allclose(seg.mean(0), 0, atol=0.25)
            np.testing.assert_allclose(seg.std(0), 1, atol=0.25)
    elif normalize == "global":  # one shared scale: the speakers stay apart
        assert np.all(y.mean(0) - x.mean(0) > 1.0)
    else:
        np.testing.assert_allclose(x.mean(0), 3.0, atol=0.5)
        np.testing.assert_allclose(y.mean(0), 10.0, atol=1.0)


def test_normalisation_needs_stats(dump: FeatureDump) -> None:
    with pytest.raises(ConfigError, match="needs statistics"):
        PairedSpeakersLoader(dump, None, "spkA", "spkB", T, batch_size=2)
    assert PairedSpeakersLoader(dump, None, "spkA", "spkB", T, batch_size=2, normalize="none").dim == DIM


def test_segments_are_real_slices_of_the_features(dump: FeatureDump, stats: StatsStore) -> None:
    loader = MultiSpeakerLoader(dump, stats, ["spkA", "spkB", "spkC"], T, batch_size=6, seed=3)
    found: set[str] = set()
    for batch in take(loader, 8):
        for feats, s in zip(batch["feats"], batch["speaker"]):
            spk = loader.speakers[int(s)]
            raw = stats.speaker(spk).denormalize(feats.numpy(), axis=0).T  # back to [T, dim]
            found.add(find_in_dump(dump, spk, raw))
    assert "spkC_001" not in found, "an utterance shorter than the segment was sampled"
    assert len(found) >= 6


def test_speaker_balance_and_target_differs(dump: FeatureDump, stats: StatsStore) -> None:
    speakers = ["spkA", "spkB", "spkC"]
    loader = MultiSpeakerLoader(dump, stats, speakers, T, batch_size=8, seed=0)
    spk_counts, pair_counts = np.zeros(3), np.zeros((3, 3))
    for batch in take(loader, 150):
        s, t = batch["speaker"].numpy(), batch["target"].numpy()
        per_batch = np.bincount(s, minlength=3)
        assert per_batch.max() - per_batch.min() <= 1
        assert np.all(s != t)
        spk_counts += per_batch
        np.add.at(pair_counts, (s, t), 1)
    np.testing.assert_allclose(spk_counts / spk_counts.sum(), 1 / 3, atol=0.02)
    off_diagonal = pair_counts[~np.eye(3, dtype=bool)]
    np.testing.assert_allclose(off_diagonal / off_diagonal.sum(), 1 / 6, atol=0.03)


def test_set_step_resumes_the_stream_exactly(dump: FeatureDump, stats: StatsStore) -> None:
    def make(**kw: int) -> MultiSpeakerLoader:
        return MultiSpeakerLoader(dump, stats, ["spkA", "spkB", "spkC"], T, batch_size=4, seed=7, **kw)

    reference = take(make(), 8)
    resumed = make()
    take(resumed, 5)  # draws before set_step must not matter
    resumed.set_step(3)
    assert_batches_equal(take(resumed, 4), reference[3:7])
    assert_batches_equal(take(resumed, 1), reference[7:8])  # a new iterator continues the stream

    workers = make(num_workers=2)
    workers.set_step(2)
    assert_batches_equal(take(workers, 5), reference[2:7])

    other_seed = MultiSpeakerLoader(dump, stats, ["spkA", "spkB", "spkC"], T, batch_size=4, seed=8)
    assert not torch.equal(take(other_seed, 1)[0]["feats"], reference[0]["feats"])


def test_fixed_validation_batches(dump: FeatureDump, stats: StatsStore) -> None:
    loader = PairedSpeakersLoader(dump, stats, "spkA", "spkB", T, batch_size=3, seed=5)
    valid = loader.fixed_batches(2)
    take(loader, 3)
    assert_batches_equal(valid, loader.fixed_batches(2))
    assert not torch.equal(valid[0]["x"], loader.batch(0)["x"]), "validation shares the training stream"


def test_short_utterances_skipped_or_wrapped(dump: FeatureDump, stats: StatsStore) -> None:
    skip = SegmentSampler(dump, stats, ["spkC"], T)
    assert skip.skipped == {"spkC": ["spkC_001"]} and skip.frames == {"spkC": 110}

    wrap = SegmentSampler(dump, stats, ["spkC"], T, short="wrap")
    assert wrap.skipped == {"spkC": []} and wrap.frames == {"spkC": 110 + T}
    short = stats.speaker("spkC").normalize(dump["spkC_001"]).astype(np.float32)
    segments = wrap.sample(0, 400, np.random.default_rng(0)).transpose(0, 2, 1)
    # The wrapped utterance has exactly one segment start: the utterance repeated.
    repeated = np.resize(short, (T, DIM))
    assert any(np.allclose(seg, repeated, atol=1e-5) for seg in segments)


def test_unknown_speaker_lists_known_ones(dump: FeatureDump, stats: StatsStore) -> None:
    with pytest.raises(DataError, match=r"unknown speaker 'spkZ' \(known: spkA, spkB, spkC\)"):
        MultiSpeakerLoader(dump, stats, ["spkA", "spkZ"], T, batch_size=2)


def test_speaker_without_usable_utterance(dump: FeatureDump, stats: StatsStore) -> None:
    with pytest.raises(DataError, match=r"speaker 'spkA' has no utterance of at least 80 frames \(3 shorter"):
        PairedSpeakersLoader(dump, stats, "spkB", "spkA", segment_frames=80, batch_size=2)


def test_stats_of_another_feature_config(dump: FeatureDump, tmp_path: Path) -> None:
    other = StatsStore(FeatureConfig(n_mels=DIM, hop_length=128))
    other.add("global", np.zeros((3, DIM)))
    other.save(tmp_path / "stats.npz")
    with pytest.raises(ConfigError, match=r"hop_length: 256 != 128"):
        PairedSpeakersLoader(dump, tmp_path / "stats.npz", "spkA", "spkB", T, batch_size=2)


def test_bad_arguments(dump: FeatureDump, stats: StatsStore) -> None:
    with pytest.raises(ConfigError, match="same speaker"):
        PairedSpeakersLoader(dump, stats, "spkA", "spkA", T, batch_size=2)
    with pytest.raises(ConfigError, match="at least two"):
        MultiSpeakerLoader(dump, stats, ["spkA"], T, batch_size=2)
    with pytest.raises(ConfigError, match="segment_frames"):
        SegmentSampler(dump, stats, ["spkA"], 0)
