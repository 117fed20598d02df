"""The world vocoder: WORLD synthesis behind the vocoders' common call, and `vc vocode --vocoder world`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from vc.audio import FeatureConfig, WorldConfig
from vc.audio.world import synthesize, unpack, world_features
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import extract_dump
from vc.errors import ConfigError
from vc.vocoders import WorldVocoder, load_vocoder

SR = 16000
WORLD_CONF = "kind: world\nworld: {f0_method: dio}\n"


@pytest.fixture(scope="module")
def cfg() -> FeatureConfig:
    return FeatureConfig(kind="world", world=WorldConfig(f0_method="dio"))


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "feats_world.yaml"
    path.write_text(WORLD_CONF)
    return path


def test_batch_synthesis_equals_world_per_utterance(speech: np.ndarray, cfg: FeatureConfig) -> None:
    feats = world_features(speech[:12000], cfg)
    vocoder = load_vocoder("world", cfg)
    assert isinstance(vocoder, WorldVocoder)
    batch = torch.from_numpy(np.stack([feats, feats[::-1].copy()])).transpose(1, 2)
    out = vocoder(batch, length=12000)
    assert out.shape == (2, 12000) and out.dtype == torch.float32
    expected = synthesize(unpack(feats, cfg), cfg)[:12000]
    np.testing.assert_allclose(out[0].numpy(), np.pad(expected, (0, 12000 - len(expected))), atol=1e-6)
    # Without a length: (frames - 1) * hop samples, zero-padded past WORLD's own output.
    assert vocoder(batch[:1]).shape[-1] == cfg.hop_length * (len(feats) - 1)
    assert vocoder(batch[:1], length=20000)[0, 15000:].abs().max() == 0


def test_wrong_kind_and_width_are_clear_errors(cfg: FeatureConfig) -> None:
    with pytest.raises(ConfigError, match=r"the world vocoder synthesises WORLD features; the feature config "
                                          r"has kind 'logmel' \(use gl\)"):
        load_vocoder("world", FeatureConfig(kind="logmel"))
    with pytest.raises(ConfigError, match=rf"world vocoder: expected features \[batch, {cfg.dim}, frames\]"):
        WorldVocoder(cfg)(torch.zeros(1, 80, 10))
    with pytest.raises(TypeError):  # it takes no options; vc convert turns this into one line
        load_vocoder("world", cfg, n_iter=8)


def read_scores(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_cli_copy_synthesises_a_wav(speech: np.ndarray, conf: Path, tmp_path: Path, capsys) -> None:
    wav = tmp_path / "in.wav"
    sf.write(wav, speech[:16000], SR)
    out = tmp_path / "out.wav"
    assert main(["vocode", "--vocoder", "world", "--conf", str(conf), str(wav), "--out", str(out)]) == 0
    copy, sr = sf.read(out)
    assert sr == SR and len(copy) == 16000 and np.abs(copy).max() > 0.01
    rows = read_scores(tmp_path / "out.scores.tsv")
    # WORLD keeps more of the envelope than Griffin-Lim from log-mels (about 4 dB MCD against 8 on this speech).
    assert rows[1][0] == "in" and 0 < float(rows[1][5]) < 6
    assert "with world on cpu" in capsys.readouterr().out


def test_cli_copy_synthesises_a_data_dir_and_a_dump(speech_dir: Path, conf: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    assert main(["vocode", "--vocoder", "world", "--conf", str(conf), "--data", str(speech_dir),
                 "--out", str(out)]) == 0
    utts = DataDir.read(speech_dir).utts
    assert [r[0] for r in read_scores(out / "scores.tsv")[1:]] == utts
    assert [line.split()[0] for line in (out / "wav.scp").read_text().splitlines()] == utts
    assert sf.info(out / "spkB_002.wav").samplerate == SR  # stored at 22.05 kHz

    cfg = FeatureConfig.load(conf)
    extract_dump(DataDir.read(speech_dir), cfg, tmp_path / "dump", progress=False)
    from_dump = tmp_path / "from_dump"
    assert main(["vocode", "--vocoder", "world", "--scp", str(tmp_path / "dump"), "--batch-size", "2",
                 "--out", str(from_dump)]) == 0
    assert sf.info(from_dump / "spkA_001.wav").frames == cfg.hop_length * (cfg.num_frames(16000) - 1)
    assert not (from_dump / "scores.tsv").exists()


@pytest.mark.parametrize(("conf_text", "message"), [
    ("kind: logmel\n", "the world vocoder synthesises WORLD features; the feature config has kind 'logmel'"),
    (None, "--conf FEATS.yaml is required to compute features from audio for --vocoder world"),
])
def test_cli_usage_errors_are_one_line(speech: np.ndarray, tmp_path: Path, capsys, conf_text: str | None,
                                       message: str) -> None:
    wav = tmp_path / "in.wav"
    sf.write(wav, speech[:8000], SR)
    args = []
    if conf_text is not None:
        (tmp_path / "feats.yaml").write_text(conf_text)
        args = ["--conf", str(tmp_path / "feats.yaml")]
    out = tmp_path / "out"
    assert main(["vocode", "--vocoder", "world", *args, str(wav), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()
