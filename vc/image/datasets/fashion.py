"""Fashion-MNIST from its idx-gz files (Debian's dataset-fashion-mnist package).

The reader takes the directory, so tests can point it at a tiny fake set.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from vc.errors import DataError

DEFAULT_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# idx split name -> (images file, labels file)
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle boot")


def read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (gzip-compressed): magic 0, 0, 0x08, ndim; big-endian dims; data."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a gzip-compressed idx file ({e})") from None
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not an idx file of unsigned bytes (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(data[4:header], dtype=">u4"))
    if len(dims) != ndim or len(data) - header != int(np.prod(dims)):
        raise DataError(f"{path}: truncated idx file (header says {list(dims)})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_fashion(split: str, fashion_dir: str | Path = DEFAULT_FASHION_DIR) -> tuple[np.ndarray, np.ndarray]:
    """``split`` ("train": 60000 or "t10k": 10000) as uint8 images [N, 28, 28] and int64 labels [N]."""
    fashion_dir = Path(fashion_dir)
    paths = [fashion_dir / name for name in FILES[split]]
    if not all(p.is_file() for p in paths):
        raise DataError(
            f"Fashion-MNIST not found in {fashion_dir}: install Debian's dataset-fashion-mnist "
            "(sudo apt-get install dataset-fashion-mnist, or make install), or pass --fashion-dir DIR")
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{fashion_dir}: {split} images {list(images.shape)} and labels "
                        f"{list(labels.shape)} do not match")
    return images, labels.astype(np.int64)
