"""A trained experiment back from its directory: model with weights, feature config, stats.

What :class:`vc.convert.Converter` and trained vocoders load: ``exp/<name>/config.yaml`` and
a checkpoint (the latest unless one is named), checked against each other, with the EMA
weights of the model's EMA networks when the checkpoint has them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from vc.audio.config import FeatureConfig
from vc.audio.stats import FeatureStats, StatsStore
from vc.config import load_yaml
from vc.errors import ConfigError, DataError
from vc.models import build_model
from vc.train.checkpoint import latest_checkpoint, load_checkpoint
from vc.train.experiment import ExperimentConfig

C = TypeVar("C")  # an experiment config class with .model and .model_params


@dataclass
class TrainedExperiment:
    model: torch.nn.Module  # on CPU, weights loaded, in train mode as built
    config: ExperimentConfig  # as saved in the checkpoint
    feature_config: FeatureConfig
    stats: StatsStore
    speakers: list[str]
    checkpoint: Path
    step: int
    using_ema: bool


def load_trained(exp_dir: str | Path, checkpoint: str | Path | None = None, use_ema: bool = True) -> TrainedExperiment:
    """The model of ``exp_dir`` at its latest checkpoint (or ``checkpoint``)."""
    saved, path, state = open_experiment(exp_dir, checkpoint, ExperimentConfig.from_mapping)
    feature_config = FeatureConfig.from_mapping(checkpoint_extra(state, "feature_config", path),
                                                f"{path}: extra.feature_config")
    stats = StatsStore(feature_config, {
        name: FeatureStats(int(st["count"]), st["sum"].double().numpy(), st["sumsq"].double().numpy())
        for name, st in checkpoint_extra(state, "stats", path).items()})
    model = build_model(saved.model, feature_config.dim, saved.model_params, f"{path}: model_params")
    ema = load_weights(model, state, use_ema, path)
    return TrainedExperiment(model, saved, feature_config, stats, list(checkpoint_extra(state, "speakers", path)),
                             path, int(state["step"]), ema)


def open_experiment(exp_dir: str | Path, checkpoint: str | Path | None,
                    parse: Callable[[Any, str], C]) -> tuple[C, Path, dict[str, Any]]:
    """The experiment config saved in the checkpoint of ``exp_dir`` (its latest, or ``checkpoint``),
    parsed by ``parse(mapping, where)`` and checked against config.yaml; the checkpoint's path and state."""
    exp = Path(exp_dir)
    if not exp.is_dir():
        raise DataError(f"{exp}: experiment directory not found")
    config_path = exp / "config.yaml"
    if not config_path.is_file():
        raise DataError(f"{config_path}: not found (is {exp} an experiment directory written by 'vc train' "
                        "or 'vc image train'?)")
    path = Path(checkpoint) if checkpoint is not None else latest_checkpoint(exp / "checkpoints")
    if path is None:
        raise DataError(f"{exp / 'checkpoints'}: no checkpoint (train the experiment first)")
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found")
    state = load_checkpoint(path)
    config = _experiment_config(load_yaml(config_path), str(config_path), parse)
    saved = _experiment_config(state.get("config"), f"{path}: config", parse)
    if config.model != saved.model:
        raise ConfigError(f"checkpoint {path} is of a {saved.model!r} model, but {exp} trains {config.model!r} "
                          f"({config_path}): a checkpoint of another experiment?")
    if config.model_params != saved.model_params:
        raise ConfigError(f"{config_path} describes model {config.model!r} with other model_params than "
                          f"checkpoint {path}: the config was edited after training, or the checkpoint is "
                          "another experiment's")
    return saved, path, state


def _experiment_config(raw: Any, where: str, parse: Callable[[Any, str], C]) -> C:
    """The experiment config as saved (config.yaml or a checkpoint's ``config``)."""
    if not isinstance(raw, dict):
        raise DataError(f"{where}: no experiment config saved")
    return parse(raw, where)


def checkpoint_extra(state: dict[str, Any], key: str, path: Path) -> Any:
    """``extra[key]`` of a checkpoint (what the experiment builder saved beside the weights)."""
    try:
        return state["extra"][key]
    except (KeyError, TypeError):
        raise DataError(f"{path}: checkpoint lacks extra.{key} (not written by 'vc train')") from None


def load_weights(model: torch.nn.Module, state: dict[str, Any], use_ema: bool, path: Path) -> bool:
    """Load the checkpoint's weights, then the EMA shadows over their networks; True when EMA was used."""
    ema = (state.get("ema") or {}) if use_ema else {}
    try:
        model.load_state_dict(state["model"])
        for name, weights in ema.items():
            getattr(model, name).load_state_dict(weights)
    except (KeyError, RuntimeError, AttributeError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(f"{path}: weights do not fit the model ({reason})") from None
    return bool(ema)
