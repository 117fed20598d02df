"""Paper-size Parallel WaveGAN-style vocoder: inference RTF and generator training step, against ANCHORS.md.

The anchor figures were measured with the public Parallel WaveGAN code (v1 generator,
1.33 M parameters, weight norm removed) on this kind of machine (2-core CPU, torch 2.13
CPU, 2 threads, median of 5 after 2 warm-ups):
  inference, 80 x 431 mel -> 5.0 s at 22.05 kHz (hop 256): 2.98 s (RTF 0.595)
  generator training step, multi-resolution STFT loss, batch 1 x 25,600 samples: 2.14 s
Ours runs the same shapes: ``ParallelWaveNet.inference`` (upsampler + the generator's fused
GEMM pass), and one step of vc's own Trainer (``train_one``) before ``discriminator_start``,
which is the generator-only MR-STFT update, as in the anchor. ``--blocks`` also times the
generator through its WaveNetBlocks' own forward (the conv modules), for comparison.
"""

from __future__ import annotations

import math
import tempfile

import torch

from common import add_precision_option, median_seconds, mixed_flags, parser, setup, table
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer
from vc.vocoders.parallel_wavenet import ParallelWaveNet, WaveNetGenerator

ANCHOR_INFER_S = 2.98
ANCHOR_TRAIN_S = 2.14
FRAMES, HOP, SAMPLE_RATE = 431, 256, 22050
AUDIO_SECONDS = FRAMES * HOP / SAMPLE_RATE
TRAIN_SAMPLES = 25600
RTF_GOAL, RTF_MUST = 0.3, 0.5
TRAIN_GOAL_S = ANCHOR_TRAIN_S / 1.5


def block_forward(g: WaveNetGenerator, noise: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The generator through its blocks' conv modules: the definition the fast passes are tested against."""
    x, skips = g.first(noise), 0
    for block in g.blocks:
        x, skip = block(x, c)
        skips = skips + skip
    return g.out2(torch.relu(g.out1(torch.relu(skips * math.sqrt(1 / len(g.blocks))))))


def measure(args, device: torch.device, mixed: bool, weight_norm: bool) -> dict[str, float | str]:
    """Seconds per inference and per training step at one precision."""
    torch.manual_seed(0)
    model = ParallelWaveNet(80)
    if not weight_norm:
        model.prepare_for_inference()
    batch = {"feats": torch.randn(1, 80, TRAIN_SAMPLES // HOP + 2 * model.context_frames),
             "audio": 0.5 * torch.tanh(torch.randn(1, TRAIN_SAMPLES))}
    with tempfile.TemporaryDirectory() as exp:
        trainer = Trainer(model, TrainConfig(max_steps=1, amp=mixed, cpu_bf16=mixed), exp, [batch], device=device)
        result: dict[str, float | str] = {"train": median_seconds(lambda: trainer.train_one(batch), args, device)}
    dtype = trainer.amp_dtype
    result["dtype"] = str(dtype or torch.float32).replace("torch.", "")
    if weight_norm:
        return result
    model.eval()
    feats = torch.randn(1, 80, FRAMES, device=device)

    def autocast():
        return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def infer() -> torch.Tensor:
        with autocast():
            return model.inference(feats, torch.Generator(device=device).manual_seed(0))

    result["infer"] = median_seconds(infer, args, device)
    result["wave"] = infer()
    if args.blocks:
        with torch.inference_mode():
            c = model.upsample(model.upsampler.pad(feats))
            noise = torch.randn(1, 1, c.shape[-1], device=device)

            def blocks() -> torch.Tensor:
                with autocast():
                    return block_forward(model.generator, noise, c)

            result["blocks"] = median_seconds(blocks, args, device)
    return result


def main() -> None:
    p = parser(__doc__)
    add_precision_option(p)
    p.add_argument("--blocks", action="store_true", help="also time inference through the blocks' conv modules")
    args = p.parse_args()
    device = setup(args)
    model = ParallelWaveNet(80)
    model.prepare_for_inference()
    size = sum(q.numel() for net in (model.upsampler, model.generator) for q in net.parameters()) / 1e6
    print(f"paper size (Parallel WaveGAN v1): generator {size:.2f} M parameters with its upsampler "
          f"(anchor 1.33 M); weight norm removed unless a row says otherwise")
    rows, waves = [], {}
    for mixed in mixed_flags(args):
        r = measure(args, device, mixed, weight_norm=False)
        trained = measure(args, device, mixed, weight_norm=True)
        waves[r["dtype"]] = r["wave"]
        rows += [
            [f"inference, 80 x {FRAMES} -> {AUDIO_SECONDS:.2f} s ({r['dtype']})", f"{r['infer']:.3f} s",
             f"{ANCHOR_INFER_S:.2f} s", f"{ANCHOR_INFER_S / r['infer']:.2f}x", f"RTF {r['infer'] / AUDIO_SECONDS:.3f}"],
            [f"generator train step, 1 x {TRAIN_SAMPLES} ({r['dtype']})", f"{r['train']:.3f} s",
             f"{ANCHOR_TRAIN_S:.2f} s", f"{ANCHOR_TRAIN_S / r['train']:.2f}x", f"{1 / r['train']:.3f} it/s"],
            [f"  same, weight norm on, as trained ({trained['dtype']})", f"{trained['train']:.3f} s",
             f"{ANCHOR_TRAIN_S:.2f} s", f"{ANCHOR_TRAIN_S / trained['train']:.2f}x", f"{1 / trained['train']:.3f} it/s"],
        ]
        if args.blocks:
            rows.append([f"  inference through the blocks' convs ({r['dtype']})", f"{r['blocks']:.3f} s",
                         f"{ANCHOR_INFER_S:.2f} s", f"{ANCHOR_INFER_S / r['blocks']:.2f}x",
                         f"RTF {r['blocks'] / AUDIO_SECONDS:.3f}"])
    print(table(["task", "ours", "anchor", "speed-up", "rate"], rows))
    if len(waves) == 2:
        fp32, bf16 = waves.values()
        print(f"bf16 vs fp32 output of the same (untrained) model: MR-STFT distance "
              f"{model.stft_loss.distance(bf16, fp32):.4f}, max |diff| {(bf16 - fp32).abs().max():.2e} "
              f"(peak {fp32.abs().max():.2e})")
    print(f"goals: inference RTF <= {RTF_GOAL} (must-have <= {RTF_MUST}); training step <= {TRAIN_GOAL_S:.2f} s "
          f"(1.5x the anchor)")


if __name__ == "__main__":
    main()
