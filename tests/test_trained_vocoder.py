"""Trained vocoders end to end: `vc train` on a dump with audio, then `vc vocode` and `vc convert --vocoder EXP`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from vc.audio import FeatureConfig
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import ConfigError
from vc.vocoders import load_vocoder
from vc.vocoders.trained import TrainedVocoder

FEATS = FeatureConfig(n_fft=512, hop_length=128, n_mels=20)
TINY = {
    "parallel_wavenet": {"layers": 4, "stacks": 2, "residual_channels": 8, "gate_channels": 16, "skip_channels": 8,
                         "upsample": {"scales": [4, 32], "context_frames": 1},
                         "discriminator_layers": 3, "discriminator_channels": 8, "discriminator_start": 1,
                         "stft": {"fft_sizes": [128, 256], "hop_sizes": [32, 64], "win_lengths": [128, 256]}},
    "wavenet": {"layers": 4, "stacks": 2, "residual_channels": 8, "gate_channels": 16, "skip_channels": 8,
                "mixtures": 2, "upsample": {"scales": [4, 32], "context_frames": 1}},
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> Path:
    root = tmp_path_factory.mktemp("vocoders")
    pieces = {"spkA_001": speech[:16000], "spkA_002": speech[16000:40000], "spkB_001": speech[24000:48000] * 0.5}
    for utt, wav in pieces.items():
        sf.write(root / f"{utt}.wav", wav, 16000)
    DataDir({utt: str(root / f"{utt}.wav") for utt in pieces}, {utt: utt[:4] for utt in pieces}).write(root / "data")
    dump = root / "dump"
    extract_dump(DataDir.read(root / "data"), FEATS, dump, save_audio=True, progress=False)
    compute_stats(FeatureDump.open(dump)).save(dump / "stats.npz")
    return root


def write_conf(root: Path, model: str, **params) -> Path:
    conf = root / f"{model}.yaml"
    conf.write_text(yaml.safe_dump({
        "model": model, "model_params": {**TINY[model], **params}, "data": {"segment_frames": 8},
        "train": {"max_steps": 2, "batch_size": 2, "save_interval": 2, "log_interval": 1}}))
    return conf


@pytest.fixture(scope="module", params=["parallel_wavenet", "wavenet"])
def exp(request: pytest.FixtureRequest, data: Path) -> Path:
    out = data / f"exp_{request.param}"
    if not out.exists():
        assert main(["train", "--conf", str(write_conf(data, request.param)), "--exp", str(out),
                     "--train-dump", str(data / "dump"), "--device", "cpu"]) == 0
    return out


def test_training_reports_the_receptive_field(exp: Path) -> None:
    log = (exp / "log" / "train.log").read_text()
    assert "receptive field" in log and "samples" in log


def test_copy_synthesis_with_a_trained_vocoder_needs_no_conf(exp: Path, data: Path, capsys) -> None:
    out = data / f"copy_{exp.name}"
    assert main(["vocode", "--vocoder", str(exp), "--data", str(data / "data"), "--out", str(out),
                 "--batch-size", "2"]) == 0
    for utt in ("spkA_001", "spkA_002", "spkB_001"):
        wav, sr = sf.read(out / f"{utt}.wav")
        assert sr == 16000 and len(wav) == sf.info(data / f"{utt}.wav").frames and np.isfinite(wav).all()
    assert len((out / "scores.tsv").read_text().splitlines()) == 4
    assert f"with {exp}" in capsys.readouterr().out


def test_trained_vocoder_normalises_with_its_statistics(exp: Path, data: Path) -> None:
    vocoder = load_vocoder(str(exp), FEATS)
    assert isinstance(vocoder, TrainedVocoder) and vocoder.feature_config == FEATS
    feats = torch.from_numpy(np.array(FeatureDump.open(data / "dump")["spkA_001"])).T[None]
    stats = compute_stats(FeatureDump.open(data / "dump")).global_
    seed = lambda: torch.Generator().manual_seed(3)
    expected = vocoder.model.inference(stats.normalize(feats, axis=1).float(), generator=seed())
    torch.testing.assert_close(vocoder(feats, generator=seed()), expected)
    assert vocoder(feats, length=1000, generator=seed()).shape == (1, 1000)


def test_a_feature_config_mismatch_names_the_field(exp: Path, data: Path, capsys) -> None:
    other = data / "other.yaml"
    other.write_text(yaml.safe_dump({"kind": "logmel", "n_fft": 512, "hop_length": 128, "n_mels": 40}))
    out = data / "mismatch"
    assert main(["vocode", "--vocoder", str(exp), "--conf", str(other), str(data / "spkA_001.wav"),
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_mels: 40 != 20" in err and not out.exists()
    with pytest.raises(ConfigError, match="n_mels"):
        load_vocoder(str(exp), FeatureConfig.load(other))


def test_unknown_inference_option_is_named(exp: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'steps'"):
        load_vocoder(str(exp), None, steps=3)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"upsample": {"scales": [4, 4], "context_frames": 1}}, "product 16 (4 x 4) must equal the features' hop_length 128"),
     ({"layers": 5}, "model_params"),
     ({"save_audio": False}, "--save-audio")],
)
def test_training_config_errors_are_one_line(data: Path, tmp_path: Path, capsys, change: dict, message: str) -> None:
    dump = data / "dump"
    if change.pop("save_audio", True) is False:
        dump = tmp_path / "plain"
        extract_dump(DataDir.read(data / "data"), FEATS, dump, progress=False)
        compute_stats(FeatureDump.open(dump)).save(dump / "stats.npz")
    conf = write_conf(tmp_path, "parallel_wavenet", **change)
    assert main(["train", "--conf", str(conf), "--exp", str(tmp_path / "exp"), "--train-dump", str(dump),
                 "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.fixture(scope="module")
def cyclegan(data: Path) -> Path:
    """A conversion model on the same features, trained for one step."""
    conf = data / "cyclegan.yaml"
    conf.write_text(yaml.safe_dump({
        "model": "cyclegan_vc", "data": {"segment_frames": 16, "short": "wrap"},
        "model_params": {"generator": {"channels": 4, "down_channels": [8, 8], "residual_channels": 8,
                                       "residual_blocks": 1, "up_channels": [4, 4], "first_kernel": [3, 5],
                                       "kernel": 3},
                         "discriminator": {"channels": [4, 8], "final_kernel": [1, 3]}},
        "train": {"max_steps": 1, "batch_size": 1, "save_interval": 1}}))
    exp = data / "exp_cyclegan"
    assert main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(data / "dump"),
                 "--speakers", "spkA,spkB", "--device", "cpu"]) == 0
    return exp


def test_a_conversion_model_is_not_a_vocoder(cyclegan: Path, data: Path, tmp_path: Path, capsys) -> None:
    assert main(["vocode", "--vocoder", str(cyclegan), str(data / "spkA_001.wav"), "--out", str(tmp_path / "o")]) == 1
    assert "not a vocoder" in capsys.readouterr().err


def test_convert_through_a_trained_vocoder(cyclegan: Path, exp: Path, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "converted.wav"
    assert main(["convert", "--model", str(cyclegan), "--src-spk", "spkA", "--tgt-spk", "spkB",
                 "--vocoder", str(exp), str(data / "spkA_001.wav"), "--out", str(out)]) == 0
    wav, sr = sf.read(out)
    assert sr == 16000 and len(wav) == sf.info(data / "spkA_001.wav").frames and np.isfinite(wav).all()


@pytest.mark.slow  # naive generation of 1.5 s of audio
def test_wavenet_naive_method_gives_the_incremental_samples(data: Path, tmp_path: Path) -> None:
    exp = data / "exp_wavenet_methods"
    assert main(["train", "--conf", str(write_conf(data, "wavenet")), "--exp", str(exp),
                 "--train-dump", str(data / "dump"), "--device", "cpu"]) == 0
    outs = {}
    for method in ("incremental", "naive"):
        out = tmp_path / f"{method}.wav"
        assert main(["vocode", "--vocoder", str(exp), "--method", method, "--seed", "4",
                     str(data / "spkB_001.wav"), "--out", str(out)]) == 0
        outs[method] = sf.read(out, dtype="float32")[0]
    np.testing.assert_allclose(outs["incremental"], outs["naive"], atol=1e-4)
