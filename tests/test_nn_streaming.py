"""Streaming layers and the causal CycleGAN-VC generator: blocks in, the offline output out."""

from __future__ import annotations

import pytest
import torch

from vc.errors import ConfigError
from vc.models.cyclegan_vc import CycleGANVC, CycleGANVCParams, Generator212
from vc.models.registry import build_network
from vc.nn.streaming import CausalConv, FrameNorm, FrameStream

SPLITS = {"one frame at a time": [1] * 23, "irregular, with empty pushes": [3, 0, 5, 1, 0, 14], "whole": [23]}
TINY = dict(channels=4, down_channels=[8, 8], residual_channels=16, residual_blocks=2, up_channels=[4, 4],
            first_kernel=[5, 9], kernel=5)


def _streamed(stream: FrameStream, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    outs, start = [], 0
    for n in sizes:
        outs.append(stream.push(x[..., start:start + n]))
        start += n
    tail = stream.flush()
    return torch.cat(outs + ([tail] if tail is not None else []), dim=-1)


@pytest.mark.parametrize("sizes", SPLITS.values(), ids=SPLITS.keys())
@pytest.mark.parametrize("lookahead", [0, 2])
def test_causal_generator_streams_its_offline_output(sizes: list[int], lookahead: int) -> None:
    model = CycleGANVC(20, CycleGANVCParams(generator={**TINY, "causal": True, "lookahead": lookahead,
                                                       "norm": "frame"})).eval()
    x = torch.randn(1, 20, 23)
    offline = model.convert(x, "yx")
    streamed = _streamed(model.frame_stream("yx"), x, sizes)
    assert streamed.shape == offline.shape
    torch.testing.assert_close(streamed, offline, atol=1e-5, rtol=1e-5)
    # The stream's own copy of the generator: the model's layers are still offline.
    assert not any(layer.streaming for layer in model.modules() if isinstance(layer, CausalConv))


@pytest.mark.parametrize("lookahead", [0, 1, 3])
def test_output_sees_exactly_lookahead_frames_ahead(lookahead: int) -> None:
    g = Generator212(20, **TINY, causal=True, lookahead=lookahead, norm="frame").eval()
    x = torch.randn(1, 20, 30)
    changed = x.clone()
    changed[..., 15:] += 1.0
    with torch.no_grad():
        a, b = g(x), g(changed)
    first_changed = int((a - b).abs().amax(dim=1)[0].nonzero()[0])
    assert first_changed == 15 - lookahead


def test_offline_generator_is_unchanged_by_the_streaming_options() -> None:
    torch.manual_seed(0)
    g = Generator212(20, **TINY).eval()
    assert not g.causal and g.lookahead == 0
    with torch.no_grad():
        y = g(torch.randn(2, 20, 17))
    assert y.shape == (2, 20, 17)  # strided in time, cropped back: any length goes through


def test_frame_norm_normalises_each_frame_alone() -> None:
    norm = FrameNorm(2, 3)
    x = torch.randn(2, 3, 5, 7)
    y = norm(x)
    torch.testing.assert_close(y[..., 4], norm(x[..., 4:5])[..., 0])
    assert y.mean(dim=(1, 2)).abs().max() < 1e-5 and (y.var(dim=(1, 2), correction=0) - 1).abs().max() < 1e-3


@pytest.mark.parametrize("options, message", [
    ({"causal": True}, "a causal generator needs norm: frame"),
    ({"lookahead": 2}, "lookahead is the causal generator's setting"),
    ({"causal": True, "norm": "frame", "lookahead": -1}, "lookahead: must be >= 0"),
])
def test_streaming_options_are_checked_in_one_line(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        build_network("generator", Generator212, 20, **TINY, **options)
    assert str(e.value).startswith("model_params.generator")


def test_a_non_causal_model_refuses_to_stream_naming_the_config() -> None:
    model = CycleGANVC(20, CycleGANVCParams(generator=TINY))
    with pytest.raises(ConfigError, match="cannot stream.*causal: true"):
        model.frame_stream("xy")


def test_causal_conv_cannot_stride_in_time() -> None:
    with pytest.raises(ValueError, match="cannot stride in time"):
        CausalConv(2, 1, 1, (3, 3), (1, 2))
