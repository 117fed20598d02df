"""Translate a data dir's split with a trained image model: one image set per direction.

``OUT/<source>_to_<target>.npz`` holds the translations of ``<split>/<source>.npz`` into
``target``, with the source images' labels (content must survive translation) and, for a
two-domain model on a paired test set, the true translations as ``targets``.
``OUT/translations.json`` lists them with the model, checkpoint, data dir and split, so
evaluation and the report need only this directory.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from vc.device import resolve_device
from vc.errors import DataError
from vc.image.experiment import TrainedImageModel, is_multi_domain
from vc.image.imageset import ImageSet, imageset_path, to_uint8
from vc.utils import atomic_write_text

MANIFEST = "translations.json"


@dataclass
class Direction:
    source: str
    target: str
    file: str  # relative to the manifest's directory


@dataclass
class Translations:
    model: str  # the experiment dir
    checkpoint: str
    step: int
    using_ema: bool
    data: str  # the data dir the sources come from
    split: str
    domains: list[str]  # the model's
    directions: list[Direction]

    def path(self, directory: str | Path, direction: Direction) -> Path:
        return Path(directory) / direction.file

    @classmethod
    def read(cls, directory: str | Path) -> Translations:
        path = Path(directory) / MANIFEST
        if not path.is_file():
            raise DataError(f"{path}: not found (translate with 'vc image translate' first)")
        try:
            raw = json.loads(path.read_text())
            raw["directions"] = [Direction(**d) for d in raw["directions"]]
            return cls(**raw)
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"{path}: not a translation manifest ({type(e).__name__}: {e})") from None


def directions(trained: TrainedImageModel) -> list[tuple[str, str]]:
    """(source, target) pairs: both ways for a pair model, every ordered pair for a multi-domain one."""
    return [(s, t) for s in trained.domains for t in trained.domains if s != t]


def translate_split(trained: TrainedImageModel, data: str | Path, split: str, out: str | Path,
                    device: str | torch.device = "auto", batch_size: int = 64) -> Translations:
    """Translate ``data/<split>/<domain>.npz`` of each of the model's domains into every other domain."""
    device = resolve_device(device)
    model = trained.model.to(device).eval()
    out = Path(out)
    done = []
    for source, target in directions(trained):
        images = ImageSet.load(imageset_path(data, split, source))
        if images.shape != trained.shape:
            raise DataError(f"{imageset_path(data, split, source)}: {list(images.shape)} images, but the model "
                            f"translates {list(trained.shape)} images")
        translated = np.concatenate([
            to_uint8(_translate(model, trained, source, target, batch.to(device)))
            for batch in images.tensors().split(batch_size)])
        # A paired set's targets are the translation into the one other domain of a pair model.
        targets = images.targets if len(trained.domains) == 2 else None
        direction = Direction(source, target, f"{source}_to_{target}.npz")
        ImageSet(translated, images.labels, target, targets).save(out / direction.file)
        done.append(direction)
    translations = Translations(str(trained.exp), str(trained.checkpoint), trained.step,
                                trained.using_ema, str(data), split, trained.domains, done)
    atomic_write_text(out / MANIFEST, json.dumps(asdict(translations), indent=2) + "\n")
    return translations


@torch.no_grad()
def _translate(model: torch.nn.Module, trained: TrainedImageModel, source: str, target: str,
               images: torch.Tensor) -> torch.Tensor:
    if is_multi_domain(trained.config.model):
        label = torch.full((len(images),), trained.domains.index(target), dtype=torch.long, device=images.device)
        return model.translate(images, label)
    return model.translate(images, "xy" if source == trained.domains[0] else "yx")
