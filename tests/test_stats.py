"""Statistics: exact merging across shards, normalisation, and the .npz round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vc.audio import FeatureConfig
from vc.audio.stats import FeatureStats, StatsStore
from vc.errors import DataError


def test_merged_shards_equal_stats_over_everything() -> None:
    rng = np.random.default_rng(0)
    chunks = [rng.normal(3.0, 2.0, size=(n, 5)) for n in (7, 130, 1, 42)]
    merged = FeatureStats.of(chunks[0])
    for c in chunks[1:]:
        merged.merge_(FeatureStats.of(c))
    whole = np.concatenate(chunks)
    assert merged.count == len(whole)
    np.testing.assert_allclose(merged.mean, whole.mean(0), rtol=1e-12)
    np.testing.assert_allclose(merged.std, whole.std(0), rtol=1e-10)
    assert (FeatureStats.of(chunks[0]) + FeatureStats.of(chunks[1])).count == 137


def test_normalize_inverts_on_numpy_and_torch_layouts() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(-2.0, 5.0, size=(200, 3)).astype(np.float32)
    st = FeatureStats.of(x)
    z = st.normalize(x)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(st.denormalize(z), x, atol=1e-4)
    channels_first = torch.from_numpy(x.T[None].copy())  # [B, dim, T], as models see it
    zt = st.normalize(channels_first, axis=1)
    torch.testing.assert_close(zt[0].T, torch.from_numpy(z), atol=1e-5, rtol=0)
    assert zt.dtype == torch.float32


def test_constant_dimension_gets_floored_std() -> None:
    st = FeatureStats.of(np.ones((10, 2)))
    assert np.all(st.std > 0) and np.all(np.isfinite(st.normalize(np.ones((1, 2)))))


def test_dimension_mismatch_is_an_error() -> None:
    st = FeatureStats.of(np.ones((3, 4)))
    with pytest.raises(DataError, match="features have dimension 5 on axis -1, statistics have 4"):
        st.normalize(np.ones((2, 5)))
    with pytest.raises(DataError, match="cannot merge statistics of dimension 2 into 4"):
        st.merge_(FeatureStats.of(np.ones((3, 2))))


def test_store_round_trip_and_merge(tmp_path: Path) -> None:
    cfg = FeatureConfig(n_mels=3)
    a, b = StatsStore(cfg), StatsStore(cfg)
    a.add("global", np.arange(6.0).reshape(2, 3))
    a.add("spk/x", np.arange(6.0).reshape(2, 3))
    b.add("global", np.ones((4, 3)))
    b.add("spk/y", np.ones((4, 3)))
    a.merge_(b)
    a.save(tmp_path / "stats.npz")
    back = StatsStore.load(tmp_path / "stats.npz")
    assert back.config == cfg and back.speakers == ["x", "y"] and back.global_.count == 6
    np.testing.assert_array_equal(back.global_.sum, a.global_.sum)
    with pytest.raises(DataError, match=r"no statistics named 'spk/z' \(have: global, spk/x, spk/y\)"):
        back.speaker("z")
    with pytest.raises(Exception, match=r"merging statistics: feature config mismatch \(n_mels: 3 != 4\)"):
        a.merge_(StatsStore(FeatureConfig(n_mels=4)))


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.npz: statistics file not found"):
        StatsStore.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"bad\.npz: not a readable statistics file"):
        StatsStore.load(tmp_path / "bad.npz")
