"""Image CycleGAN at pytorch-CycleGAN-and-pix2pix's sizes: training iteration and translation speed.

ANCHORS.md has no image anchor, so the baseline runs here, side by side in one process on
the same batch: pix2pix's networks and its CycleGANModel.optimize_parameters, rebuilt below
from that repository's architecture (ResnetGenerator with transposed-conv upsampling,
NLayerDiscriminator, instance norm without affine, LSGAN, lambda 10, identity 0.5, pools of
50, Adam). Ours is vc's ImageCycleGAN at the same widths and depths, through vc's Trainer.
The two generators differ in one place: ours upsamples by nearest neighbour then a 3x3 conv
(no checkerboard artefacts), which costs 4x the multiply-adds of pix2pix's transposed conv
in those two layers.
"""

from __future__ import annotations

import tempfile

import torch
import torch.nn.functional as F
from torch import nn

from common import add_precision_option, median_seconds, mixed_flags, parser, setup, table
from vc.models.image import ImageCycleGAN
from vc.models.image.blocks import ImagePool
from vc.models.image.cyclegan import ImageCycleGANParams
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer

LAMBDA_CYCLE, LAMBDA_IDENTITY = 10.0, 0.5


def _norm(ch: int) -> nn.Module:
    return nn.InstanceNorm2d(ch)  # pix2pix's "instance": no affine, no running stats


