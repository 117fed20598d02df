"""Paper-size MaskCycleGAN-VC: training iteration and conversion speed, against ANCHORS.md.

The anchor figures were measured with the public MaskCycleGAN-VC code on this kind of
machine (2-core CPU, torch 2.13 CPU, 2 threads, median of 5 after 2 warm-ups):
  one training iteration at batch 1 x 80 mels x 64 frames: 4.27 s
  generator inference on 80 x 432 frames (5 s at 22.05 kHz, hop 256): 0.69 s
Ours runs the same shapes through vc's own trainer (Trainer.train_one: both updates,
all losses, two-step adversarial, identity) and Converter path (generator + Griffin-Lim).
"""

from __future__ import annotations

import tempfile

import torch

from common import add_precision_option, median_seconds, mixed_flags, parser, setup, table
from vc.audio import FeatureConfig
from vc.models.cyclegan_vc import CycleGANVC, CycleGANVCParams
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer
from vc.vocoders import GriffinLim

ANCHOR_TRAIN_S = 4.27
ANCHOR_INFER_S = 0.69
INFER_FRAMES = 432  # 5 s at 22.05 kHz with hop 256, as the anchor timed it
AUDIO_SECONDS = INFER_FRAMES * 256 / 22050
RTF_TARGET = 0.2


def measure(args, device: torch.device, mixed: bool) -> dict[str, float]:
    """Seconds per training iteration, per generator pass and per conversion, at one precision."""
    torch.manual_seed(0)
    model = CycleGANVC(80, CycleGANVCParams())
    batch = {"x": torch.randn(1, 80, 64), "y": torch.randn(1, 80, 64)}
    with tempfile.TemporaryDirectory() as exp:
        trainer = Trainer(model, TrainConfig(max_steps=1, amp=mixed, cpu_bf16=mixed), exp, [batch], device=device)
        train_s = median_seconds(lambda: trainer.train_one(batch), args, device)
    model.eval()
    feats = torch.randn(1, 80, INFER_FRAMES, device=device)
    dtype = trainer.amp_dtype

    def generate() -> torch.Tensor:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            return model.convert(feats).float()

    vocoder = GriffinLim(FeatureConfig(sample_rate=22050, fmax=None), n_iter=32).to(device)
    return {"train": train_s, "infer": median_seconds(generate, args, device),
            "convert": median_seconds(lambda: vocoder(generate()), args, device), "dtype": str(dtype or "float32")}


def main() -> None:
    p = parser(__doc__)
    add_precision_option(p)
    args = p.parse_args()
    device = setup(args)
    model = CycleGANVC(80, CycleGANVCParams())
    g_params = sum(q.numel() for q in model.g_xy.parameters()) / 1e6
    d_params = sum(q.numel() for q in model.d_x.parameters()) / 1e6
    print(f"paper size: generator {g_params:.2f} M parameters (anchor 24.5 M), "
          f"discriminator {d_params:.2f} M each (anchor 16.7 M, ungated)")
    rows = []
    for mixed in mixed_flags(args):
        r = measure(args, device, mixed)
        rows += [
            [f"train iteration, 1 x 80 x 64 ({r['dtype']})", f"{r['train']:.2f} s", f"{ANCHOR_TRAIN_S:.2f} s",
             f"{ANCHOR_TRAIN_S / r['train']:.2f}x", f"{1 / r['train']:.3f} it/s"],
            [f"generator, 80 x 432 ({r['dtype']})", f"{r['infer']:.3f} s", f"{ANCHOR_INFER_S:.2f} s",
             f"{ANCHOR_INFER_S / r['infer']:.2f}x", ""],
            [f"generator + 32-it Griffin-Lim ({r['dtype']})", f"{r['convert']:.3f} s", "", "",
             f"RTF {r['convert'] / AUDIO_SECONDS:.3f}"],
        ]
    print(table(["task", "ours", "anchor", "speed-up", "rate"], rows))
    print(f"conversion RTF target <= {RTF_TARGET} on {AUDIO_SECONDS:.2f} s of audio; training target >= 1.5x the anchor")


if __name__ == "__main__":
    main()
