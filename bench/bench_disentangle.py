"""Paper-size disentangle model (Chou et al. 2018): training and conversion speed, against ANCHORS.md.

The anchor figures were measured with Chou et al.'s public code (31 M parameters) on this
kind of machine (2-core CPU, torch 2.13 CPU, 2 threads, median of 5 after 2 warm-ups):
  1 classifier step + 1 autoencoder step, batch 16 x 513 x 128: 1.71 s
  its solver's iteration, 5 classifier steps + 1 autoencoder step, batch 16: 4.18 s
  encoder + decoder inference on 513 x 432 frames (5 s at 22.05 kHz, hop 256): 0.108 s
Ours is conf/disentangle_paper.yaml's model_params for 513-bin features with the lookup
speaker table and no patcher, so the trained networks are the ones the anchor has (content
encoder, latent classifier, decoder). Training runs through vc's own Trainer.train_one at
adversarial-phase steps: a classifier step, then an autoencoder step whose loss carries the
adversarial term. A second table times conf/disentangle_quick.yaml at its own batch
(no anchor), and its conversion with Griffin-Lim on the demo's 80-mel features; where that
config names a content_model (the phone recogniser), a randomly initialised recogniser of
phones_quick.yaml's size stands in for it (bench_content.py times what it costs).
"""

from __future__ import annotations

import resource
import tempfile
from typing import Any

import torch

from common import CONF, add_precision_option, median_seconds, mixed_flags, model_params, ms, parser, setup, table
from vc.audio import FeatureConfig
from vc.config import from_dict, load_yaml
from vc.models.disentangle import Disentangle
from vc.models.registry import build_model
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer
from vc.vocoders import GriffinLim

ANCHOR_PAIR_S = 1.71  # 1 classifier + 1 autoencoder step
ANCHOR_SOLVER_S = 4.18  # 5 classifier + 1 autoencoder steps
ANCHOR_INFER_S = 0.108
ANCHOR_PARAMS_M = 31
PAPER_DIM, PAPER_BATCH, PAPER_FRAMES, PAPER_SPEAKERS = 513, 16, 128, 20
INFER_FRAMES = 432  # 5 s at 22.05 kHz with hop 256, as the anchor timed it
LINEAR = FeatureConfig(kind="linear", sample_rate=22050, n_fft=1024, hop_length=256)
AUDIO_SECONDS = INFER_FRAMES * LINEAR.hop_length / LINEAR.sample_rate
QUICK_SPEAKERS = 4  # the demo corpus's speakers
QUICK_SECONDS = 5.0


def paper_params() -> dict[str, Any]:
    """disentangle_paper.yaml's model_params at the anchor's size: lookup speakers, no patcher."""
    params = load_yaml(CONF / "disentangle_paper.yaml")["model_params"]
    return {**params, "num_speakers": PAPER_SPEAKERS, "speaker_encoder": "lookup",
            "schedule": {**params["schedule"], "patcher": 0}}


def quick_config() -> tuple[dict[str, Any], dict[str, Any]]:
    config = load_yaml(CONF / "disentangle_quick.yaml")
    return model_params(config, QUICK_SPEAKERS), config


def make_trainer(model: Disentangle, exp: str, batch: dict[str, torch.Tensor], device: torch.device,
                 mixed: bool, batch_size: int) -> Trainer:
    config = TrainConfig(max_steps=model.params.schedule.total, batch_size=batch_size, amp=mixed, cpu_bf16=mixed)
    return Trainer(model, config, exp, [batch], device=device)


def adversarial_steps(trainer: Trainer, batch: dict[str, torch.Tensor], classifier_steps: int) -> None:
    """``classifier_steps`` classifier steps then one autoencoder step with the adversarial term:
    the first classifier_steps + 1 steps of the adversarial phase."""
    model: Disentangle = trainer.model  # type: ignore[assignment]
    model.params.classifier_steps = classifier_steps
    s = model.params.schedule
    start = s.autoencoder + s.classifier
    for i in range(classifier_steps + 1):
        trainer.step = start + i
        logs = trainer.train_one(batch)
        expected = "clf/ce" if i < classifier_steps else "adv/ce"
        assert expected in logs, f"step {trainer.step}: expected a step logging {expected}, got {sorted(logs)}"


