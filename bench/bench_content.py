"""What the phonetic content path costs in training: the quick configs with it and without it.

Side by side in one process, the sides timed in turn (A, B, A, B, ...), each a
Trainer.train_one at the config's own batch, segment and precision (``train.cpu_bf16``):

* CycleGAN-VC quick (conf/cyclegan_quick.yaml): lambda_content 5 with the phone recogniser
  against the same model with lambda_content 0 and no recogniser;
* disentangle quick: conf/disentangle_quick.yaml (content encoder on the recogniser's
  bottleneck, lambda_content 1, gradient reversal) against the previous log-mel config
  (``PREVIOUS_DISENTANGLE``, the file as of commit f4b17e3: content encoder on the features,
  no lambda_content, alternating classifier steps), per phase, and per schedule (each phase's
  step time x its steps); plus today's config with the recogniser taken out, which separates
  the content path from the other changes the new config made, and today's config with
  lambda_content 0, which separates reading the bottleneck from the content loss;
* the phone recogniser's own training step (conf/phones_quick.yaml's model_params, batch 16
  utterances of 180-220 frames, 40-phone transcripts, its speaker adversary on).

The recogniser inside the conversion models is phones_quick.yaml's network with a dummy
inventory of 60 phones and random weights: the cost does not depend on what it learnt.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from common import (CONF, DUMMY_PHONES, RECOGNIZER_SPEAKERS, alternated_times, model_params, ms, parser,
                    phonetic_params, setup, table)
from vc.config import from_dict, load_yaml
from vc.models.registry import build_model
from vc.train.config import TrainConfig
from vc.train.trainer import Trainer

DIM = 80
SPEAKERS = RECOGNIZER_SPEAKERS  # the demo trains on 12
PHONE_FRAMES = (180, 220)  # utterance lengths of the recogniser's batch (about 3 s at hop 256, 16 kHz)
PHONES_PER_UTTERANCE = 40  # about 12 phones a second
PHONETIC, PREVIOUS, TODAY_LOGMEL = "phonetic", "log-mel, previous", "log-mel, today's"
NO_CONTENT_LOSS = "phonetic, lambda_content 0"

# egs/synth/vc1/conf/disentangle_quick.yaml's model_params and schedule before the phonetic
# content path (`git show f4b17e3:egs/synth/vc1/conf/disentangle_quick.yaml`).
PREVIOUS_DISENTANGLE: dict[str, Any] = {
    "speaker_encoder": "both",
    "embedding_dim": 64,
    "content_encoder": {"channels": 128, "bank_size": 4, "bank_channels": 32, "code_dim": 64, "factors": [1, 2, 2]},
    "reference_encoder": {"channels": 128, "bank_size": 4, "bank_channels": 32, "factors": [2, 2]},
    "decoder": {"channels": 128, "factors": [2, 2, 1], "conditioning": "adain"},
    "classifier": {"channels": 128, "layers": 3},
    "adversarial": "alternate",
    "classifier_steps": 1,
    "adversarial_loss": "confusion",
    "lambda_adv": 0.3,
    "code_noise": 0.5,
    "adv_ramp_steps": 1000,
    "schedule": {"autoencoder": 1200, "classifier": 200, "adversarial": 2400, "patcher": 0},
}


def train_config(config: dict[str, Any], precision: str, **overrides: Any) -> TrainConfig:
    """The config's own ``train:`` section, its precision replaced when ``--precision`` asks."""
    cfg = from_dict(TrainConfig, {**config["train"], **overrides}, "train")
    if precision != "config":
        cfg.cpu_bf16 = cfg.amp = precision == "mixed"
    return cfg


def stepper(trainer: Trainer, batch: dict[str, torch.Tensor], step: int, key: str) -> Callable[[], None]:
    """One train_one at global ``step``, checking the step was the kind meant (it logs ``key``)."""

    def run() -> None:
        trainer.step = step
        logs = trainer.train_one(batch)
        assert key in logs, f"step {step}: expected a step logging {key}, got {sorted(logs)}"

    return run


