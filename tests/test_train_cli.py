"""`vc train` end to end with CycleGAN-VC on a tiny dump: checkpoints, exact resume, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from vc.audio import FeatureConfig
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.train.checkpoint import latest_checkpoint, load_checkpoint

TINY_MODEL = {
    "generator": {"channels": 8, "down_channels": [16, 16], "residual_channels": 16, "residual_blocks": 1,
                  "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3},
    "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]},
    "max_mask_frames": 4,
}


@pytest.fixture
def dump(speech_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "dump"
    extract_dump(DataDir.read(speech_dir), FeatureConfig(n_mels=20), out, progress=False)
    compute_stats(FeatureDump.open(out)).save(out / "stats.npz")
    return out


def _conf(tmp_path: Path, name: str, max_steps: int) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "model": "cyclegan_vc", "model_params": TINY_MODEL,
        "data": {"segment_frames": 24},
        "train": {"max_steps": max_steps, "batch_size": 2, "log_interval": 1, "eval_interval": 100,
                  "save_interval": 2, "optim": {"generator": {"lr": 1e-3}, "discriminator": {"lr": 1e-3}}},
    }))
    return path


def _train(conf: Path, exp: Path, dump: Path, *extra: str) -> int:
    return main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump),
                 "--speakers", "spkA,spkB", "--device", "cpu", *extra])


def _losses(exp: Path) -> list[str]:
    return [line.split(" ", 2)[2].rsplit(" it/s=", 1)[0]
            for line in (exp / "log" / "train.log").read_text().splitlines() if " step=" in line]


def test_resume_continues_exactly(dump: Path, tmp_path: Path) -> None:
    assert _train(_conf(tmp_path, "four", 4), tmp_path / "straight", dump) == 0
    assert _train(_conf(tmp_path, "two", 2), tmp_path / "split", dump) == 0  # "killed" after step 2
    assert _train(_conf(tmp_path, "four", 4), tmp_path / "split", dump, "--resume") == 0
    straight = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    resumed = load_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))
    assert straight["step"] == resumed["step"] == 4
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0, msg=key)
    assert _losses(tmp_path / "split") == _losses(tmp_path / "straight")
    extra = straight["extra"]
    assert extra["speakers"] == ["spkA", "spkB"] and extra["feature_config"]["n_mels"] == 20
    assert set(extra["stats"]) == {"global", "spk/spkA", "spk/spkB"}
    assert yaml.safe_load((tmp_path / "straight" / "config.yaml").read_text())["model"] == "cyclegan_vc"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--speakers", "spkA"], r"data.speakers: cyclegan_vc converts one pair; give \[source, target\]"),
        (["--speakers", "spkA,nobody"], r"unknown speaker 'nobody' \(known: spkA, spkB\)"),
        (["--stats", "/nonexistent/stats.npz"], r"stats.npz: statistics file not found"),
    ],
)
def test_bad_training_setup_is_one_line(dump: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    conf = _conf(tmp_path, "c", 2)
    argv = ["train", "--conf", str(conf), "--exp", str(tmp_path / "e"), "--train-dump", str(dump),
            "--speakers", "spkA,spkB", *args]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vc train: error: ") and len(err.splitlines()) == 1
    import re
    assert re.search(message, err), err


def test_unknown_model_and_key_name_the_file(tmp_path: Path, dump: Path, capsys) -> None:
    conf = tmp_path / "bad.yaml"
    conf.write_text("model: cyclegan\ntrain: {max_steps: 1}\n")
    assert _train(conf, tmp_path / "e", dump) == 1
    assert "bad.yaml: model: unknown model 'cyclegan' (available: cyclegan_vc, " in capsys.readouterr().err
    conf.write_text("model: cyclegan_vc\ntrain: {max_steps: 1, lr: 3}\n")
    assert _train(conf, tmp_path / "e", dump) == 1
    assert "bad.yaml: train.lr: unknown key" in capsys.readouterr().err


def _stargan_conf(tmp_path: Path, num_speakers: int | None) -> Path:
    path = tmp_path / f"stargan{num_speakers}.yaml"
    params = {"generator": TINY_MODEL["generator"], "discriminator": TINY_MODEL["discriminator"]}
    if num_speakers is not None:
        params["num_speakers"] = num_speakers
    path.write_text(yaml.safe_dump({
        "model": "stargan_vc",
        "model_params": params,
        "data": {"segment_frames": 24},
        "train": {"max_steps": 2, "batch_size": 2, "log_interval": 1},
    }))
    return path


def test_stargan_trains_on_all_speakers(dump: Path, tmp_path: Path) -> None:
    exp = tmp_path / "sg"
    assert main(["train", "--conf", str(_stargan_conf(tmp_path, 2)), "--exp", str(exp), "--train-dump", str(dump),
                 "--device", "cpu"]) == 0
    state = load_checkpoint(latest_checkpoint(exp / "checkpoints"))
    assert state["step"] == 2 and any(k.startswith("generator.") for k in state["model"])
    assert state["extra"]["speakers"] == ["spkA", "spkB"]  # taken from the dump when the config names none


def test_stargan_speaker_count_must_match(dump: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "--conf", str(_stargan_conf(tmp_path, 3)), "--exp", str(tmp_path / "sg"),
                 "--train-dump", str(dump)]) == 1
    assert "model_params.num_speakers: 3, but the data has 2 speakers (spkA, spkB)" in capsys.readouterr().err


def test_stargan_num_speakers_defaults_to_the_data(dump: Path, tmp_path: Path, speech) -> None:
    from vc import Converter

    exp = tmp_path / "sg"
    assert main(["train", "--conf", str(_stargan_conf(tmp_path, None)), "--exp", str(exp), "--train-dump", str(dump),
                 "--device", "cpu"]) == 0
    assert yaml.safe_load((exp / "config.yaml").read_text())["model_params"]["num_speakers"] == 2
    out = Converter.load(exp, device="cpu").convert(speech[:16000], 16000, "spkB", "spkA", n_iter=4)
    assert out.shape == (16000,)