def phase_step(trainer: Trainer, batch: dict[str, torch.Tensor], step: int, key: str) -> None:
    trainer.step = step
    logs = trainer.train_one(batch)
    assert key in logs, f"step {step}: expected a step logging {key}, got {sorted(logs)}"


def conversion(model: Disentangle, feats: torch.Tensor, vector: torch.Tensor, dtype: torch.dtype | None,
               device: torch.device):
    def generate() -> torch.Tensor:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype or torch.float32,
                                                     enabled=dtype is not None):
            return model.convert_to(feats, vector).float()

    return generate


def measure_paper(args, device: torch.device, mixed: bool) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model("disentangle", PAPER_DIM, paper_params())
    batch = {"feats": torch.randn(PAPER_BATCH, PAPER_DIM, PAPER_FRAMES),
             "speaker": torch.arange(PAPER_BATCH) % PAPER_SPEAKERS}
    with tempfile.TemporaryDirectory() as exp:
        trainer = make_trainer(model, exp, batch, device, mixed, PAPER_BATCH)
        batch = {k: v.to(device) for k, v in batch.items()}
        pair = median_seconds(lambda: adversarial_steps(trainer, batch, 1), args, device)
        solver = median_seconds(lambda: adversarial_steps(trainer, batch, 5), args, device)
    model.eval()
    feats = torch.randn(1, PAPER_DIM, INFER_FRAMES, device=device)
    generate = conversion(model, feats, model.speaker_vectors(torch.tensor([1], device=device)).detach(),
                          trainer.amp_dtype, device)
    vocoder = GriffinLim(LINEAR, n_iter=32).to(device)
    return {"pair": pair, "solver": solver, "infer": median_seconds(generate, args, device),
            "convert": median_seconds(lambda: vocoder(generate()), args, device),
            "dtype": str(trainer.amp_dtype or "float32")}


def measure_quick(args, device: torch.device, mixed: bool) -> dict[str, Any]:
    torch.manual_seed(0)
    params, config = quick_config()
    model = build_model("disentangle", 80, params)
    size, frames = config["train"]["batch_size"], config["data"]["segment_frames"]
    batch = {"feats": torch.randn(size, 80, frames), "ref": torch.randn(size, 80, frames),
             "speaker": torch.arange(size) % QUICK_SPEAKERS}
    s = model.params.schedule
    with tempfile.TemporaryDirectory() as exp:
        trainer = make_trainer(model, exp, batch, device, mixed, size)
        batch = {k: v.to(device) for k, v in batch.items()}
        adv = s.autoencoder + s.classifier
        # The adversarial phase's first autoencoder step: its step k when alternating with k
        # classifier steps, every step with gradient reversal.
        k = model.params.classifier_steps if model.params.adversarial == "alternate" else 0
        times = {
            "ae_pre": median_seconds(lambda: phase_step(trainer, batch, 0, "ae/recon"), args, device),
            "clf": median_seconds(lambda: phase_step(trainer, batch, s.autoencoder, "clf/ce"), args, device),
            "ae_adv": median_seconds(lambda: phase_step(trainer, batch, adv + k, "adv/ce"), args, device),
        }
    model.eval()
    mel = from_dict(FeatureConfig, load_yaml(CONF / "feats.yaml")["feats"], "feats")
    n = round(QUICK_SECONDS * mel.sample_rate / mel.hop_length)
    feats = torch.randn(1, 80, n, device=device)
    with torch.inference_mode():
        reference = model.reference_vector(torch.randn(1, 80, n, device=device))
    generate = conversion(model, feats, reference, trainer.amp_dtype, device)
    vocoder = GriffinLim(mel, n_iter=32).to(device)
    seconds = n * mel.hop_length / mel.sample_rate
    return {**times, "infer": median_seconds(generate, args, device),
            "convert": median_seconds(lambda: vocoder(generate()), args, device),
            "seconds": seconds, "frames": n, "size": size, "segment": frames,
            "dtype": str(trainer.amp_dtype or "float32")}


