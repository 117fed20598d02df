"""A trained phone recogniser experiment, read as the content model of a conversion experiment.

``content_model: exp/phones`` in an experiment config (or ``vc train --content-model``)
names it; the experiment builder copies its ``model_params`` into the conversion model's
``model_params.phonetic`` and its weights into the model, so the conversion checkpoint
carries the recogniser whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vc.audio.config import FeatureConfig
from vc.errors import ConfigError, DataError
from vc.train.checkpoint import latest_checkpoint, load_checkpoint

RECOGNIZER = "phone_recognizer"


@dataclass
class ContentModel:
    params: dict[str, Any]  # the recogniser's model_params
    weights: dict[str, torch.Tensor]
    feature_config: FeatureConfig
    checkpoint: Path


def load_content_model(exp_dir: str | Path) -> ContentModel:
    """The latest checkpoint of a ``phone_recognizer`` experiment; anything else is a one-line error."""
    exp = Path(exp_dir)
    path = latest_checkpoint(exp / "checkpoints")
    if path is None:
        raise DataError(f"content_model: {exp}: no checkpoint (train the phone recogniser first)")
    state = load_checkpoint(path)
    config = state.get("config")
    if not isinstance(config, dict) or config.get("model") != RECOGNIZER:
        found = config.get("model") if isinstance(config, dict) else None
        raise ConfigError(f"content_model: {exp} holds model {found!r}, not a {RECOGNIZER}")
    try:
        feature_config = FeatureConfig.from_mapping(state["extra"]["feature_config"], f"{path}: feature_config")
        return ContentModel(dict(config["model_params"]), state["model"], feature_config, path)
    except (KeyError, TypeError):
        raise DataError(f"{path}: not a checkpoint written by 'vc train'") from None