class _PixResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), _norm(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def pix2pix_generator(ch: int, ngf: int, n_blocks: int) -> nn.Sequential:
    """pix2pix's ResnetGenerator (2 downsamplings; convs keep their bias under instance norm, as there)."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(ch, ngf, 7), _norm(ngf), nn.ReLU(True)]
    for i in range(2):
        w = ngf * 2**i
        layers += [nn.Conv2d(w, 2 * w, 3, 2, 1), _norm(2 * w), nn.ReLU(True)]
    layers += [_PixResBlock(ngf * 4) for _ in range(n_blocks)]
    for i in range(2):
        w = ngf * 2 ** (2 - i)
        layers += [nn.ConvTranspose2d(w, w // 2, 3, 2, 1, output_padding=1), _norm(w // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, ch, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def pix2pix_discriminator(ch: int, ndf: int, n_layers: int) -> nn.Sequential:
    """pix2pix's NLayerDiscriminator (the 70x70 PatchGAN at n_layers 3)."""
    layers: list[nn.Module] = [nn.Conv2d(ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    width = ndf
    for n in range(1, n_layers + 1):
        nxt = ndf * min(2**n, 8)
        layers += [nn.Conv2d(width, nxt, 4, 2 if n < n_layers else 1, 1), _norm(nxt), nn.LeakyReLU(0.2, True)]
        width = nxt
    return nn.Sequential(*layers, nn.Conv2d(width, 1, 4, 1, 1))


class Pix2PixCycleGAN(nn.Module):
    """pix2pix's CycleGANModel.optimize_parameters: G step with D frozen, then both D steps."""

    def __init__(self, ch: int, size: int, ngf: int, ndf: int, n_blocks: int, n_layers: int) -> None:
        super().__init__()
        self.g_a, self.g_b = pix2pix_generator(ch, ngf, n_blocks), pix2pix_generator(ch, ngf, n_blocks)
        self.d_a, self.d_b = pix2pix_discriminator(ch, ndf, n_layers), pix2pix_discriminator(ch, ndf, n_layers)
        self.pool_a, self.pool_b = ImagePool(50, (ch, size, size)), ImagePool(50, (ch, size, size))
        adam = {"lr": 2e-4, "betas": (0.5, 0.999)}
        self.opt_g = torch.optim.Adam([*self.g_a.parameters(), *self.g_b.parameters()], **adam)
        self.opt_d = torch.optim.Adam([*self.d_a.parameters(), *self.d_b.parameters()], **adam)

    @staticmethod
    def _lsgan(logits: torch.Tensor, real: bool) -> torch.Tensor:
        return F.mse_loss(logits, torch.full_like(logits, float(real)))

    def _d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self._lsgan(d(real), True) + self._lsgan(d(fake.detach()), False))

    def step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> None:
        fake_b, fake_a = self.g_a(real_a), self.g_b(real_b)
        rec_a, rec_b = self.g_b(fake_b), self.g_a(fake_a)
        for d in (self.d_a, self.d_b):
            d.requires_grad_(False)
        self.opt_g.zero_grad()
        idt = LAMBDA_CYCLE * LAMBDA_IDENTITY
        loss_g = (self._lsgan(self.d_a(fake_b), True) + self._lsgan(self.d_b(fake_a), True)
                  + LAMBDA_CYCLE * (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b))
                  + idt * (F.l1_loss(self.g_a(real_b), real_b) + F.l1_loss(self.g_b(real_a), real_a)))
        loss_g.backward()
        self.opt_g.step()
        for d in (self.d_a, self.d_b):
            d.requires_grad_(True)
        self.opt_d.zero_grad()
        self._d_loss(self.d_a, real_b, self.pool_b(fake_b)).backward()
        self._d_loss(self.d_b, real_a, self.pool_a(fake_a)).backward()
        self.opt_d.step()


def measure_ours(args, params: ImageCycleGANParams, batch: dict[str, torch.Tensor], device: torch.device,
                 mixed: bool) -> tuple[float, float, str]:
    """Seconds per training iteration (vc's Trainer) and per one-image translation, at one precision."""
    torch.manual_seed(0)
    model = ImageCycleGAN(batch["x"].shape[1], params)
    with tempfile.TemporaryDirectory() as exp:
        trainer = Trainer(model, TrainConfig(max_steps=1, amp=mixed, cpu_bf16=mixed), exp, [batch], device=device)
        train_s = median_seconds(lambda: trainer.train_one(batch), args, device)
    model.eval()
    dtype = trainer.amp_dtype
    one = batch["x"][:1]

    def translate() -> torch.Tensor:
        with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return model.translate(one)

    return train_s, median_seconds(translate, args, device), str(dtype or "float32")


def main() -> None:
    p = parser(__doc__)
    add_precision_option(p)
    p.add_argument("--size", type=int, default=128, help="image side [128; pix2pix trains at 256]")
    p.add_argument("--n-blocks", type=int, default=9, help="residual blocks [9, pix2pix's resnet_9blocks]")
    p.add_argument("--batch", type=int, default=1, help="images per domain per step [1, as pix2pix]")
    args = p.parse_args()
    device = setup(args)
    ch, ngf, ndf, n_layers = 3, 64, 64, 3
    torch.manual_seed(0)
    batch = {"x": torch.rand(args.batch, ch, args.size, args.size, device=device) * 2 - 1,
             "y": torch.rand(args.batch, ch, args.size, args.size, device=device) * 2 - 1}
    params = ImageCycleGANParams(image_size=args.size, ngf=ngf, ndf=ndf, n_blocks=args.n_blocks, n_layers=n_layers)

    theirs = Pix2PixCycleGAN(ch, args.size, ngf, ndf, args.n_blocks, n_layers).to(device)
    ours_g = ImageCycleGAN(ch, params).g_xy
    count = {name: sum(q.numel() for q in net.parameters()) / 1e6 for name, net in [("ours", ours_g), ("pix2pix", theirs.g_a)]}
    print(f"{args.size}x{args.size} RGB, batch {args.batch}, ngf {ngf}, {args.n_blocks} blocks, 70x70 PatchGAN; "
          f"generator {count['ours']:.2f} M parameters (pix2pix's {count['pix2pix']:.2f} M); pix2pix in fp32 "
          "(it has no mixed precision)")
    theirs_train = median_seconds(lambda: theirs.step(batch["x"], batch["y"]), args, device)
    with torch.no_grad():
        theirs_infer = median_seconds(lambda: theirs.g_a(batch["x"][:1]), args, device)

    rows = []
    for mixed in mixed_flags(args):
        train_s, infer_s, dtype = measure_ours(args, params, batch, device, mixed)
        rows += [[f"train iteration, both G and D ({dtype})", f"{train_s:.3f} s", f"{theirs_train:.3f} s",
                  f"{theirs_train / train_s:.2f}x"],
                 [f"translate one image ({dtype})", f"{infer_s * 1e3:.1f} ms", f"{theirs_infer * 1e3:.1f} ms",
                  f"{theirs_infer / infer_s:.2f}x"]]
    print(table(["task", "ours", "pix2pix", "speed-up"], rows))


if __name__ == "__main__":
    main()
