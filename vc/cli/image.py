"""`vc image <command>`: unpaired image-to-image translation, from data to report.

    vc image data fashion_edges --out data --seed 1
    vc image train --conf conf/cyclegan_quick.yaml --exp exp/cyclegan --data data
    vc image translate --model exp/cyclegan --data data --split test
    vc image evaluate --model exp/cyclegan
    vc image report exp/cyclegan/evaluate --out exp/report
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

from vc.cli.argtypes import whole_number

_positive_int = whole_number(1)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("image", help="unpaired image-to-image translation: data, train, translate, "
                                            "evaluate, report",
                              description="Unpaired image-to-image translation (CycleGAN, a shared-latent "
                                          "UNIT-style model, StarGAN) on offline datasets; see docs/image.md.")
    commands = p.add_subparsers(dest="command", metavar="<command>", required=True)

    c = commands.add_parser("data", help="write a data dir DIR/<split>/<domain>.npz with a builder",
                            description="Write OUT/{train,valid,test}/<domain>.npz with one of the builders: "
                                        "fashion_edges (Fashion-MNIST <-> edge sketches; paired test sets), "
                                        "digits (handwritten <-> typeset), fonts (one domain per font family).")
    c.add_argument("builder", help="fashion_edges, digits or fonts")
    c.add_argument("--out", required=True, help="the data dir")
    c.add_argument("--seed", type=int, default=1, help="every random choice follows from it [1]")
    c.add_argument("--size", type=_positive_int, default=32, help="image side in pixels [32]")
    c.add_argument("--n-train", type=_positive_int, help="training images per domain [the builder's]")
    c.add_argument("--n-valid", type=_positive_int, help="validation images per domain [the builder's]")
    c.add_argument("--n-test", type=_positive_int, help="test images per domain [the builder's]")
    c.add_argument("--fashion-dir",
                   help="fashion_edges: the Fashion-MNIST idx files [/usr/share/datasets/fashion-mnist]")
    c.add_argument("--handwritten", action="store_true", help="fonts: add the handwritten digits as one more domain")
    c.set_defaults(func=run_data)

    c = commands.add_parser("train", help="train an image model from an experiment config",
                            description="Train the image model named in CONF on DATA/train (validating on "
                                        "DATA/valid); checkpoints, logs and TensorBoard go to EXP.")
    c.add_argument("--conf", required=True, help="experiment YAML (model, model_params, data, train)")
    c.add_argument("--exp", required=True, help="experiment directory")
    c.add_argument("--data", help="the data dir (overrides data.root)")
    c.add_argument("--domains", help="comma-separated domains (overrides data.domains; pair models: X,Y)")
    c.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in EXP")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    c.set_defaults(func=run_train)

    c = commands.add_parser("translate", help="translate a split of a data dir with a trained model",
                            description="Translate DATA/SPLIT/<domain>.npz of each of the model's domains into "
                                        "every other domain: OUT/<source>_to_<target>.npz and OUT/translations.json.")
    _model_arguments(c)
    c.add_argument("--data", required=True, help="the data dir")
    c.add_argument("--split", default="test", help="train, valid or test [test]")
    c.add_argument("--out", help="output dir [MODEL/translate/SPLIT]")
    c.add_argument("--batch-size", type=_positive_int, default=64, help="images per forward pass [64]")
    c.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N [auto]")
    c.set_defaults(func=run_translate)

    c = commands.add_parser("evaluate", help="score translations against the untranslated images",
                            description="Train (or load from the cache) the domain and content classifiers, "
                                        "score the translations and the untranslated source images of each "
                                        "direction, write OUT/results.json and print the table.")
    c.add_argument("--model", required=True, help="the experiment dir")
    c.add_argument("--translated", help="a 'vc image translate' output [MODEL/translate/test]")
    c.add_argument("--data", help="the data dir [the one translated from]")
    c.add_argument("--out", help="output dir [MODEL/evaluate]")
    c.add_argument("--label", help="the system's name in tables [MODEL's base name]")
    c.add_argument("--cache-dir", help="where trained classifiers are kept and reused [OUT/classifiers]")
    c.add_argument("--seed", type=int, default=0, help="the classifiers' training seed [0]")
    c.add_argument("--classifier-steps", type=_positive_int, default=None, help="the classifiers' training steps [500]")
    c.set_defaults(func=run_evaluate)

    c = commands.add_parser("report", help="an HTML page of metrics and image grids",
                            description="Write OUT/index.html from the result dirs of 'vc image evaluate': the "
                                        "metrics table, grids of source, translated and (paired test sets) true "
                                        "images, and training curves; every image is embedded.")
    c.add_argument("results", nargs="+", metavar="RESULT_DIR", help="'vc image evaluate' output dirs")
    c.add_argument("--out", required=True, help="directory for index.html")
    c.add_argument("--examples", type=_positive_int, default=8, help="test images per grid row [8]")
    c.add_argument("--title", help="page title [Image translation report]")
    c.set_defaults(func=run_report)


def _model_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("--model", required=True, help="the experiment dir")
    c.add_argument("--checkpoint", help="a checkpoint file [the latest in MODEL/checkpoints]")
    c.add_argument("--no-ema", action="store_true", help="use the live weights even where EMA weights are saved")


def run_data(args: argparse.Namespace) -> int:
    from vc.errors import ConfigError
    from vc.image.datasets.builders import BUILDERS
    from vc.image.imageset import ImageSet

    if args.builder not in BUILDERS:
        raise ConfigError(f"unknown builder {args.builder!r} (available: {', '.join(sorted(BUILDERS))})")
    build = BUILDERS[args.builder]
    options = {"n_train": args.n_train, "n_valid": args.n_valid, "n_test": args.n_test,
               "fashion_dir": args.fashion_dir, "handwritten": args.handwritten or None}
    accepted = inspect.signature(build).parameters
    for name, value in options.items():
        if value is not None and name not in accepted:
            raise ConfigError(f"--{name.replace('_', '-')}: the {args.builder} builder has no such option")
    paths = build(Path(args.out), args.seed, args.size, **{k: v for k, v in options.items() if v is not None})
    for split, domains in paths.items():
        counts = ", ".join(f"{domain} {len(ImageSet.load(path))}" for domain, path in domains.items())
        print(f"{Path(args.out) / split}: {counts}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from vc.image.experiment import ImageExperimentConfig, build_image_trainer

    config = ImageExperimentConfig.load(args.conf).with_data(
        root=args.data, domains=args.domains.split(",") if args.domains else None)
    trainer = build_image_trainer(config, args.exp, device=args.device)
    if trainer.is_main and trainer.description:
        print(trainer.description, flush=True)
    trainer.fit(resume=args.resume)
    print(f"{args.exp}: trained to step {trainer.step}")
    return 0


def run_translate(args: argparse.Namespace) -> int:
    from vc.image.experiment import load_trained_image_model
    from vc.image.translate import translate_split

    trained = load_trained_image_model(args.model, args.checkpoint, use_ema=not args.no_ema)
    out = args.out or Path(args.model) / "translate" / args.split
    done = translate_split(trained, args.data, args.split, out, args.device, args.batch_size)
    weights = "EMA" if trained.using_ema else "live"
    for d in done.directions:
        print(f"{d.source} -> {d.target}: {Path(out) / d.file}")
    print(f"{out}: {len(done.directions)} directions, step {trained.step} ({weights} weights)")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from vc.image.classifier import STEPS
    from vc.image.evaluate import RESULTS, evaluate_translations, format_table

    out = Path(args.out or Path(args.model) / "evaluate")
    results = evaluate_translations(args.translated or Path(args.model) / "translate" / "test", out, args.data,
                                    args.label or Path(args.model).name, args.seed,
                                    args.classifier_steps or STEPS, args.cache_dir)
    print(format_table([results]))
    print(f"\nresults: {out / RESULTS}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from vc.image.report import write_image_report
    from vc.report import human_size

    report = write_image_report(args.results, args.out, args.examples, args.title)
    print(report.text)
    print()
    print(f"report: {report.path} ({human_size(report.size)})")
    return 0
