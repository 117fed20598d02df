"""Handwritten digits: scikit-learn's bundled 8x8 digits (1797 images), upscaled."""

from __future__ import annotations

import numpy as np

from vc.errors import DataError
from vc.image.datasets.resize import resize, to_gray_images


def load_handwritten(size: int) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as uint8 [N, 1, size, size] (white ink on black) and int64 labels [N]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("handwritten digits need scikit-learn: pip install 'vc[image]'") from None
    digits = load_digits()
    images = resize(digits.images.astype(np.float32) * (255.0 / 16.0), size)  # 0..16 ink levels
    return to_gray_images(images), digits.target.astype(np.int64)
