"""Builders: write a recipe's data dir, ``<out_dir>/<split>/<domain>.npz``, from offline sources.

Every builder has the signature of :data:`Builder` (extra keyword-only options allowed),
returns split -> domain -> path, and is deterministic for a seed: all of its randomness
comes from one ``np.random.default_rng(seed)`` drawn in a fixed order. Splits never share
an image. Counts are per domain; ``None`` takes the defaults, sized so the quick CPU
recipes train in minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from vc.errors import ConfigError
from vc.image.datasets.digits import load_handwritten
from vc.image.datasets.edges import edge_map
from vc.image.datasets.fashion import DEFAULT_FASHION_DIR, load_fashion
from vc.image.datasets.fonts import FONT_FILES, render_digits
from vc.image.datasets.resize import pad_center, resize, to_gray_images
from vc.image.imageset import ImageSet, imageset_path

Paths = dict[str, dict[str, Path]]
Builder = Callable[..., Paths]  # (out_dir, seed, size=32, n_train=None, n_test=None, **options) -> Paths

FASHION_DEFAULTS = {"n_train": 2000, "n_valid": 200, "n_test": 500}
DIGITS_DEFAULTS = {"n_train": 1300, "n_valid": 200, "n_test": None}  # n_test: the rest of the 1797
FONTS_DEFAULTS = {"n_train": 1000, "n_valid": 200, "n_test": 300}
# The fonts builder's domains (StarGAN): clearly different families.
FONT_DOMAINS = ("dejavu_sans", "dejavu_serif", "dejavu_mono", "cm_serif", "stix")
_FASHION_FRAME = 32  # Fashion-MNIST's 28x28 items sit in a 32x32 frame, as MNIST digits in LeNet's input


def build_fashion_edges(out_dir: str | Path, seed: int, size: int = 32, n_train: int | None = None,
                        n_test: int | None = None, *, n_valid: int | None = None,
                        fashion_dir: str | Path = DEFAULT_FASHION_DIR) -> Paths:
    """Fashion-MNIST items <-> edge sketches (:mod:`vc.image.datasets.edges`) of other items.

    The training set is split in two halves by a seeded permutation: "fashion" train and
    valid come from the first, "edges" train and valid are sketches of the second, so no
    item is seen in both domains. The t10k set gives the paired test sets: test/fashion
    holds items with their sketches as ``targets``; test/edges holds sketches of other
    items with the items as ``targets``.
    """
    n_train, n_valid, n_test = _counts(FASHION_DEFAULTS, n_train, n_valid, n_test)
    _check_size(size)
    train_images, train_labels = load_fashion("train", fashion_dir)
    test_images, test_labels = load_fashion("t10k", fashion_dir)
    half = len(train_images) // 2
    if n_train + n_valid > half:
        raise ConfigError(f"n_train + n_valid: {n_train + n_valid} exceeds the {half} items of each half "
                          "of Fashion-MNIST's training set")
    if 2 * n_test > len(test_images):
        raise ConfigError(f"n_test: {n_test} per domain exceeds half of the {len(test_images)} test items")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train_images))
    test_order = rng.permutation(len(test_images))

    def items(images: np.ndarray, labels: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        framed = pad_center(images[index], _FASHION_FRAME).astype(np.float32)
        return to_gray_images(resize(framed, size)), labels[index]

    sets: dict[str, list[ImageSet]] = {"train": [], "valid": [], "test": []}
    for domain, part in (("fashion", order[:half]), ("edges", order[half:])):
        for split, index in (("train", part[:n_train]), ("valid", part[n_train:n_train + n_valid])):
            images, labels = items(train_images, train_labels, index)
            sets[split].append(ImageSet(images if domain == "fashion" else edge_map(images), labels, domain))
    fashion, fashion_labels = items(test_images, test_labels, test_order[:n_test])
    sketched, sketched_labels = items(test_images, test_labels, test_order[n_test:2 * n_test])
    sets["test"] += [ImageSet(fashion, fashion_labels, "fashion", targets=edge_map(fashion)),
                     ImageSet(edge_map(sketched), sketched_labels, "edges", targets=sketched)]
    return _write(out_dir, sets)


def build_digits(out_dir: str | Path, seed: int, size: int = 32, n_train: int | None = None,
                 n_test: int | None = None, *, n_valid: int | None = None) -> Paths:
    """scikit-learn's handwritten digits <-> digits typeset in matplotlib's fonts (all of FONT_FILES).

    The 1797 handwritten digits are split by a seeded permutation; each split has as many
    typeset renderings (class-balanced, random font and jitter). Test sets are unpaired.
    """
    _check_size(size)
    images, labels = load_handwritten(size)
    n_train, n_valid, n_test = _counts(DIGITS_DEFAULTS, n_train, n_valid, n_test, total=len(images))
    rng = np.random.default_rng(seed)
    splits = _split(rng.permutation(len(images)), n_train, n_valid, n_test)
    sets = {split: [ImageSet(images[index], labels[index], "handwritten"),
                    _typeset(len(index), list(FONT_FILES), "typeset", size, rng)]
            for split, index in splits.items()}
    return _write(out_dir, sets)


def build_fonts(out_dir: str | Path, seed: int, size: int = 32, n_train: int | None = None,
                n_test: int | None = None, *, n_valid: int | None = None,
                fonts: tuple[str, ...] = FONT_DOMAINS, handwritten: bool = False) -> Paths:
    """One domain of typeset digits per font (StarGAN), and with ``handwritten`` the handwritten digits."""
    _check_size(size)
    unknown = [f for f in fonts if f not in FONT_FILES]
    if unknown or len(set(fonts)) != len(fonts) or len(fonts) < 1:
        raise ConfigError(f"fonts: need distinct names among {', '.join(FONT_FILES)}, got {list(fonts)}")
    images, labels = load_handwritten(size) if handwritten else (None, None)
    n_train, n_valid, n_test = _counts(FONTS_DEFAULTS, n_train, n_valid, n_test,
                                       total=None if images is None else len(images))
    rng = np.random.default_rng(seed)
    counts = {"train": n_train, "valid": n_valid, "test": n_test}
    sets = {split: [_typeset(n, [font], font, size, rng) for font in fonts] for split, n in counts.items()}
    if images is not None:
        for split, index in _split(rng.permutation(len(images)), n_train, n_valid, n_test).items():
            sets[split].append(ImageSet(images[index], labels[index], "handwritten"))
    return _write(out_dir, sets)


BUILDERS: dict[str, Builder] = {"fashion_edges": build_fashion_edges, "digits": build_digits,
                                "fonts": build_fonts}


def _typeset(n: int, fonts: list[str], domain: str, size: int, rng: np.random.Generator) -> ImageSet:
    labels = rng.permutation(np.arange(n) % 10)  # class-balanced
    return ImageSet(render_digits(labels, fonts, size, rng), labels.astype(np.int64), domain)


def _counts(defaults: dict[str, int | None], n_train: int | None, n_valid: int | None, n_test: int | None,
            total: int | None = None) -> tuple[int, int, int]:
    """Fill in defaults (a None n_test takes the rest of ``total``) and check the counts."""
    n_train = defaults["n_train"] if n_train is None else n_train
    n_valid = defaults["n_valid"] if n_valid is None else n_valid
    if n_test is None:
        n_test = defaults["n_test"] if defaults["n_test"] is not None else total - n_train - n_valid
    for name, n in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        if n < 1:
            raise ConfigError(f"{name}: must be >= 1, got {n}")
    if total is not None and n_train + n_valid + n_test > total:
        raise ConfigError(f"n_train + n_valid + n_test: {n_train + n_valid + n_test} exceeds the {total} "
                          "images available")
    return n_train, n_valid, n_test


def _check_size(size: int) -> None:
    if size < 8:
        raise ConfigError(f"size: must be >= 8 pixels, got {size}")


def _split(order: np.ndarray, n_train: int, n_valid: int, n_test: int) -> dict[str, np.ndarray]:
    """Consecutive, hence disjoint, runs of ``order``."""
    return {"train": order[:n_train], "valid": order[n_train:n_train + n_valid],
            "test": order[n_train + n_valid:n_train + n_valid + n_test]}


def _write(out_dir: str | Path, sets: dict[str, list[ImageSet]]) -> Paths:
    paths: Paths = {}
    for split, split_sets in sets.items():
        for s in split_sets:
            path = imageset_path(out_dir, split, s.domain)
            s.save(path)
            paths.setdefault(split, {})[s.domain] = path
    return paths
