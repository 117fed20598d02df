"""vc.nn: shapes at odd and even sizes, live parameters, conditioning, exact GAN losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vc.nn import (
    GLU,
    ConditionalInstanceNorm,
    GANLoss,
    GatedConv1d,
    GatedConv2d,
    GatedUpsample1d,
    GatedUpsample2d,
    PatchGAN2d,
    PixelShuffle1d,
    ResidualBlock1d,
    gradient_penalty,
)

LENGTHS = (63, 64, 65, 101)
MAPS = ((80, 64), (36, 63), (25, 65), (36, 101))  # mel 80 / 36 bins, MCEP order 25 x frames
SMALL = (4, 8, 16)  # PatchGAN channels small enough for a fast test


def assert_all_params_live(module: nn.Module, *inputs: torch.Tensor) -> None:
    """Every parameter gets a non-zero gradient from a random projection of the outputs."""
    out = module(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    sum(torch.randn_like(o).mul(o).sum() for o in outs).backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert p.grad.abs().sum() > 0, f"{name} got a zero gradient"


def test_glu_gates_second_half() -> None:
    x = torch.randn(2, 6, 5)
    torch.testing.assert_close(GLU()(x), x[:, :3] * torch.sigmoid(x[:, 3:]))


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("norm", ["instance", "none"])
def test_gated_conv1d_shapes(length: int, norm: str) -> None:
    x = torch.randn(2, 5, length)
    assert GatedConv1d(5, 7, 5, norm=norm)(x).shape == (2, 7, length)
    assert GatedConv1d(5, 7, 5, stride=2, norm=norm)(x).shape == (2, 7, math.ceil(length / 2))


@pytest.mark.parametrize("size", MAPS)
def test_gated_conv2d_shapes(size: tuple[int, int]) -> None:
    h, w = size
    x = torch.randn(2, 1, h, w)
    assert GatedConv2d(1, 4, (5, 15))(x).shape == (2, 4, h, w)
    assert GatedConv2d(1, 4, 5, stride=2)(x).shape == (2, 4, math.ceil(h / 2), math.ceil(w / 2))
    assert GatedConv2d(1, 4, (3, 5), stride=(1, 2))(x).shape == (2, 4, h, math.ceil(w / 2))


def test_bad_shapes_of_arguments() -> None:
    with pytest.raises(ValueError, match="2 values"):
        GatedConv2d(1, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="dims"):
        ConditionalInstanceNorm(4, 2, dims=3)
    with pytest.raises(ValueError, match="unknown norm"):
        GatedConv1d(1, 4, 3, norm="batch")


def test_pixel_shuffle1d_interleaves_channels() -> None:
    x = torch.tensor([[[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]])
    torch.testing.assert_close(PixelShuffle1d(2)(x), torch.tensor([[[0.0, 10.0, 1.0, 11.0, 2.0, 12.0]]]))
    assert PixelShuffle1d(3)(torch.randn(2, 12, 65)).shape == (2, 4, 195)
    with pytest.raises(ValueError, match="divisible"):
        PixelShuffle1d(2)(torch.randn(1, 3, 4))


@pytest.mark.parametrize("length", LENGTHS)
def test_gated_upsample1d_shapes(length: int) -> None:
    x = torch.randn(2, 8, length)
    assert GatedUpsample1d(8, 6, 5)(x).shape == (2, 6, 2 * length)
    assert GatedUpsample1d(8, 6, 5, factor=3, norm="none")(x).shape == (2, 6, 3 * length)


@pytest.mark.parametrize("size", [(9, 33), (10, 16), (7, 25)])
def test_gated_upsample2d_shapes(size: tuple[int, int]) -> None:
    h, w = size
    x = torch.randn(2, 8, h, w)
    assert GatedUpsample2d(8, 6, 5)(x).shape == (2, 6, 2 * h, 2 * w)
    assert GatedUpsample2d(8, 6, (3, 5), factor=3)(x).shape == (2, 6, 3 * h, 3 * w)


@pytest.mark.parametrize("length", LENGTHS)
def test_residual_block1d_keeps_shape(length: int) -> None:
    x, c = torch.randn(2, 6, length), torch.randn(2, 4)
    assert ResidualBlock1d(6, 3)(x).shape == x.shape
    assert ResidualBlock1d(6, 5, norm="cin", cond_dim=4)(x, c).shape == x.shape
    wide = ResidualBlock1d(6, hidden_channels=12)
    assert wide(x).shape == x.shape
    assert wide.conv1.out_channels == 24 and wide.conv2.in_channels == 12


def test_residual_block1d_condition_errors() -> None:
    x, c = torch.randn(1, 6, 9), torch.randn(1, 4)
    with pytest.raises(ValueError, match="cond_dim"):
        ResidualBlock1d(6, norm="cin")
    with pytest.raises(ValueError, match="condition"):
        ResidualBlock1d(6, norm="cin", cond_dim=4)(x)
    with pytest.raises(ValueError, match="condition"):
        ResidualBlock1d(6)(x, c)
    with pytest.raises(ValueError, match="unknown norm"):
        ResidualBlock1d(6, norm="batch")


@pytest.mark.parametrize("dims", [1, 2])
def test_cin_uses_its_condition(dims: int) -> None:
    cin = ConditionalInstanceNorm(3, 5, dims=dims)
    x = torch.randn(1, 3, *(7,) * dims).expand(2, *(-1,) * (dims + 1))  # one input, twice
    one_hot = torch.eye(5)[[1, 3]]  # two different speakers
    y = cin(x, one_hot)
    assert y.shape == x.shape
    assert not torch.allclose(y[0], y[1])
    torch.testing.assert_close(cin(x, one_hot[[0, 0]])[1], y[0])
    # Per condition, the output is a scaled and shifted instance norm of the input.
    gamma, beta = cin.affine(one_hot).chunk(2, dim=1)
    shape = (2, 3, *(1,) * dims)
    norm = F.instance_norm(x)
    torch.testing.assert_close(y, norm * (1 + gamma.view(shape)) + beta.view(shape))


@pytest.mark.parametrize("size", MAPS)
def test_patchgan_shapes(size: tuple[int, int]) -> None:
    h, w = size
    d = PatchGAN2d(channels=SMALL)
    assert d(torch.randn(2, 1, h, w)).shape == (2, 1, math.ceil(h / 4), math.ceil(w / 4))


def test_patchgan_class_head_any_length() -> None:
    d = PatchGAN2d(in_channels=2, channels=SMALL, num_classes=5)
    for w in (63, 101):
        patches, classes = d(torch.randn(3, 2, 36, w))
        assert patches.shape == (3, 1, 9, math.ceil(w / 4))
        assert classes.shape == (3, 5)


def test_patchgan_default_config() -> None:
    d = PatchGAN2d()
    assert d(torch.randn(1, 1, 25, 17)).shape == (1, 1, 4, 3)
    # 3x3 s1, three 3x3 s2, then (1,5) and (1,3) at stride 8: 17 rows, 49 + 16 = 65 frames.
    assert d.receptive_field() == (17, 65)


def test_patchgan_needs_channels() -> None:
    with pytest.raises(ValueError, match="channels"):
        PatchGAN2d(channels=())


# Built inside the test, after the seed fixture, so initialisation does not depend on order.
LIVE_CASES = {
    "gated1d": (lambda: GatedConv1d(3, 4, 5), [(2, 3, 65)]),
    "gated1d-stride2-nonorm": (lambda: GatedConv1d(3, 4, 5, stride=2, norm="none"), [(2, 3, 64)]),
    "gated2d": (lambda: GatedConv2d(1, 4, (5, 15)), [(2, 1, 25, 63)]),
    "upsample1d": (lambda: GatedUpsample1d(4, 3, 5), [(2, 4, 33)]),
    "upsample2d-nonorm": (lambda: GatedUpsample2d(4, 3, 5, norm="none"), [(2, 4, 9, 17)]),
    "residual-instance": (lambda: ResidualBlock1d(4), [(2, 4, 63)]),
    "residual-none-wide": (lambda: ResidualBlock1d(4, norm="none", hidden_channels=8), [(2, 4, 63)]),
    "residual-cin": (lambda: ResidualBlock1d(4, norm="cin", cond_dim=6), [(2, 4, 63), (2, 6)]),
    "cin2d": (lambda: ConditionalInstanceNorm(4, 6, dims=2), [(2, 4, 9, 17), (2, 6)]),
    "patchgan": (lambda: PatchGAN2d(channels=SMALL), [(2, 1, 36, 65)]),
    "patchgan-classes": (lambda: PatchGAN2d(channels=SMALL, num_classes=3), [(2, 1, 25, 63)]),
}


@pytest.mark.parametrize("case", LIVE_CASES)
def test_no_dead_parameters(case: str) -> None:
    build, shapes = LIVE_CASES[case]
    assert_all_params_live(build(), *(torch.randn(s) for s in shapes))


def test_blocks_follow_dtype() -> None:
    d = PatchGAN2d(channels=SMALL, num_classes=2).double()
    patches, classes = d(torch.randn(1, 1, 25, 33, dtype=torch.float64))
    assert patches.dtype == classes.dtype == torch.float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = GANLoss("ns").generator(PatchGAN2d(channels=SMALL)(torch.randn(1, 1, 25, 33)))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


REAL, FAKE = torch.tensor([0.5, 2.0]), torch.tensor([0.5, -1.0])


@pytest.mark.parametrize(
    ("kind", "d_loss", "g_loss"),
    [
        # D: mean(r-1)^2 + mean(f^2) = 0.625 + 0.625; G: mean((f-1)^2) = (0.25 + 4) / 2
        ("lsgan", 1.25, 2.125),
        # D: mean(relu(1-r)) + mean(relu(1+f)) = 0.25 + 0.75; G: -mean(f)
        ("hinge", 1.0, 0.25),
        # D: -mean(r) + mean(f) = -1.25 - 0.25; G: -mean(f)
        ("wgan", -1.5, 0.25),
        # D: mean(softplus(-r)) + mean(softplus(f)); G: mean(softplus(-f))
        ("ns", (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(-2.0))
                + math.log1p(math.exp(0.5)) + math.log1p(math.exp(-1.0))) / 2,
         (math.log1p(math.exp(-0.5)) + math.log1p(math.exp(1.0))) / 2),
    ],
)
def test_gan_loss_values(kind: str, d_loss: float, g_loss: float) -> None:
    loss = GANLoss(kind)
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d_loss)
    assert loss.generator(FAKE).item() == pytest.approx(g_loss)


def test_gan_loss_ideal_cases() -> None:
    ones, zeros = torch.ones(2, 1, 3, 4), torch.zeros(2, 1, 3, 4)
    assert GANLoss("lsgan").discriminator(ones, zeros).item() == 0.0
    assert GANLoss("lsgan").generator(ones).item() == 0.0
    assert GANLoss("hinge").discriminator(ones, -ones).item() == 0.0
    assert GANLoss("ns").discriminator(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    # ns is binary cross-entropy with logits, real labelled 1 and fake 0.
    bce = F.binary_cross_entropy_with_logits
    expected = bce(REAL, torch.ones(2)) + bce(FAKE, torch.zeros(2))
    torch.testing.assert_close(GANLoss("ns").discriminator(REAL, FAKE), expected)


def test_gan_loss_multiscale_averages_scales() -> None:
    # Per-scale means (1 and 0) averaged, not the mean over all four elements (0.25).
    scales = [torch.zeros(1), torch.ones(3)]
    assert GANLoss("lsgan").generator(scales).item() == pytest.approx(0.5)
    # Real scales give (r-1)^2 means 0 and 1, fake scales f^2 means 0 and 1: 0.5 + 0.5.
    assert GANLoss("lsgan").discriminator((torch.ones(2), torch.zeros(5)), scales).item() == pytest.approx(1.0)


def test_gan_loss_unknown_kind() -> None:
    with pytest.raises(ValueError, match="lsgan.*hinge.*ns.*wgan"):
        GANLoss("vanilla")


class _Linear(nn.Module):
    """D(x) = <w, x> + b: its input gradient has norm ||w|| everywhere."""

    def __init__(self, scale: float, as_tuple: bool = False) -> None:
        super().__init__()
        self.fc = nn.Linear(20, 1)
        with torch.no_grad():
            self.fc.weight.mul_(scale / self.fc.weight.norm())
        self.as_tuple = as_tuple

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        out = self.fc(x.flatten(1))
        return (out, torch.zeros(x.shape[0], 3)) if self.as_tuple else out


def test_gradient_penalty_zero_for_unit_gradient() -> None:
    real, fake = torch.randn(4, 1, 4, 5), torch.randn(4, 1, 4, 5)
    assert gradient_penalty(_Linear(1.0), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(_Linear(1.0, as_tuple=True), real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_positive_and_trains_discriminator() -> None:
    real, fake = torch.randn(4, 1, 4, 5), torch.randn(4, 1, 4, 5)
    d = _Linear(2.0, as_tuple=True)
    gp = gradient_penalty(d, real, fake, weight=3.0)
    assert gp.item() == pytest.approx(3.0 * (2.0 - 1.0) ** 2, rel=1e-5)
    gp.backward()
    assert d.fc.weight.grad is not None and d.fc.weight.grad.abs().sum() > 0
    patch = PatchGAN2d(channels=SMALL, num_classes=2)
    gp = gradient_penalty(patch, torch.randn(2, 1, 25, 33), torch.randn(2, 1, 25, 33))
    assert gp.item() > 0 and torch.isfinite(gp)


# ---- WaveNet blocks and the upsampler ----------------------------------------------------------

@pytest.mark.parametrize("scale", [1, 2, 3, 4, 5])
def test_frame_upsample_is_the_depthwise_transposed_conv(scale: int) -> None:
    from vc.nn.wavenet import FrameUpsample1d

    up = FrameUpsample1d(6, scale)
    with torch.no_grad():
        up.weight.normal_()
    ref = nn.ConvTranspose1d(6, 6, 2 * scale, stride=scale, padding=scale // 2, groups=6, bias=False)
    with torch.no_grad():
        ref.weight.copy_(up.weight[:, None, :])
    x = torch.randn(2, 6, 7)
    torch.testing.assert_close(up(x), ref(x)[..., : 7 * scale])


def test_upsampler_starts_as_interpolation_and_drops_its_context() -> None:
    from vc.nn.wavenet import ConvUpsampler

    up = ConvUpsampler(3, [4, 2], context=2)
    c = torch.arange(10, dtype=torch.float32).expand(1, 3, 10)  # a ramp over frames
    y = up(c)
    assert y.shape == (1, 3, 6 * 8)
    # Frame t (t = 2..7 of the input, the context dropped) is centred on block [8(t-2), 8(t-1)).
    inner = y[0, 0, 8:-8].reshape(-1, 8).mean(1)
    torch.testing.assert_close(inner, torch.arange(3, 7, dtype=torch.float32), atol=0.05, rtol=0)
    assert up.pad(torch.zeros(1, 3, 5)).shape == (1, 3, 9)


def test_wavenet_block_causal_and_centred() -> None:
    from vc.nn.wavenet import WaveNetBlock, cycle_dilations, receptive_field

    assert cycle_dilations(6, 2) == [1, 2, 4, 1, 2, 4] and receptive_field(3, [1, 2, 4, 1, 2, 4]) == 29
    for causal in (True, False):
        block = WaveNetBlock(4, 8, 2, 3, kernel_size=3, dilation=4, causal=causal)
        x, c = torch.randn(1, 4, 40, requires_grad=True), torch.randn(1, 3, 40)
        out, skip = block(x, c)
        assert out.shape == x.shape and skip.shape == (1, 2, 40)
        out[0, :, 20].sum().backward()
        touched = (x.grad[0].abs().sum(0) > 0).nonzero().flatten().tolist()
        assert touched == ([12, 16, 20] if causal else [16, 20, 24])
