"""Helpers for the tests of resumable batch streams (speech and image loaders)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch

Batch = dict[str, torch.Tensor]


def take(loader: Iterable[Batch], n: int) -> list[Batch]:
    """The loader's next ``n`` batches."""
    return list(itertools.islice(loader, n))


def assert_batches_equal(a: list[Batch], b: list[Batch]) -> None:
    """Same number of batches, same keys, bit-identical tensors."""
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            torch.testing.assert_close(x[key], y[key], rtol=0, atol=0)
