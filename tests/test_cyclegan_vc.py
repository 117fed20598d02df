"""CycleGAN-VC2 / MaskCycleGAN-VC networks: shapes at several sizes, gradients, masking."""

from __future__ import annotations

import pytest
import torch

from vc.errors import ConfigError
from vc.models import build_model
from vc.models.cyclegan_vc import CycleGANVC, CycleGANVCParams, Generator212

TINY = {"channels": 8, "down_channels": [16, 16], "residual_channels": 16, "residual_blocks": 2,
        "up_channels": [8, 4], "first_kernel": [3, 5], "kernel": 3}
TINY_D = {"channels": [8, 16], "final_kernel": [1, 3]}


@pytest.mark.parametrize("dim", [80, 36, 25])
@pytest.mark.parametrize("frames", [63, 64, 65, 101])
def test_generator_keeps_shape(dim: int, frames: int) -> None:
    g = Generator212(dim, **{**TINY, "first_kernel": (3, 5)})
    x = torch.randn(2, dim, frames)
    assert g(x).shape == (2, dim, frames)
    assert g(x, torch.zeros_like(x)).shape == (2, dim, frames)


def test_generator_gradients_reach_every_parameter() -> None:
    g = Generator212(36, **{**TINY, "first_kernel": (3, 5)})
    g(torch.randn(1, 36, 33)).square().mean().backward()
    dead = [n for n, p in g.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert dead == []


def test_paper_size_matches_the_anchor() -> None:
    # ANCHORS.md: MaskCycleGAN-VC's generator has 24.5 M parameters at 80 mels.
    params = sum(p.numel() for p in Generator212(80).parameters())
    assert abs(params - 24.5e6) / 24.5e6 < 0.05, params


def test_mask_hides_a_span_of_bounded_length() -> None:
    model = CycleGANVC(16, CycleGANVCParams(generator={**TINY, "first_kernel": (3, 5)}, discriminator=TINY_D,
                                           max_mask_frames=10))
    feats = torch.randn(64, 16, 40)
    mask = model.random_mask(feats)
    hidden = (mask[:, 0, :] == 0).sum(1)
    assert hidden.max() <= 10 and hidden.float().mean() > 2
    assert torch.equal(mask, mask[:, :1, :].expand_as(mask))  # whole frames are hidden
    for row in mask[:, 0, :]:
        zeros = torch.nonzero(row == 0).flatten()
        if len(zeros):
            assert zeros[-1] - zeros[0] + 1 == len(zeros)  # one contiguous span


def test_build_by_name_with_typed_params() -> None:
    model = build_model("cyclegan_vc", 20, {"generator": {**TINY}, "discriminator": TINY_D, "two_step": False})
    assert isinstance(model, CycleGANVC) and not hasattr(model, "d2_x")
    assert set(model.optimizer_groups()) == {"generator", "discriminator"}
    with pytest.raises(ConfigError, match=r"model_params.lambda_cycel: unknown key"):
        build_model("cyclegan_vc", 20, {"lambda_cycel": 1})
    with pytest.raises(ConfigError, match=r"unknown model 'cyclegan' \(available: cyclegan_vc"):
        build_model("cyclegan", 20)