def main() -> None:
    p = parser(__doc__)
    add_precision_option(p)
    args = p.parse_args()
    device = setup(args)
    model = build_model("disentangle", PAPER_DIM, paper_params())
    count = {name: sum(q.numel() for q in getattr(model, name).parameters()) / 1e6
             for name in ("content_encoder", "classifier", "decoder")}
    del model
    print(f"paper size (disentangle_paper.yaml, speaker_encoder lookup, no patcher, {PAPER_SPEAKERS} speakers): "
          f"{sum(count.values()):.2f} M parameters (anchor {ANCHOR_PARAMS_M} M): content encoder "
          f"{count['content_encoder']:.2f} M, latent classifier {count['classifier']:.2f} M, "
          f"decoder {count['decoder']:.2f} M")
    precisions = mixed_flags(args)
    rows = []
    for mixed in precisions:
        r = measure_paper(args, device, mixed)
        d = r["dtype"]
        rows += [
            [f"1 clf + 1 AE step, 16 x 513 x 128 ({d})", f"{r['pair']:.2f} s", f"{ANCHOR_PAIR_S:.2f} s",
             f"{ANCHOR_PAIR_S / r['pair']:.2f}x", f"{1 / r['pair']:.3f} it/s"],
            [f"5 clf + 1 AE steps, 16 x 513 x 128 ({d})", f"{r['solver']:.2f} s", f"{ANCHOR_SOLVER_S:.2f} s",
             f"{ANCHOR_SOLVER_S / r['solver']:.2f}x", f"{1 / r['solver']:.3f} it/s"],
            [f"encoder + decoder, 513 x 432 ({d})", f"{r['infer']:.3f} s", f"{ANCHOR_INFER_S:.3f} s",
             f"{ANCHOR_INFER_S / r['infer']:.2f}x", f"RTF {r['infer'] / AUDIO_SECONDS:.3f}"],
            [f"  + 32-it Griffin-Lim, linear ({d})", f"{r['convert']:.3f} s", "", "",
             f"RTF {r['convert'] / AUDIO_SECONDS:.3f}"],
        ]
    print(table(["task", "ours", "anchor", "speed-up", "rate"], rows))
    print(f"anchor s / ours s (> 1: ours faster); training target >= 1.5x the anchor; "
          f"conversion on {AUDIO_SECONDS:.2f} s of audio (22.05 kHz, hop 256)")

    rows = []
    for mixed in precisions:
        r = measure_quick(args, device, mixed)
        d, shape = r["dtype"], f"{r['size']} x 80 x {r['segment']}"
        rows += [
            [f"autoencoder step, pre-training, {shape} ({d})", ms(r["ae_pre"]), f"{1 / r['ae_pre']:.2f} it/s"],
            [f"autoencoder step, adversarial, {shape} ({d})", ms(r["ae_adv"]), f"{1 / r['ae_adv']:.2f} it/s"],
            [f"classifier step, {shape} ({d})", ms(r["clf"]), f"{1 / r['clf']:.2f} it/s"],
            [f"conversion, 80 x {r['frames']} ({d})", ms(r["infer"]), f"RTF {r['infer'] / r['seconds']:.4f}"],
            [f"  + 32-it Griffin-Lim, NNLS mel ({d})", ms(r["convert"]), f"RTF {r['convert'] / r['seconds']:.3f}"],
        ]
    content = "the phone recogniser's bottleneck (random weights)" if quick_config()[0].get("phonetic") else "log-mel"
    print(f"\nquick CPU config (disentangle_quick.yaml, speaker_encoder both, {QUICK_SPEAKERS} speakers, content "
          f"encoder on {content}; conversion with a reference vector, 16 kHz log-mel of conf/feats.yaml, "
          f"{QUICK_SECONDS:.1f} s):")
    print(table(["task", "ours", "rate"], rows))
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
