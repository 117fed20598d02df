"""Paper-size WaveNet vocoder (r9y9's MoL preset, 3.7 M parameters): generation and training speed.

The anchors (../shared/ANCHORS.md) are r9y9's wavenet_vocoder on this kind of machine:
  incremental generation: 9.1 s per 2,048 samples (~224 samples/s, RTF 98 at 22.05 kHz)
  teacher-forced training step at batch 1 x 10,240 samples: 1.76 s
Ours at 22.05 kHz, hop 256, 80 mels: Fast WaveNet incremental generation at batch 1 and 8;
naive generation (a forward pass over the last receptive field per sample) timed at steady
state, after a prompt of one receptive field (``--gen-threads`` times generation at other
thread counts: its per-step ops are tiny); a training step through vc's Trainer
(forward, MoL loss, backward, Adam). Goals: incremental >= 10x the anchor and >= 100x
naive; training step >= 1.5x faster than the anchor.
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from common import add_precision_option, median_seconds, mixed_flags, parser, setup, table
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer
from vc.vocoders.wavenet import WaveNetParams, WaveNetVocoder

ANCHOR_SAMPLES_PER_S = 2048 / 9.1
ANCHOR_TRAIN_S = 1.76
SAMPLE_RATE, HOP, MELS = 22050, 256, 80
TRAIN_SAMPLES = 10240


def fewer(args: argparse.Namespace, repeats: int) -> argparse.Namespace:
    """The timing protocol with fewer runs, for the slow sample-by-sample loops."""
    return argparse.Namespace(**{**vars(args), "warmup": 1, "repeats": min(args.repeats, repeats)})


def generation_rates(model: WaveNetVocoder, args: argparse.Namespace, device: torch.device,
                     batch: int) -> tuple[float, float]:
    """(incremental, naive) samples per second at ``batch``, summed over the batch."""
    frames = -(-args.samples // HOP)
    with torch.inference_mode():
        c_up = model.upsampler(model.upsampler.pad(torch.randn(batch, MELS, frames, device=device)))
    c_up = c_up[..., : args.samples]
    incremental = median_seconds(lambda: model.generate(c_up, torch.Generator().manual_seed(0)),
                                 fewer(args, 3), device)
    field = model.receptive_field
    with torch.inference_mode():
        c_naive = model.upsampler(torch.randn(batch, MELS, -(-(field + args.naive_samples) // HOP) + 4,
                                              device=device))[..., : field + args.naive_samples]
    prompt = torch.rand(batch, field, device=device) * 2 - 1
    naive = median_seconds(lambda: model.generate(c_naive, torch.Generator().manual_seed(0), "naive", prompt=prompt),
                           fewer(args, 1), device)
    return batch * args.samples / incremental, batch * args.naive_samples / naive


def train_step_seconds(args: argparse.Namespace, device: torch.device, mixed: bool) -> tuple[float, str]:
    """Seconds per Trainer iteration at batch 1 x 10,240 samples, and the dtype it ran in."""
    torch.manual_seed(0)
    model = WaveNetVocoder(MELS, WaveNetParams())
    frames = TRAIN_SAMPLES // HOP
    batch = {"feats": torch.randn(1, MELS, frames + 2 * model.context_frames),
             "audio": torch.rand(1, TRAIN_SAMPLES) * 2 - 1}
    with tempfile.TemporaryDirectory() as exp:
        trainer = Trainer(model, TrainConfig(max_steps=1, amp=mixed, cpu_bf16=mixed), exp, [batch], device=device)
        seconds = median_seconds(lambda: trainer.train_one(batch), args, device)
    return seconds, str(trainer.amp_dtype or torch.float32)


def main() -> None:
    p = parser(__doc__)
    add_precision_option(p)
    p.add_argument("--samples", type=int, default=2048, help="samples per incremental run [2048]")
    p.add_argument("--naive-samples", type=int, default=200, help="samples timed per naive run [200]")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="generation batch sizes [1 8]")
    p.add_argument("--gen-threads", type=int, nargs="+", help="torch threads for generation [--threads]")
    args = p.parse_args()
    device = setup(args)
    torch.manual_seed(0)
    model = WaveNetVocoder(MELS, WaveNetParams()).to(device).eval()
    params = sum(q.numel() for q in model.parameters()) / 1e6
    print(f"paper size: {params:.2f} M parameters (anchor 3.7 M), receptive field {model.receptive_field} "
          f"samples, {SAMPLE_RATE} Hz, hop {HOP}")
    rows = []
    for threads in args.gen_threads or [args.threads]:
        torch.set_num_threads(threads)
        for batch in args.batches:
            fast, slow = generation_rates(model, args, device, batch)
            rows += [
                [f"incremental generation, batch {batch}, {threads} thr", f"{fast:,.0f} samples/s",
                 f"{ANCHOR_SAMPLES_PER_S:,.0f}", f"{fast / ANCHOR_SAMPLES_PER_S:.1f}x", f"RTF {SAMPLE_RATE / fast:.1f}"],
                [f"naive generation, batch {batch}, {threads} thr", f"{slow:,.1f} samples/s", "", "",
                 f"incremental {fast / slow:,.0f}x naive"],
            ]
    torch.set_num_threads(args.threads)
    for mixed in mixed_flags(args):
        seconds, dtype = train_step_seconds(args, device, mixed)
        rows.append([f"train step, 1 x {TRAIN_SAMPLES:,} ({dtype})", f"{seconds:.2f} s", f"{ANCHOR_TRAIN_S:.2f} s",
                     f"{ANCHOR_TRAIN_S / seconds:.2f}x", f"{1 / seconds:.3f} it/s"])
    print(table(["task", "ours", "anchor", "speed-up", "note"], rows))
    print(f"goals: incremental >= {10 * ANCHOR_SAMPLES_PER_S:,.0f} samples/s (10x the anchor) and >= 100x naive; "
          f"training step <= {ANCHOR_TRAIN_S / 1.5:.2f} s (1.5x)")


if __name__ == "__main__":
    main()
