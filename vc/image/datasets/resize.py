"""Image geometry shared by the datasets: centre padding and bilinear resizing of image stacks."""

from __future__ import annotations

import numpy as np
from PIL import Image


def pad_center(images: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad [N, h, w] images to [N, size, size], centred."""
    n, h, w = images.shape
    top, left = (size - h) // 2, (size - w) // 2
    out = np.zeros((n, size, size), dtype=images.dtype)
    out[:, top:top + h, left:left + w] = images
    return out


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of [N, h, w] images to float32 [N, size, size], values kept in their range.

    PIL widens the filter when shrinking, so a downscale averages instead of aliasing.
    """
    if images.shape[1:] == (size, size):
        return images.astype(np.float32)
    return np.stack([np.asarray(Image.fromarray(im.astype(np.float32), mode="F").resize(
        (size, size), Image.BILINEAR)) for im in images]).astype(np.float32)


def to_gray_images(images: np.ndarray) -> np.ndarray:
    """Float [0, 255] images -> uint8 [N, 1, H, W] (one grayscale channel)."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)[:, None]
