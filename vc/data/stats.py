"""Statistics over a feature dump: global, per speaker, and per-speaker log-F0 for WORLD.

Shards are computed in parallel processes and merged exactly (count/sum/sum of squares).
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np

from vc.audio.stats import StatsStore
from vc.data.dump import FeatureDump
from vc.errors import DataError


def compute_stats(dump: FeatureDump, utts: list[str] | None = None, nj: int = 1) -> StatsStore:
    """Statistics over ``utts`` (default: all) of ``dump``, computed in ``nj`` processes."""
    utts = sorted(dump.utts if utts is None else utts)
    if not utts:
        raise DataError(f"{dump.root}: no utterances to compute statistics over")
    missing = [u for u in utts if u not in dump]
    if missing:
        raise DataError(f"{dump.root}: utterance {missing[0]!r} is not in the dump")
    shards = [s for s in np.array_split(np.array(utts, dtype=object), max(1, nj)) if len(s)]
    if len(shards) == 1:
        return _shard_stats(dump.root, list(shards[0]))
    with mp.get_context("fork").Pool(len(shards)) as pool:  # workers inherit the imports
        parts = pool.starmap(_shard_stats, [(dump.root, list(s)) for s in shards])
    total = parts[0]
    for part in parts[1:]:
        total.merge_(part)
    return total


def _shard_stats(root: Path, utts: list[str]) -> StatsStore:
    dump = FeatureDump.open(root)
    store = StatsStore(dump.config)
    lf0_cols = _lf0_columns(dump)
    for utt in utts:
        feats = dump[utt]
        spk = dump.speaker(utt)
        store.add("global", feats)
        store.add(f"spk/{spk}", feats)
        if lf0_cols is not None:
            lf0, vuv = lf0_cols
            store.add(f"lf0/{spk}", feats[feats[:, vuv] >= 0.5][:, [lf0]])
    return store


def _lf0_columns(dump: FeatureDump) -> tuple[int, int] | None:
    if dump.config.kind != "world":
        return None
    from vc.audio.world import world_layout

    layout = world_layout(dump.config)
    return layout.lf0, layout.vuv
