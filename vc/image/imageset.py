"""One domain's images on disk and in memory: uint8 [N, C, H, W] with content labels.

A recipe's data dir holds ``<split>/<domain>.npz`` (split: train, valid, test). The npz
holds plain arrays only (read with ``allow_pickle=False``): ``images``, ``labels``,
``domain`` (a 0-d string array) and, for paired test sets, ``targets``: the true
translation of each image, so evaluation can compare against it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vc.errors import DataError
from vc.utils import atomic_path

SPLITS = ("train", "valid", "test")


def imageset_path(root: str | Path, split: str, domain: str) -> Path:
    """Where a data dir keeps ``domain``'s images of ``split``."""
    return Path(root) / split / f"{domain}.npz"


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 [N, C, H, W]
    labels: np.ndarray  # int64 [N]: content class
    domain: str
    targets: np.ndarray | None = None  # uint8 [N, C, H, W]: the true translation (paired test sets)

    def __post_init__(self) -> None:
        problem = _problem(self.images, self.labels, self.targets)
        if problem:
            raise DataError(f"image set {self.domain!r}: {problem}")

    def __repr__(self) -> str:
        paired = ", paired" if self.targets is not None else ""
        return f"ImageSet({self.domain!r}, {len(self)} images {list(self.shape)}{paired})"

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """[C, H, W] of one image."""
        return tuple(self.images.shape[1:])

    def save(self, path: str | Path) -> None:
        arrays = {"images": self.images, "labels": self.labels, "domain": np.array(self.domain)}
        if self.targets is not None:
            arrays["targets"] = self.targets
        # A file object: given a name, np.savez would append ".npz" to the temporary one.
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> ImageSet:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: image set not found")
        arrays = _read_npz(path)
        if arrays is None:
            raise DataError(f"{path}: not an image set (not a readable .npz file)")
        missing = [key for key in ("images", "labels", "domain") if key not in arrays]
        if missing:
            raise DataError(f"{path}: not an image set (no {', '.join(missing)} array)")
        domain, targets = arrays["domain"], arrays.get("targets")
        if domain.ndim != 0 or domain.dtype.kind != "U":
            raise DataError(f"{path}: not an image set (domain is not a string)")
        problem = _problem(arrays["images"], arrays["labels"], targets)
        if problem:
            raise DataError(f"{path}: {problem}")
        return cls(arrays["images"], arrays["labels"], str(domain), targets)

    def tensors(self) -> torch.Tensor:
        """The images as float32 [N, C, H, W] in [-1, 1]."""
        return to_float(self.images)

    def subset(self, index: np.ndarray) -> ImageSet:
        """The images at ``index`` (targets follow)."""
        targets = None if self.targets is None else self.targets[index]
        return ImageSet(self.images[index], self.labels[index], self.domain, targets)


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an npz file, or None when it is not one (or is damaged, or holds objects)."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):  # a .npy file under an .npz name
            return None
        with npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _problem(images: np.ndarray, labels: np.ndarray, targets: np.ndarray | None) -> str | None:
    """What makes these arrays no image set, or None."""
    if images.dtype != np.uint8 or images.ndim != 4:
        return f"images must be uint8 [N, C, H, W], got {images.dtype} {list(images.shape)}"
    if labels.dtype != np.int64 or labels.shape != images.shape[:1]:
        return f"labels must be int64 [{len(images)}], got {labels.dtype} {list(labels.shape)}"
    if targets is not None and (targets.dtype != np.uint8 or targets.shape != images.shape):
        return f"targets must be uint8 {list(images.shape)} like images, got {targets.dtype} {list(targets.shape)}"
    return None


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images in [-1, 1] -> uint8, rounded and clipped (the inverse of :func:`to_float`)."""
    x = (images.detach().float().cpu() + 1.0) * 127.5
    return x.round().clamp(0, 255).to(torch.uint8).numpy()
