"""What a translation is scored by, on uint8 [N, C, H, W] images (an ImageSet's arrays).

- domain rate: the share of images the domain classifier calls the target domain
  (does it look like the target domain?);
- content accuracy: the share the target domain's content classifier labels with the
  *source* image's label (did the digit or garment survive?);
- L1 and SSIM to the true translation, where the test set is paired (fashion <-> edges):
  mean absolute difference and the mean structural similarity, both on [0, 1] intensities.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from vc.errors import ConfigError, DataError
from vc.image.classifier import ImageClassifier

# SSIM as Wang et al. (2004): an 11x11 Gaussian window of sigma 1.5 (radius int(3.5 * 1.5 + 0.5) = 5),
# K1 = 0.01, K2 = 0.03, population statistics; the mean is taken where the window fits in the image.
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def domain_rate(classifier: ImageClassifier, images: np.ndarray, target_domain: str) -> float:
    if target_domain not in classifier.classes:
        raise ConfigError(f"domain {target_domain!r}: unknown to the domain classifier "
                          f"(it knows: {', '.join(classifier.classes)})")
    return float(np.mean(classifier.predict(images) == classifier.classes.index(target_domain)))


def content_accuracy(classifier: ImageClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(classifier.predict(images) == labels))


def l1(images: np.ndarray, targets: np.ndarray) -> float:
    a, b = _unit(images, targets)
    return float(np.mean(np.abs(a - b)))


def ssim(images: np.ndarray, targets: np.ndarray) -> float:
    """The mean SSIM over images and channels (1: identical)."""
    a, b = _unit(images, targets)
    mu_a, mu_b = _blur(a), _blur(b)
    var_a = _blur(a * a) - mu_a**2
    var_b = _blur(b * b) - mu_b**2
    cov = _blur(a * b) - mu_a * mu_b
    c1, c2 = SSIM_K1**2, SSIM_K2**2  # the data range is 1
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    r = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)
    if min(s.shape[2:]) <= 2 * r:  # too small for a whole window: average everything
        return float(s.mean())
    return float(s[:, :, r:-r, r:-r].mean())


def _blur(x: np.ndarray) -> np.ndarray:
    """The Gaussian window's local mean at every pixel of every [N, C] plane."""
    return gaussian_filter(x, sigma=(0, 0, SSIM_SIGMA, SSIM_SIGMA), truncate=SSIM_TRUNCATE, mode="reflect")


def _unit(images: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if images.shape != targets.shape:
        raise DataError(f"images {list(images.shape)} and targets {list(targets.shape)} differ in shape")
    return images.astype(np.float64) / 255.0, targets.astype(np.float64) / 255.0
