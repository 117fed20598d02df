"""Infinite, exactly resumable batch streams over in-memory image sets.

As the speech loaders (:mod:`vc.data.unpaired`), batch ``step`` is drawn from its own
generator seeded by ``SeedSequence((seed, step))``: after ``set_step(s)`` the stream is
that of steps s, s+1, ... whatever was drawn before, so a resumed run sees the batches an
uninterrupted one would. Images are drawn with replacement and never flipped or
otherwise augmented (a flipped digit or letter is another glyph).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
import torch

from vc.errors import ConfigError, DataError
from vc.image.imageset import ImageSet, to_float

Batch = dict[str, torch.Tensor]

# Spawn keys: training batches and fixed validation batches share the seed, not random numbers.
_TRAIN_STREAM, _VALID_STREAM = 0, 1


def _step_rng(seed: int, step: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence((seed, step), spawn_key=(stream,)))


class _StepSeededImageLoader(ABC):
    """The step-seeded stream over ``sets``; subclasses lay out one batch in ``_batch``."""

    def __init__(self, sets: list[ImageSet], batch_size: int, seed: int) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size: must be >= 1, got {batch_size}")
        if seed < 0:
            raise ConfigError(f"seed: must be >= 0, got {seed}")
        _check_sets(sets)
        self.sets = sets
        self.batch_size = batch_size
        self.seed = seed
        self.step = 0  # the step of the next batch this loader yields

    @property
    def domains(self) -> list[str]:
        return [s.domain for s in self.sets]

    def set_step(self, step: int) -> None:
        """Make the next batch the one of ``step``, as a fresh loader's ``step``-th batch."""
        if step < 0:
            raise ConfigError(f"step: must be >= 0, got {step}")
        self.step = step

    def batch(self, step: int) -> Batch:
        """The training batch of ``step`` (a pure function of the seed and the step)."""
        return self._batch(_step_rng(self.seed, step, _TRAIN_STREAM))

    def fixed_batches(self, n: int) -> list[Batch]:
        """``n`` validation batches: the same on every call, apart from the training stream."""
        return [self._batch(_step_rng(self.seed, i, _VALID_STREAM)) for i in range(n)]

    def __iter__(self) -> Iterator[Batch]:
        for step in itertools.count(self.step):
            self.step = step + 1
            yield self.batch(step)

    def _draw(self, index: int, n: int, rng: np.random.Generator) -> torch.Tensor:
        """``n`` random images of set ``index``, float [n, C, H, W] in [-1, 1]."""
        images = self.sets[index].images
        return to_float(images[rng.integers(0, len(images), size=n)])

    @abstractmethod
    def _batch(self, rng: np.random.Generator) -> Batch:
        """One batch drawn with ``rng`` (all of its randomness comes from there)."""


class UnpairedImageLoader(_StepSeededImageLoader):
    """Two-domain batches {"x": images of ``a``, "y": images of ``b``}, each [B, C, H, W] in [-1, 1].

    The halves are drawn independently: x[i] and y[i] have nothing to do with each other.
    """

    def __init__(self, a: ImageSet, b: ImageSet, batch_size: int, seed: int) -> None:
        super().__init__([a, b], batch_size, seed)

    def _batch(self, rng: np.random.Generator) -> Batch:
        return {"x": self._draw(0, self.batch_size, rng), "y": self._draw(1, self.batch_size, rng)}


class MultiDomainImageLoader(_StepSeededImageLoader):
    """N-domain batches {"image": [B, C, H, W] in [-1, 1], "domain": long [B] index into ``sets``}.

    Domains are uniform and balanced: each batch is cut from whole shuffled rounds of all
    domains, so their counts differ by at most one.
    """

    def _batch(self, rng: np.random.Generator) -> Batch:
        n = len(self.sets)
        rounds = -(-self.batch_size // n)
        domain = np.concatenate([rng.permutation(n) for _ in range(rounds)])[: self.batch_size]
        image = torch.empty((self.batch_size, *self.sets[0].shape))
        for d in range(n):
            rows = np.flatnonzero(domain == d)
            image[torch.from_numpy(rows)] = self._draw(d, len(rows), rng)
        return {"image": image, "domain": torch.from_numpy(domain.astype(np.int64))}


def _check_sets(sets: list[ImageSet]) -> None:
    if len(sets) < 2:
        raise ConfigError(f"domains: need at least two image sets to translate between, got {len(sets)}")
    domains = [s.domain for s in sets]
    if len(set(domains)) != len(domains):
        raise ConfigError(f"domains: listed twice in {domains}")
    for s in sets:
        if len(s) == 0:
            raise DataError(f"image set {s.domain!r} is empty")
        if s.shape != sets[0].shape:
            raise DataError(f"image set {s.domain!r} has images of {list(s.shape)}, "
                            f"{sets[0].domain!r} of {list(sets[0].shape)}: build both at one size")
