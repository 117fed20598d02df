"""Nested model_params (generator, discriminator, encoders, decoder, vocoder losses, ...) are checked
against the networks' constructors: an unknown, mistyped or out-of-range key is one line naming its
full path, before anything is written to the experiment directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import yaml

from vc.audio import FeatureConfig
from vc.cli import main
from vc.config import PositiveInt, Range, coerce
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import ConfigError
from vc.models import build_model
from vc.models.registry import build_network

GENERATOR = {"channels": 8, "down_channels": [16, 16], "residual_channels": 16, "residual_blocks": 1,
             "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3}
DISCRIMINATOR = {"channels": [8, 16], "final_kernel": [1, 3]}
GAN = {"generator": GENERATOR, "discriminator": DISCRIMINATOR}
DISENTANGLE = {"content_encoder": {"channels": 8, "bank_size": 2, "bank_channels": 4, "code_dim": 4,
                                   "factors": [1, 2]},
               "reference_encoder": {"channels": 8, "bank_size": 2, "bank_channels": 4, "factors": [2]},
               "decoder": {"channels": 8, "factors": [2, 1]}, "classifier": {"channels": 8, "layers": 1},
               "embedding_dim": 4, "schedule": {"autoencoder": 1, "classifier": 0, "adversarial": 0}}
RECOGNIZER = {"phones": ["a", "b", "c"], "channels": 8, "kernel": 3, "dilations": [1], "bottleneck": 4}
VOCODER = {"layers": 2, "stacks": 1, "residual_channels": 4, "gate_channels": 8, "skip_channels": 4,
           "discriminator_layers": 2, "discriminator_channels": 4, "upsample": {"scales": [4, 4, 4, 4]}}


def nested(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``base`` with ``value`` set at the dotted ``path`` (the mappings on the way copied)."""
    head, _, rest = path.partition(".")
    if not rest:
        return {**base, head: value}
    return {**base, head: nested(base.get(head, {}), rest, value)}


BAD = [  # (model, its valid params, dotted key, bad value, the message)
    ("cyclegan_vc", GAN, "generator.kernal", 5,
     r"model_params\.generator\.kernal: unknown key \(expected one of: causal, channels, .*kernel, "),
    ("cyclegan_vc", GAN, "discriminator.bogus", 1,
     r"model_params\.discriminator\.bogus: unknown key \(expected one of: channels, "),
    ("cyclegan_vc", GAN, "generator.kernel", "three", r"model_params\.generator\.kernel: expected int, got 'three'"),
    ("cyclegan_vc", GAN, "generator.residual_blocks", -2,
     r"model_params\.generator\.residual_blocks: must be >= 1, got -2"),
    ("cyclegan_vc", GAN, "generator.channels", 0, r"model_params\.generator\.channels: must be >= 1, got 0"),
    ("cyclegan_vc", GAN, "generator.down_channels", [16, 0],
     r"model_params\.generator\.down_channels\[1\]: must be >= 1, got 0"),
    ("cyclegan_vc", GAN, "discriminator.kernel_size", "x",
     r"model_params\.discriminator\.kernel_size: expected int or a list, got 'x'"),
    ("cyclegan_vc", GAN, "generator.cond_dim", 4, r"model_params\.generator\.cond_dim: not a cyclegan_vc setting"),
    ("stargan_vc", GAN, "generator.kernal", 5, r"model_params\.generator\.kernal: unknown key"),
    ("stargan_vc", GAN, "discriminator.channels", [8, "a"],
     r"model_params\.discriminator\.channels\[1\]: expected int, got 'a'"),
    ("stargan_vc", GAN, "generator.cond_dim", 4, r"model_params\.generator\.cond_dim: set from the speaker code"),
    ("disentangle", DISENTANGLE, "content_encoder.channels", 0,
     r"model_params\.content_encoder\.channels: must be >= 1, got 0"),
    ("disentangle", DISENTANGLE, "decoder.sequence", "lstm",
     r"model_params\.decoder\.sequence: 'lstm' is not one of 'gru', 'attention', 'none'"),
    ("disentangle", DISENTANGLE, "classifier.kernal", 3, r"model_params\.classifier\.kernal: unknown key"),
    ("disentangle", DISENTANGLE, "reference_encoder.factors", [2, -1],
     r"model_params\.reference_encoder\.factors\[1\]: must be >= 1, got -1"),
    ("phone_recognizer", RECOGNIZER, "dropout", 1.5, r"model_params\.dropout: must be in \[0, 1\), got 1\.5"),
    ("phone_recognizer", RECOGNIZER, "dilations", [1, 0], r"model_params\.dilations\[1\]: must be >= 1, got 0"),
    ("parallel_wavenet", VOCODER, "stft.fft_size", [512], r"model_params\.stft\.fft_size: unknown key"),
    ("parallel_wavenet", VOCODER, "stft.hop_sizes", [120, 0, 50],
     r"model_params\.stft\.hop_sizes\[1\]: must be >= 1, got 0"),
    ("parallel_wavenet", VOCODER, "upsample.context_frames", -1,
     r"model_params\.upsample\.context_frames: must be >= 0, got -1"),
]


