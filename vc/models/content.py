"""The phonetic content path every conversion model can use: a trained phone recogniser, frozen.

``model_params.phonetic`` holds the recogniser's own ``model_params`` (the experiment
builder copies them from the ``content_model`` experiment, with its weights), so a
conversion checkpoint carries its recogniser and converts without that experiment.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vc.config import from_dict
from vc.models.phone_recognizer import PhoneRecognizerParams, build_phone_net


class PhoneticContent(nn.Module):
    """Features [B, dim, T] -> the recogniser's bottleneck [B, dim_out, T]; weights frozen, always in
    inference mode (no dropout), gradients still flow to the input (content losses need them)."""

    def __init__(self, dim: int, params: dict[str, Any]) -> None:
        super().__init__()
        self.net = build_phone_net(dim, from_dict(PhoneRecognizerParams, params, "model_params.phonetic"), "phonetic")
        self.requires_grad_(False)
        self.eval()
        self.dim_out = self.net.bottleneck.out_channels

    def train(self, mode: bool = True) -> PhoneticContent:
        return super().train(False)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.net.features(feats.float())

    def load_recognizer(self, state: dict[str, torch.Tensor]) -> None:
        """Take the weights of a trained ``phone_recognizer``'s state dict (its ``net.*`` entries)."""
        self.net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})

    def loss(self, converted: torch.Tensor, source: torch.Tensor | None = None,
             source_content: torch.Tensor | None = None) -> torch.Tensor:
        """L1 between the bottlenecks of converted features and of their source (detached). A
        caller that already ran the recogniser on the source passes that ``source_content``."""
        if source_content is None:
            if source is None:
                raise ValueError("PhoneticContent.loss: give the source features or their content")
            with torch.no_grad():
                source_content = self(source)
        return F.l1_loss(self(converted), source_content.detach())


def build_phonetic(dim: int, params: dict[str, Any]) -> PhoneticContent | None:
    """The frozen recogniser a model's ``phonetic`` params describe, or None when they are empty."""
    return PhoneticContent(dim, params) if params else None