def count(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def cyclegan(args, device: torch.device, exp: Path) -> tuple[dict[str, Callable[[], None]], dict[str, Any]]:
    config = load_yaml(CONF / "cyclegan_quick.yaml")
    size, frames = config["train"]["batch_size"], config["data"]["segment_frames"]
    batch = {"x": torch.randn(size, DIM, frames, device=device), "y": torch.randn(size, DIM, frames, device=device)}
    with_content = model_params(config)
    without = {k: v for k, v in with_content.items() if k != "phonetic"} | {"lambda_content": 0.0}
    fns, info = {}, {"batch": f"{size} x {DIM} x {frames}", "steps": config["train"]["max_steps"]}
    for name, params in (("cyclegan content", with_content), ("cyclegan plain", without)):
        torch.manual_seed(0)
        model = build_model("cyclegan_vc", DIM, params)
        trainer = Trainer(model, train_config(config, args.precision), exp / name, [batch], device=device)
        fns[name] = stepper(trainer, batch, 0, "g/content")
        info["dtype"] = str(trainer.amp_dtype or "float32")
        info[name] = count(model)
    info["lambda_content"] = with_content["lambda_content"]
    return fns, info


def disentangle(args, device: torch.device, exp: Path) -> tuple[dict[str, Callable[[], None]], dict[str, Any]]:
    config = load_yaml(CONF / "disentangle_quick.yaml")
    size, frames = config["train"]["batch_size"], config["data"]["segment_frames"]
    batch = {"feats": torch.randn(size, DIM, frames, device=device),
             "ref": torch.randn(size, DIM, frames, device=device),
             "speaker": torch.arange(size, device=device) % SPEAKERS}
    today = model_params(config, SPEAKERS)
    variants = {
        PHONETIC: today,
        PREVIOUS: {**PREVIOUS_DISENTANGLE, "num_speakers": SPEAKERS},
        TODAY_LOGMEL: {k: v for k, v in today.items() if k != "phonetic"} | {"lambda_content": 0.0},
        NO_CONTENT_LOSS: today | {"lambda_content": 0.0},
    }
    fns, info = {}, {"batch": f"{size} x {DIM} x {frames}", "schedules": {}}
    for name, params in variants.items():
        torch.manual_seed(0)
        model = build_model("disentangle", DIM, params)
        p, s = model.params, model.params.schedule
        trainer = Trainer(model, train_config(config, args.precision, max_steps=s.total), exp / name, [batch],
                          device=device)
        adv = s.autoencoder + s.classifier
        k = p.classifier_steps if p.adversarial == "alternate" else 0
        fns[f"{name}: ae pre"] = stepper(trainer, batch, 0, "ae/recon")
        fns[f"{name}: clf"] = stepper(trainer, batch, s.autoencoder, "clf/ce")
        fns[f"{name}: ae adv"] = stepper(trainer, batch, adv + k, "adv/ce")
        # Steps of each kind in the schedule: the adversarial phase alternates k classifier
        # steps with one autoencoder step, or (reverse) is all autoencoder steps.
        per_cycle = k + 1 if p.adversarial == "alternate" else 1
        ae_adv = s.adversarial // per_cycle
        info["schedules"][name] = {"ae pre": s.autoencoder, "clf": s.classifier + s.adversarial - ae_adv,
                                   "ae adv": ae_adv}
        info["dtype"] = str(trainer.amp_dtype or "float32")
        info[name] = count(model)
    return fns, info


def recognizer(args, device: torch.device, exp: Path) -> tuple[dict[str, Callable[[], None]], dict[str, Any]]:
    config = load_yaml(CONF / "phones_quick.yaml")
    size = config["train"]["batch_size"]
    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(PHONE_FRAMES[0], PHONE_FRAMES[1] + 1, (size,), generator=gen)
    feats = torch.randn(size, DIM, int(lengths.max()), generator=gen)
    for i, n in enumerate(lengths.tolist()):
        feats[i, :, n:] = 0  # padded as vc.data.transcribed pads
    batch = {"feats": feats, "lengths": lengths,
             "phones": torch.randint(1, DUMMY_PHONES + 1, (size, PHONES_PER_UTTERANCE), generator=gen),
             "phone_lengths": torch.full((size,), PHONES_PER_UTTERANCE), "speaker": torch.arange(size) % SPEAKERS}
    batch = {k: v.to(device) for k, v in batch.items()}
    torch.manual_seed(0)
    model = build_model("phone_recognizer", DIM, phonetic_params(SPEAKERS))
    trainer = Trainer(model, train_config(config, args.precision), exp / "phones", [batch], device=device)
    key = "spk/ce" if model.speaker_classifier is not None else "ctc"
    return {"recogniser": stepper(trainer, batch, 0, key)}, {
        "batch": f"{size} x {DIM} x {PHONE_FRAMES[0]}-{PHONE_FRAMES[1]}", "steps": config["train"]["max_steps"],
        "dtype": str(trainer.amp_dtype or "float32"), "params": count(model)}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--precision", choices=["config", "fp32", "mixed"], default="config",
                   help="each config's own train.cpu_bf16, or fp32 / bf16 autocast for all [config]")
    args = p.parse_args()
    device = setup(args)
    with tempfile.TemporaryDirectory() as tmp:
        exp = Path(tmp)
        parts = {"cyclegan": cyclegan(args, device, exp), "disentangle": disentangle(args, device, exp),
                 "recogniser": recognizer(args, device, exp)}
        fns = {name: fn for part, _ in parts.values() for name, fn in part.items()}
        times = alternated_times(fns, args, device)
    cg, dis, rec = (info for _, info in parts.values())
    # Every figure twice: from the medians, and in brackets from the minimums (on a loaded
    # host the fastest of the runs is the one least slowed by others' work).
    medians = {name: statistics.median(t) for name, t in times.items()}
    minimums = {name: min(t) for name, t in times.items()}

    def both(figure: Callable[[dict[str, float]], str]) -> str:
        return f"{figure(medians)} ({figure(minimums)})"

    def schedule_seconds(t: dict[str, float], name: str) -> float:
        return sum(n * t[f"{name}: {kind}"] for kind, n in dis["schedules"][name].items())

    print("each figure: from the medians (from the minimums)")
    print(f"\nCycleGAN-VC quick (cyclegan_quick.yaml), one training iteration at {cg['batch']} ({cg['dtype']}):")
    rows = []
    for name, label in (("cyclegan content", f"lambda_content {cg['lambda_content']:g}, recogniser"),
                        ("cyclegan plain", "lambda_content 0, no recogniser")):
        rows.append([f"{label} ({cg[name]:.2f} M params)", both(lambda t: ms(t[name])),
                     both(lambda t: f"{1 / t[name]:.2f}"), both(lambda t: minutes(cg["steps"] * t[name])),
                     both(lambda t: f"{t[name] / t['cyclegan plain']:.2f}x")])
    print(table(["model", "step", "it/s", f"{cg['steps']} steps", "ratio"], rows))

    print(f"\ndisentangle quick, per step at {dis['batch']} ({dis['dtype']}); ratio = this row / the previous "
          "log-mel config's:")
    labels = {PHONETIC: "disentangle_quick.yaml (recogniser bottleneck, lambda_content 1, reverse)",
              PREVIOUS: "previous config (f4b17e3: log-mel, alternate, no lambda_content)",
              TODAY_LOGMEL: "today's config, recogniser taken out (log-mel, lambda_content 0)",
              NO_CONTENT_LOSS: "today's config without the content loss (bottleneck, lambda_content 0)"}
    rows = []
    for name, label in labels.items():
        rows.append([f"{label}, {dis[name]:.2f} M", "", "", "", ""])
        for kind, what in (("ae pre", "autoencoder step, pre-training"), ("clf", "classifier step"),
                           ("ae adv", "autoencoder step, adversarial phase")):
            key = f"{name}: {kind}"
            rows.append([f"  {what} (x{dis['schedules'][name][kind]})", both(lambda t: ms(t[key])),
                         both(lambda t: f"{1 / t[key]:.2f}"), "",
                         both(lambda t: f"{t[key] / t[f'{PREVIOUS}: {kind}']:.2f}x")])
        rows.append(["  whole schedule (steps x step time)", "", "",
                     both(lambda t: minutes(schedule_seconds(t, name))),
                     both(lambda t: f"{schedule_seconds(t, name) / schedule_seconds(t, PREVIOUS):.2f}x")])
    print(table(["model / step", "step", "it/s", "schedule", "ratio"], rows))
    for what, a, b in (("the whole content path", PHONETIC, TODAY_LOGMEL),
                       ("reading the bottleneck", NO_CONTENT_LOSS, TODAY_LOGMEL),
                       ("the content loss", PHONETIC, NO_CONTENT_LOSS)):
        ratio = {kind: both(lambda t: f"{t[f'{a}: {kind}'] / t[f'{b}: {kind}']:.2f}x")
                 for kind in ("ae pre", "ae adv", "clf")}
        print(f"{what} (today's config, {a} / {b}): autoencoder step {ratio['ae pre']} pre-training, "
              f"{ratio['ae adv']} adversarial; classifier step {ratio['clf']}; schedule "
              + both(lambda t: f"{schedule_seconds(t, a) / schedule_seconds(t, b):.2f}x"))

    print(f"\nphone recogniser (phones_quick.yaml, {DUMMY_PHONES} phones, {SPEAKERS} speakers, "
          f"{rec['params']:.2f} M params), batch {rec['batch']} frames ({rec['dtype']}):")
    print(table(["step", "it/s", f"{rec['steps']} steps", "/ CycleGAN content step", "/ disentangle schedule"], [
        [both(lambda t: ms(t["recogniser"])), both(lambda t: f"{1 / t['recogniser']:.2f}"),
         both(lambda t: minutes(rec["steps"] * t["recogniser"])),
         both(lambda t: f"{t['recogniser'] / t['cyclegan content']:.2f}x"),
         both(lambda t: f"{rec['steps'] * t['recogniser'] / schedule_seconds(t, PHONETIC):.2f}x")],
    ]))


if __name__ == "__main__":
    main()
