"""Image translation models: network shapes, the PatchGAN's receptive field, the image pool,
one trainer step per model, exact resume, the shared-latent options, StarGAN's critic
schedule, translate() and config errors. Tiny sizes: 16x16 grayscale, a few channels."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from vc.errors import ConfigError
from vc.models import MODELS, build_model
from vc.models.image import ImageCycleGAN, ImageSharedLatent, ImageStarGAN
from vc.models.image.blocks import (
    ImageDecoder,
    ImageEncoder,
    ImagePool,
    NearestUpConv2d,
    PatchDiscriminator,
    ResnetGenerator,
    max_patch_layers,
    patch_field,
    patch_layers,
    patch_map_size,
)
from vc.models.image.stargan import DomainGenerator
from vc.train.config import parse_train_config
from vc.train.trainer import Trainer

SIZE, DOMAINS = 16, 3
TINY = {"image_size": SIZE, "ngf": 4, "n_blocks": 1, "ndf": 4}
PARAMS = {
    "image_cyclegan": {**TINY, "pool_size": 3},
    "image_shared_latent": {**TINY, "n_blocks": 2, "lambda_latent_cycle": 1.0, "lambda_semantic": 1.0},
    "image_stargan": {**TINY, "num_domains": DOMAINS},
}


def tiny_model(name: str, **params):
    torch.manual_seed(0)
    return build_model(name, 1, {**PARAMS[name], **params})


def random_batch(name: str, seed: int, batch: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(batch, 1, SIZE, SIZE, generator=g) * 2 - 1 for _ in range(2)]
    if name == "image_stargan":
        return {"image": images[0], "domain": torch.arange(batch) % DOMAINS}
    return {"x": images[0], "y": images[1]}


class RandomBatches:
    """Endless batches, each a function of (seed, step); set_step makes a resumed run see the same ones."""

    def __init__(self, name: str) -> None:
        self.name, self.start = name, 0

    def set_step(self, step: int) -> None:
        self.start = step

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        step = self.start
        while True:
            yield random_batch(self.name, step)
            step += 1


class RecordingContext:
    """A StepContext without optimisers: records each update's loss and its group's dead parameters."""

    def __init__(self, model, step: int = 0, bf16: bool = False) -> None:
        self.step, self.device, self.bf16 = step, torch.device("cpu"), bf16
        self.groups = model.optimizer_groups()
        self.losses: dict[str, float] = {}
        self.dead: dict[str, list[str]] = {}

    def autocast(self) -> contextlib.AbstractContextManager:
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def only(self, group: str) -> contextlib.nullcontext:
        return contextlib.nullcontext()

    def update(self, group: str, loss: torch.Tensor) -> None:
        named = [(n, p) for net in self.groups[group] for n, p in net.named_parameters()]
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True, retain_graph=True)
        self.dead[group] = [n for (n, _), g in zip(named, grads) if g is None or not g.abs().sum() > 0]
        self.losses[group] = loss.item()


def train(name: str, exp: Path, max_steps: int, resume: bool = False, **params) -> Trainer:
    config = parse_train_config({"max_steps": max_steps, "log_interval": 1, "save_interval": 1, "ema_decay": 0.5,
                                 "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 1e-3}}})
    trainer = Trainer(tiny_model(name, **params), config, exp, RandomBatches(name), device="cpu")
    trainer.fit(resume=resume)
    return trainer


# ---- networks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("n_down", [1, 2])
def test_generator_encoder_decoder_shapes(size: int, n_down: int) -> None:
    x = torch.randn(2, 3, size, size)
    encoder = ImageEncoder(3, 4, n_down, n_blocks=2)
    code = encoder(x)
    assert code.shape == (2, 4 * 2**n_down, size // 2**n_down, size // 2**n_down) == (2, encoder.out_channels,
                                                                                     *code.shape[2:])
    decoded = ImageDecoder(encoder.out_channels, 1, n_down, n_blocks=1)(code)
    assert decoded.shape == (2, 1, size, size) and decoded.abs().max() <= 1
    assert ResnetGenerator(3, 3, 4, n_down, 2)(x).shape == x.shape
    assert DomainGenerator(3, DOMAINS, 4, n_down, 1)(x, torch.tensor([0, 2])).shape == x.shape


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(("shape", "subpixel"), [((2, 3, 5, 7), False), ((2, 16, 32, 40), True)])
def test_nearest_up_conv_equals_upsample_then_conv(shape: tuple[int, ...], subpixel: bool, bias: bool) -> None:
    """Both code paths (plain and sub-pixel) give nearest x2 + reflection-padded 3x3 conv, and its gradients."""
    assert (math.prod(shape) >= NearestUpConv2d.SUBPIXEL_FROM) == subpixel
    torch.manual_seed(0)
    up = NearestUpConv2d(shape[1], 4, bias=bias)
    x = torch.randn(shape, requires_grad=True)
    y = up(x)
    reference = F.conv2d(F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect"),
                         up.weight, up.bias)
    assert y.shape == (shape[0], 4, 2 * shape[2], 2 * shape[3])
    torch.testing.assert_close(y, reference, rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(y.square().sum(), [x, up.weight])
    torch.testing.assert_close(grads, torch.autograd.grad(reference.square().sum(), [x, up.weight]),
                               rtol=1e-4, atol=1e-4)


def test_domain_generator_output_depends_on_target() -> None:
    """The target code must reach the output: a normed first conv would erase the constant label channels."""
    torch.manual_seed(0)
    g = DomainGenerator(1, DOMAINS, 4, 1, 1)
    x = torch.randn(1, 1, 16, 16).expand(DOMAINS, -1, -1, -1)
    out = g(x, torch.arange(DOMAINS))
    for a in range(DOMAINS):
        for b in range(a):
            assert (out[a] - out[b]).abs().max() > 1e-3, (a, b)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patch_discriminator_shapes(n_layers: int) -> None:
    d = PatchDiscriminator(1, 4, n_layers, num_classes=DOMAINS)
    logits, classes = d(torch.randn(2, 1, 32, 32))
    side = patch_map_size(32, n_layers)
    assert logits.shape == (2, 1, side, side) and side >= 1 and classes.shape == (2, DOMAINS)
    assert PatchDiscriminator(1, 4, n_layers)(torch.randn(2, 1, 32, 32)).shape == (2, 1, side, side)


def test_receptive_field_is_pix2pix_and_measured() -> None:
    assert [patch_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]  # 3 layers: pix2pix's 70x70 PatchGAN
    for n in (1, 2, 3):
        d = PatchDiscriminator(1, 2, n, norm="none")  # instance norm would couple every pixel
        with torch.no_grad():
            for p in d.parameters():
                p.abs_()  # positive weights: no gradient cancels inside the field
        x = torch.randn(1, 1, 160, 160, requires_grad=True)
        logits = d(x)
        centre = logits.shape[-1] // 2
        logits[0, 0, centre, centre].backward()
        rows, cols = torch.nonzero(x.grad[0, 0]).unbind(1)
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (d.receptive_field(),) * 2


def test_patch_layers_follow_the_image_size() -> None:
    assert [patch_layers(size, 0.5) for size in (16, 32, 64, 128, 256)] == [1, 1, 2, 3, 4]
    assert patch_layers(32, 1.0) == 2 and patch_layers(16, 1.0) == 1  # whole image, as far as it fits
    assert [max_patch_layers(size) for size in (8, 16, 32)] == [1, 2, 3]
    assert tiny_model("image_cyclegan", image_size=32).n_layers == 1
    assert tiny_model("image_cyclegan", image_size=32, n_layers=3).d_x.receptive_field() == 70
    assert tiny_model("image_stargan", image_size=32).discriminator.receptive_field() == 34
    assert "receptive field 16x16" in tiny_model("image_cyclegan", image_size=32).describe(None)


# ---- image pool --------------------------------------------------------------------------------


def test_image_pool_fills_then_mixes() -> None:
    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    batches = [torch.full((2, 1, 2, 2), float(i)).add(torch.tensor([0.0, 0.5])[:, None, None, None])
               for i in range(40)]  # image ids 0, 0.5, 1, 1.5, ...: all distinct
    assert torch.equal(pool(batches[0]), batches[0]) and torch.equal(pool(batches[1]), batches[1])
    assert int(pool.count) == 4 and set(pool.images[:, 0, 0, 0].tolist()) == {0, 0.5, 1, 1.5}
    returned_old = returned_new = 0
    for i, batch in enumerate(batches[2:], start=2):
        ids = pool(batch)[:, 0, 0, 0]
        assert (ids <= i + 0.5).all()  # only images seen so far
        returned_old += int((ids < i).sum())
        returned_new += int((ids >= i).sum())
    assert int(pool.count) == 4 and returned_old > 10 and returned_new > 10  # about half each
    assert set(dict(pool.named_buffers())) == {"images", "count"}


def test_image_pool_edge_cases() -> None:
    x = torch.randn(3, 1, 2, 2)
    assert torch.equal(ImagePool(0, (1, 2, 2))(x), x)
    with pytest.raises(ValueError, match=r"holds images of shape \(1, 2, 2\), got \(1, 3, 3\)"):
        ImagePool(2, (1, 2, 2))(torch.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="pool size must be >= 0"):
        ImagePool(-1, (1, 2, 2))


# ---- training ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_gets_gradient(name: str, bf16: bool) -> None:
    model = tiny_model(name)
    ctx = RecordingContext(model, bf16=bf16)  # bf16: the mixed precision of a GPU run
    logs = model.train_step(random_batch(name, 0), ctx)
    assert ctx.dead == {"generator": [], "discriminator": []}
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_one_trainer_step_changes_every_weight(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    before = {n: p.detach().clone() for n, p in tiny_model(name).named_parameters()}
    trainer = train(name, tmp_path, 1)
    assert [n for n, p in trainer.model.named_parameters() if torch.equal(p, before[n])] == []
    assert "g/total=" in (tmp_path / "log" / "train.log").read_text()


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_resume_is_exact(name: str, tmp_path: Path) -> None:
    straight = train(name, tmp_path / "straight", 2)
    train(name, tmp_path / "resumed", 1)
    resumed = train(name, tmp_path / "resumed", 2, resume=True)
    state, other = straight.model.state_dict(), resumed.model.state_dict()
    assert state.keys() == other.keys()
    assert [k for k in state if not torch.equal(state[k], other[k])] == []
    for net, shadow in straight.ema.state_dict().items():
        assert all(torch.equal(v, resumed.ema.state_dict()[net][k]) for k, v in shadow.items())
    if name == "image_cyclegan":  # the pool's history went through the checkpoint
        assert int(resumed.model.pool_x.count) == 3 and "pool_x.images" in state


def test_shared_latent_options_add_their_terms() -> None:
    batch = random_batch("image_shared_latent", 0)
    plain = {"lambda_latent_cycle": 0.0, "lambda_semantic": 0.0}
    totals, logs = {}, {}
    for key, params in {"plain": plain, "latent_cycle": {**plain, "lambda_latent_cycle": 2.0},
                        "semantic": {**plain, "lambda_semantic": 3.0}}.items():
        model = tiny_model("image_shared_latent", **params)
        torch.manual_seed(1)  # the same latent noise in every run
        logs[key] = model.train_step(batch, RecordingContext(model))
        totals[key] = logs[key]["g/total"]
    assert "g/latent_cycle" not in logs["plain"] and "g/semantic" not in logs["plain"]
    assert {"g/recon", "g/kl", "g/adv", "g/cycle", "g/latent_adv", "d/latent", "d/latent_acc"} <= set(logs["plain"])
    term = logs["latent_cycle"]["g/latent_cycle"]
    assert term > 0 and totals["latent_cycle"] == pytest.approx(totals["plain"] + 2.0 * term, rel=1e-5)
    term = logs["semantic"]["g/semantic"]
    assert term > 0 and totals["semantic"] == pytest.approx(totals["plain"] + 3.0 * term, rel=1e-5)


def test_shared_latent_without_latent_discriminator() -> None:
    model = tiny_model("image_shared_latent", lambda_latent_adv=0.0, lambda_cycle=0.0, lambda_latent_cycle=0.0)
    assert model.latent_d is None and len(model.optimizer_groups()["discriminator"]) == 2
    encodings = []
    model.enc_shared.register_forward_hook(lambda *_: encodings.append(1))
    logs = model.train_step(random_batch("image_shared_latent", 0), RecordingContext(model))
    assert not {"g/latent_adv", "g/cycle", "g/latent_cycle", "d/latent"} & set(logs) and "g/semantic" in logs
    assert len(encodings) == 4  # x, y and, for the semantic term, both translations


def test_stargan_critic_schedule_and_gradient_penalty() -> None:
    model = tiny_model("image_stargan", gan_loss="wgan-gp", n_critic=2)
    ctx = RecordingContext(model, step=0)
    logs = model.train_step(random_batch("image_stargan", 0), ctx)
    assert set(ctx.losses) == {"discriminator"} and logs["d/gp"] > 0 and "g/total" not in logs
    ctx = RecordingContext(model, step=1, bf16=True)
    logs = model.train_step(random_batch("image_stargan", 0), ctx)
    assert set(ctx.losses) == {"discriminator", "generator"} and {"g/adv", "g/cls", "g/rec"} <= set(logs)
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    # WGAN's real and fake terms cancel the logit bias: it alone gets no gradient.
    assert ctx.dead == {"discriminator": ["out.bias"], "generator": []}


# ---- translate, validation, visuals ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["image_cyclegan", "image_shared_latent"])
def test_two_domain_translate(name: str) -> None:
    model = tiny_model(name)
    x = torch.rand(3, 1, SIZE, SIZE) * 2 - 1
    for direction in ("xy", "yx"):
        out = model.translate(x, direction)
        assert out.shape == x.shape and out.abs().max() <= 1
    assert not torch.allclose(model.translate(x, "xy"), model.translate(x, "yx"))
    assert model.translate(torch.zeros(1, 1, 32, 24), "xy").shape == (1, 1, 32, 24)  # fully convolutional
    with pytest.raises(ValueError, match="direction must be 'xy' or 'yx'"):
        model.translate(x, "xx")
    with pytest.raises(ValueError, match=r"expected images \[B, 1, H, W\], got shape \(3, 3, 16, 16\)"):
        model.translate(x.expand(-1, 3, -1, -1), "xy")
    with pytest.raises(ValueError, match="divisible by 4, got 18x16"):
        model.translate(torch.zeros(1, 1, 18, 16), "xy")
    batch = random_batch(name, 0)
    assert all(k.startswith(("cycle_l1", "recon_l1")) for k in model.validation_step(batch))
    assert {k: v.shape for k, v in model.visuals(batch).items()} == {"x_to_y": (SIZE, 3 * SIZE),
                                                                     "y_to_x": (SIZE, 3 * SIZE)}


def test_stargan_translate() -> None:
    model = tiny_model("image_stargan")
    x = torch.rand(1, 1, SIZE, SIZE).expand(3, -1, -1, -1) * 2 - 1
    out = model.translate(x, torch.tensor([0, 1, 2]))
    assert out.shape == x.shape and not torch.allclose(out[0], out[1])  # the code conditions the generator
    with pytest.raises(ValueError, match=r"target_domain: indices must be in \[0, 3\)"):
        model.translate(x, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="target_domain: expected one index per image"):
        model.translate(x, torch.tensor([0]))
    batch = random_batch("image_stargan", 0)
    assert set(model.validation_step(batch)) == {"rec_l1", "real_cls_acc", "translated_cls_acc"}
    assert model.validation_targets(torch.tensor([0, 0, 1, 2])).tolist() == [1, 2, 2, 1]  # never the source
    assert model.visuals(batch)["to_each_domain"].shape == (SIZE, (1 + DOMAINS) * SIZE)


# ---- registry and config errors ----------------------------------------------------------------------


def test_registered_with_groups_and_sizes() -> None:
    for name, cls in (("image_cyclegan", ImageCycleGAN), ("image_shared_latent", ImageSharedLatent),
                      ("image_stargan", ImageStarGAN)):
        model = tiny_model(name)
        assert MODELS[name] is cls and isinstance(model, cls)
        counts = model.parameter_counts()
        assert set(counts) == {"generator", "discriminator"} and all(n > 0 for n in counts.values())
        assert sum(counts.values()) == sum(p.numel() for p in model.parameters())
        assert model.describe(None).startswith(f"{cls.__name__}: ")
        assert all(hasattr(model, net) for net in model.ema_networks())


@pytest.mark.parametrize(("name", "params", "message"), [
    ("image_cyclegan", {"image_size": 30},
     r"model_params.image_size: 30 is not divisible by 4, the generator's downsampling \(n_down 2"),
    ("image_cyclegan", {"image_size": 32, "n_layers": 4},
     "model_params.n_layers: 4 is out of range: 32x32 images allow 1 to 3"),
    ("image_cyclegan", {"image_size": 4, "n_down": 0}, "image_size: 4 is too small for the PatchGAN"),
    ("image_cyclegan", {"pool_size": -1}, "model_params.pool_size: must be >= 0"),
    ("image_cyclegan", {"gan_loss": "lsgn"}, "model_params.gan_loss: unknown GAN loss 'lsgn'"),
    ("image_cyclegan", {"lambda_cycel": 1}, "model_params.lambda_cycel: unknown key"),
    ("image_cyclegan", {"ngf": 0}, "model_params.ngf: must be >= 1"),
    ("image_shared_latent", {"n_shared_blocks": 3}, r"model_params.n_shared_blocks: must be in \[1, n_blocks = 2\]"),
    ("image_shared_latent", {"lambda_semantic": -1.0}, "model_params.lambda_semantic: must be >= 0"),
    ("image_stargan", {"num_domains": 1}, "model_params.num_domains: need at least 2 domains"),
    ("image_stargan", {"n_critic": 0}, "model_params.n_critic: must be >= 1"),
])
def test_bad_params(name: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(name, 1, {**PARAMS[name], **params})


def test_stargan_needs_num_domains() -> None:
    with pytest.raises(ConfigError, match="num_domains"):
        build_model("image_stargan", 1, {})
