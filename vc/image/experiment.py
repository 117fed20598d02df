"""One image experiment YAML -> model, loaders and trainer (what `vc image train` runs),
and a trained image experiment back from its directory.

```yaml
model: image_cyclegan       # an image model's registry name
model_params: {...}         # typed by the model's Params; image_size (and num_domains) default to the data's
data:
  root: data                # <root>/<split>/<domain>.npz (overridable on the command line)
  domains: [fashion, edges] # two-domain models: [x, y]; image_stargan: its domains (default: every train set)
  size: 32                  # optional: the image size the data must have
train: {...}                # vc.train.config.TrainConfig
```
The domains, image size and channels travel in every checkpoint (``extra``), so translation
needs nothing but the experiment directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from vc.version import __version__
from vc.config import to_dict
from vc.errors import ConfigError, DataError
from vc.image.imageset import ImageSet, imageset_path
from vc.image.loader import MultiDomainImageLoader, UnpairedImageLoader
from vc.models import MODELS, build_model
from vc.train.checkpoint import seed_everything
from vc.train.config import TrainConfig
from vc.train.experiment import ConfigFile
from vc.train.restore import checkpoint_extra, load_weights, open_experiment
from vc.train.trainer import Trainer

# What an image model's data_layout says its batches hold: {"x", "y"} of two domains, or
# {"image", "domain"} of N domains.
PAIR_LAYOUT, MULTI_LAYOUT = "image_unpaired", "image_multi"


@dataclass
class ImageDataConfig:
    root: str | None = None
    domains: list[str] = field(default_factory=list)
    size: int | None = None  # None: whatever size the data has


@dataclass
class ImageExperimentConfig(ConfigFile):
    model: str
    train: TrainConfig
    model_params: dict[str, Any] = field(default_factory=dict)
    data: ImageDataConfig = field(default_factory=ImageDataConfig)

    @classmethod
    def from_mapping(cls, raw: Any, where: str) -> ImageExperimentConfig:
        model = raw.get("model") if isinstance(raw, dict) else None
        image_models = sorted(name for name, cls in MODELS.items()
                              if getattr(cls, "data_layout", None) in (PAIR_LAYOUT, MULTI_LAYOUT))
        if isinstance(raw, dict) and model not in image_models:  # first: an audio config would fail on its data keys
            raise ConfigError(f"{where}: model: {model!r} is not an image model (available: {', '.join(image_models)})")
        return cls.parse(raw, where)


def is_multi_domain(model: str) -> bool:
    """Whether the model translates among N domains (one generator, a target label) rather than one pair."""
    return MODELS[model].data_layout == MULTI_LAYOUT


def build_image_trainer(config: ImageExperimentConfig, exp_dir: str | Path, device: str = "auto") -> Trainer:
    """Load the data's train and valid sets, build the model and loaders, and return the trainer."""
    data = config.data
    if not data.root:
        raise ConfigError("data.root: no data directory given (set it in the config or pass --data)")
    domains = _domains(config)
    train_sets = [ImageSet.load(imageset_path(data.root, "train", d)) for d in domains]
    valid_paths = [imageset_path(data.root, "valid", d) for d in domains]
    valid_sets = [ImageSet.load(p) for p in valid_paths] if any(p.exists() for p in valid_paths) else None
    channels, size, _ = train_sets[0].shape
    for s in train_sets + (valid_sets or []):
        if s.shape != train_sets[0].shape:
            raise DataError(f"{data.root}: domain {s.domain!r} has {list(s.shape)} images, "
                            f"{domains[0]!r} {list(train_sets[0].shape)}; every domain needs one shape")
    if data.size is not None and data.size != size:
        raise ConfigError(f"data.size: {data.size}, but {data.root} holds {size}x{size} images")
    config = replace(config, model_params=_filled_params(config, size, len(domains)))
    seed_everything(config.train.seed)  # the initial weights, too, follow from the seed
    model = build_model(config.model, channels, config.model_params)
    train = _loader(config, train_sets, config.train.seed)
    valid = (_loader(config, valid_sets, config.train.seed + 1).fixed_batches(config.train.eval_batches)
             if valid_sets else None)
    extra = {"domains": domains, "image_size": size, "channels": channels}
    experiment = {"vc_version": __version__, **to_dict(config)}
    return Trainer(model, config.train, exp_dir, train, valid, device=device, experiment_config=experiment,
                   extra=extra, description=model.describe(None))


def _domains(config: ImageExperimentConfig) -> list[str]:
    data = config.data
    found = sorted(p.stem for p in (Path(data.root) / "train").glob("*.npz"))
    if not found:
        raise DataError(f"{Path(data.root) / 'train'}: no image sets (run 'vc image data' first)")
    domains = list(data.domains) or (found if is_multi_domain(config.model) else [])
    if is_multi_domain(config.model):
        if len(domains) < 2:
            raise ConfigError(f"data.domains: {config.model} needs 2 or more domains, got {domains}")
    elif len(domains) != 2:
        raise ConfigError(f"data.domains: {config.model} translates one pair; give [x, y] "
                          f"(the data has: {', '.join(found)})")
    unknown = [d for d in domains if d not in found]
    if unknown:
        raise ConfigError(f"data.domains: unknown domain {unknown[0]!r} (the data has: {', '.join(found)})")
    if len(set(domains)) != len(domains):
        raise ConfigError(f"data.domains: a domain is given twice: {domains}")
    return domains


def _filled_params(config: ImageExperimentConfig, size: int, n_domains: int) -> dict[str, Any]:
    """model_params with image_size (and num_domains) from the data; given ones must agree with it."""
    params = dict(config.model_params)
    implied = {"image_size": size}
    if is_multi_domain(config.model):
        implied["num_domains"] = n_domains
    for key, value in implied.items():
        if params.setdefault(key, value) != value:
            raise ConfigError(f"model_params.{key}: {params[key]}, but the data gives {value}")
    return params


def _loader(config: ImageExperimentConfig, sets: list[ImageSet], seed: int):
    batch_size = config.train.batch_size
    if is_multi_domain(config.model):
        return MultiDomainImageLoader(sets, batch_size, seed)
    return UnpairedImageLoader(sets[0], sets[1], batch_size, seed)


@dataclass
class TrainedImageModel:
    exp: Path  # the experiment directory
    model: torch.nn.Module  # on CPU, weights loaded, in train mode as built
    config: ImageExperimentConfig  # as saved in the checkpoint
    domains: list[str]  # two-domain models: [x, y]; multi-domain: in label order
    shape: tuple[int, int, int]  # [C, H, W] of the images it translates
    checkpoint: Path
    step: int
    using_ema: bool


def load_trained_image_model(exp_dir: str | Path, checkpoint: str | Path | None = None,
                             use_ema: bool = True) -> TrainedImageModel:
    """The model of ``exp_dir`` at its latest checkpoint (or ``checkpoint``), with its EMA weights
    when the checkpoint has them and ``use_ema``."""
    saved, path, state = open_experiment(exp_dir, checkpoint, ImageExperimentConfig.from_mapping)
    domains = [str(d) for d in checkpoint_extra(state, "domains", path)]
    size, channels = int(checkpoint_extra(state, "image_size", path)), int(checkpoint_extra(state, "channels", path))
    model = build_model(saved.model, channels, saved.model_params, f"{path}: model_params")
    ema = load_weights(model, state, use_ema, path)
    return TrainedImageModel(Path(exp_dir), model, saved, domains, (channels, size, size), path, int(state["step"]),
                             ema)
