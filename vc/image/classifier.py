"""Small CNN classifiers that score translations: which domain an image looks like, and
which content class (digit, garment) it shows.

Both are trained here, never by the translation models, so a model cannot learn to please
them: the domain classifier on the *valid* split's real images of every domain (held out
from the models' training), the content classifier on the target domain's training images
only (so it knows the classes only as the target domain draws them). Training is seeded,
CPU-fast (a few hundred steps of a three-layer CNN) and cached: a saved classifier's file
is named by a fingerprint of its training images and settings, so a change retrains it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vc.errors import DataError
from vc.image.imageset import ImageSet, to_float
from vc.utils import atomic_path

STEPS = 500
BATCH_SIZE = 64
LR = 1e-3
WIDTH = 16  # channels of the first conv; doubled at each of the three stride-2 convs
MAX_SHIFT = 2  # pixels of random translation while training: translations are rarely pixel-exact
_FORMAT = "vc-image-classifier-1"


class SmallCNN(nn.Module):
    """Three stride-2 3x3 convs, pooled to 4x4, then one linear layer: any size >= 8 pixels."""

    def __init__(self, channels: int, classes: int, width: int = WIDTH) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.Conv2d(channels if i == 0 else width << (i - 1), width << i, 3, 2, 1), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Linear((width << 2) * 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class ImageClassifier:
    kind: str  # "domain" or "content"
    classes: list[str]  # output index -> name (a domain, or a content label as text)
    shape: tuple[int, int, int]  # [C, H, W] of the images it takes
    fingerprint: str  # its training images and settings: the cache key
    net: SmallCNN

    @torch.no_grad()
    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Class index per uint8 [N, C, H, W] image."""
        if tuple(images.shape[1:]) != self.shape:
            raise DataError(f"{self.kind} classifier: takes {list(self.shape)} images, got {list(images.shape[1:])}")
        self.net.eval()
        out = [self.net(to_float(images[i:i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)

    def save(self, path: str | Path) -> None:
        state = {"format": _FORMAT, "kind": self.kind, "classes": self.classes, "shape": list(self.shape),
                 "fingerprint": self.fingerprint, "state": self.net.state_dict()}
        with atomic_path(path) as tmp:
            torch.save(state, tmp)

    @classmethod
    def load(cls, path: str | Path) -> ImageClassifier:
        path = Path(path)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or state.get("format") != _FORMAT:
                raise ValueError("no classifier format tag")
            net = SmallCNN(state["shape"][0], len(state["classes"]))
            net.load_state_dict(state["state"])
        except Exception as e:  # unreadable file, foreign pickle, wrong keys or sizes: all one error
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
            raise DataError(f"{path}: not a readable image classifier ({reason})") from None
        return cls(state["kind"], list(state["classes"]), tuple(state["shape"]), state["fingerprint"], net)


def domain_classifier(sets: list[ImageSet], seed: int, steps: int = STEPS,
                      cache_dir: str | Path | None = None) -> ImageClassifier:
    """Which of the sets' domains an image comes from; train it on held-out (valid split) sets."""
    images = np.concatenate([s.images for s in sets])
    labels = np.concatenate([np.full(len(s), i, dtype=np.int64) for i, s in enumerate(sets)])
    return _cached("domain", [s.domain for s in sets], images, labels, seed, steps, cache_dir)


def content_classifier(target: ImageSet, seed: int, steps: int = STEPS,
                       cache_dir: str | Path | None = None) -> ImageClassifier:
    """The content label of an image, as learnt from the target domain's images alone."""
    classes = [str(c) for c in range(int(target.labels.max()) + 1)]
    return _cached("content", classes, target.images, target.labels, seed, steps, cache_dir)


def _cached(kind: str, classes: list[str], images: np.ndarray, labels: np.ndarray, seed: int, steps: int,
            cache_dir: str | Path | None) -> ImageClassifier:
    """The classifier saved in ``cache_dir`` for these images and settings (its file is named by
    their fingerprint), else a freshly trained one, saved there."""
    fingerprint = _fingerprint(kind, classes, images, labels, seed, steps)
    cache = Path(cache_dir) / f"{kind}_{fingerprint[:16]}.pt" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        saved = ImageClassifier.load(cache)
        if saved.fingerprint == fingerprint:
            return saved
    net = _train(images, labels, len(classes), seed, steps)
    classifier = ImageClassifier(kind, classes, tuple(images.shape[1:]), fingerprint, net)
    if cache is not None:
        classifier.save(cache)
    return classifier


def _fingerprint(kind: str, classes: list[str], images: np.ndarray, labels: np.ndarray, seed: int,
                 steps: int) -> str:
    settings = f"{_FORMAT} {kind} {classes} {images.shape} {seed} {steps} {BATCH_SIZE} {LR} {WIDTH} {MAX_SHIFT}"
    h = hashlib.sha1(settings.encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return h.hexdigest()


def _train(images: np.ndarray, labels: np.ndarray, n_classes: int, seed: int, steps: int) -> SmallCNN:
    if len(images) == 0:
        raise DataError("cannot train a classifier on no images")
    x, y = to_float(images), torch.from_numpy(labels.astype(np.int64))
    # Class-balanced draws: a domain or class with fewer images must not become the default answer.
    counts = torch.bincount(y, minlength=n_classes).float()
    weights = 1.0 / counts[y]
    with torch.random.fork_rng(devices=[]):  # seeded on its own stream: the caller's RNG is untouched
        torch.manual_seed(seed)
        net = SmallCNN(x.shape[1], n_classes)
        optimizer = torch.optim.Adam(net.parameters(), lr=LR)
        for _ in range(steps):
            index = torch.multinomial(weights, BATCH_SIZE, replacement=True)
            loss = nn.functional.cross_entropy(net(_shift(x[index])), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval()


def _shift(x: torch.Tensor) -> torch.Tensor:
    """Each image moved by up to MAX_SHIFT pixels each way, edges replicated into the gap."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (MAX_SHIFT,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * MAX_SHIFT + 1, (2, n)).tolist()
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