@pytest.fixture
def dump(speech_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "dump"
    extract_dump(DataDir.read(speech_dir), FeatureConfig(n_mels=20, hop_length=256), out, progress=False)
    compute_stats(FeatureDump.open(out)).save(out / "stats.npz")
    return out


@pytest.mark.parametrize(("model", "params", "key", "value", "message"), BAD,
                         ids=[f"{case[0]}:{case[2]}" for case in BAD])
def test_bad_nested_key_is_one_line_before_the_experiment_is_written(
        dump: Path, tmp_path: Path, capsys: pytest.CaptureFixture, model: str, params: dict, key: str, value: Any,
        message: str) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump({"model": model, "model_params": nested(params, key, value),
                                    "data": {"segment_frames": 24}, "train": {"max_steps": 1, "batch_size": 2}}))
    exp = tmp_path / "exp"
    assert main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump),
                 "--speakers", "spkA,spkB", "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("vc train: error: "), err
    assert re.search(message, err), err
    assert not exp.exists() or not any(exp.iterdir())


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("digits") / "data"
    assert main(["image", "data", "digits", "--out", str(out), "--n-train", "4", "--n-valid", "2", "--n-test", "2",
                 "--size", "16"]) == 0
    return out


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ngf", "wide", r"model_params\.ngf: expected int, got 'wide'"),
    ("n_down", -1, r"model_params\.n_down: must be >= 0, got -1"),
])
def test_bad_image_model_key_is_one_line(digits: Path, tmp_path: Path, capsys: pytest.CaptureFixture, key: str,
                                         value: Any, message: str) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump({"model": "image_cyclegan", "model_params": {key: value},
                                    "data": {"domains": ["handwritten", "typeset"]}, "train": {"max_steps": 1}}))
    exp = tmp_path / "exp"
    capsys.readouterr()
    assert main(["image", "train", "--conf", str(conf), "--exp", str(exp), "--data", str(digits)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
    assert not exp.exists()


@pytest.mark.parametrize(("model", "params"), [
    ("cyclegan_vc", GAN), ("stargan_vc", {**GAN, "num_speakers": 2}),
    ("disentangle", {**DISENTANGLE, "num_speakers": 2}),
    ("phone_recognizer", RECOGNIZER),
    ("parallel_wavenet", {**VOCODER, "stft": {"fft_sizes": [512, 256], "hop_sizes": [64, 32],
                                              "win_lengths": [256, 128]}}),
    ("wavenet", {"layers": 2, "stacks": 1, "residual_channels": 4, "gate_channels": 8, "skip_channels": 4}),
    ("image_stargan", {"num_domains": 3, "image_size": 16, "ngf": 4, "ndf": 4, "n_blocks": 1, "n_down": 1}),
])
def test_valid_nested_params_still_build(model: str, params: dict) -> None:
    assert sum(p.numel() for p in build_model(model, 20, params).parameters()) > 0


def widths(channels: tuple[PositiveInt, ...], scale: float = 1.0) -> tuple[tuple[int, ...], float]:
    return channels, scale


def test_values_take_the_types_the_constructor_declares() -> None:
    assert build_network("net", widths, channels=[4, 8], scale=2) == ((4, 8), 2.0)
    assert isinstance(build_network("net", widths, [4])[1], float)
    with pytest.raises(ConfigError, match=r"^model_params\.net: missing a required argument: 'channels'$"):
        build_network("net", widths)
    with pytest.raises(ConfigError, match=r"^model_params\.net\.scale: expected float, got 'x'$"):
        build_network("net", widths, [4], scale="x")


@pytest.mark.parametrize(("bound", "good", "bad", "message"), [
    (Range(ge=1), 1, 0, "k: must be >= 1, got 0"),
    (Range(ge=0, lt=1), 0.0, 1.0, r"k: must be in \[0, 1\), got 1\.0"),
    (Range(lt=0), -1, 0, "k: must be < 0, got 0"),
])
def test_range(bound: Range, good: float, bad: float, message: str) -> None:
    assert coerce(Annotated[type(good), bound], good, "k") == good
    with pytest.raises(ConfigError, match=message):
        coerce(Annotated[type(good), bound], bad, "k")
