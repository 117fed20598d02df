"""`vc train`: train the model an experiment config names."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train a model from an experiment config",
                              description="Train the model named in CONF on feature dumps; checkpoints, logs and "
                                          "TensorBoard go to EXP. Under torchrun, trains with DDP. SIGTERM or "
                                          "SIGINT (Slurm's preemption, Ctrl-C) finish the step, write a checkpoint "
                                          "and exit with status 75; a second Ctrl-C stops at once.")
    p.add_argument("--conf", required=True, help="experiment YAML (model, model_params, data, train)")
    p.add_argument("--exp", required=True, help="experiment directory")
    p.add_argument("--resume", nargs="?", const="always", choices=("always", "auto"),
                   help="continue from the latest checkpoint in EXP; '--resume auto': when EXP has one, else start "
                        "afresh (the recipes pass it, so a rerun or a requeued preempted job goes on)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    p.add_argument("--train-dump", help="training feature dump (overrides data.train)")
    p.add_argument("--valid-dump", help="validation feature dump (overrides data.valid)")
    p.add_argument("--stats", help="statistics file (overrides data.stats)")
    p.add_argument("--content-model", help="trained phone_recognizer experiment (overrides content_model)")
    p.add_argument("--speakers", help="comma-separated speakers (overrides data.speakers; cyclegan_vc: SRC,TGT)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from vc.train.checkpoint import latest_checkpoint
    from vc.train.experiment import ExperimentConfig, build_trainer

    config = ExperimentConfig.load(args.conf).with_data(
        train=args.train_dump, valid=args.valid_dump, stats=args.stats,
        speakers=args.speakers.split(",") if args.speakers else None)
    if args.content_model:
        config = replace(config, content_model=args.content_model)
    trainer = build_trainer(config, args.exp, device=args.device)
    if trainer.is_main and trainer.description:
        print(trainer.description, flush=True)
    trainer.fit(resume=args.resume == "always" or (
        args.resume == "auto" and latest_checkpoint(Path(args.exp) / "checkpoints") is not None))
    print(f"{args.exp}: trained to step {trainer.step}")
    return 0
