"""Converter and `vc convert`: a tiny CycleGAN-VC trained for 2 steps, then conversion end to end."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from vc import Converter
from vc.audio import FeatureConfig, WorldConfig
from vc.audio.features import FeatureComputer
from vc.audio.stats import FeatureStats
from vc.audio.world import world_layout
from vc.cli import main
from vc.config import to_dict
from vc.convert import chunk_spans
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import AudioError, ConfigError, DataError
from vc.models import build_model
from vc.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint

TINY_MODEL = {
    "generator": {"channels": 8, "down_channels": [16, 16], "residual_channels": 16, "residual_blocks": 1,
                  "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3},
    "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]},
    "max_mask_frames": 4,
}
FEATS = FeatureConfig(n_mels=20)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> Path:
    """spkA and spkB, two utterances each, cut from the sample speech."""
    root = tmp_path_factory.mktemp("convert")
    pieces = {"spkA_001": speech[:16000], "spkA_002": speech[16000:40000],
              "spkB_001": speech[24000:48000] * 0.5, "spkB_002": speech[40000:]}
    for utt, wav in pieces.items():
        sf.write(root / f"{utt}.wav", wav, 16000)
    DataDir({utt: str(root / f"{utt}.wav") for utt in pieces}, {utt: utt[:4] for utt in pieces}).write(root / "data")
    return root


@pytest.fixture(scope="module")
def exp(data: Path) -> Path:
    """An experiment trained for 2 steps with EMA on (decay 0.5, so shadows differ from weights)."""
    dump = data / "dump"
    extract_dump(DataDir.read(data / "data"), FEATS, dump, progress=False)
    compute_stats(FeatureDump.open(dump)).save(dump / "stats.npz")
    conf = data / "exp.yaml"
    conf.write_text(yaml.safe_dump({
        "model": "cyclegan_vc", "model_params": TINY_MODEL, "data": {"segment_frames": 24},
        "train": {"max_steps": 2, "batch_size": 2, "save_interval": 2, "ema_decay": 0.5},
    }))
    out = data / "exp"
    assert main(["train", "--conf", str(conf), "--exp", str(out), "--train-dump", str(dump),
                 "--speakers", "spkA,spkB", "--device", "cpu"]) == 0
    return out


@pytest.fixture
def cli():
    return lambda *argv: main(["convert", *argv])


def _wav(data: Path, utt: str) -> np.ndarray:
    return sf.read(data / f"{utt}.wav", dtype="float32")[0]


# ---- the API ----------------------------------------------------------------------------------


def test_convert_both_directions_at_input_length(exp: Path, data: Path) -> None:
    conv = Converter.load(exp, device="cpu")
    assert conv.sample_rate == 16000 and conv.speakers == ["spkA", "spkB"] and conv.step == 2
    wav = _wav(data, "spkA_001")
    a_to_b = conv.convert(wav, 16000, "spkA", "spkB", n_iter=4)
    b_to_a = conv.convert(wav, 16000, "spkB", "spkA", n_iter=4)
    assert a_to_b.dtype == np.float32 and a_to_b.shape == b_to_a.shape == wav.shape
    assert np.all(np.isfinite(a_to_b)) and not np.allclose(a_to_b, b_to_a)
    # another rate is resampled: the output has the feature rate and the resampled length
    import soxr

    assert len(conv.convert(soxr.resample(wav, 16000, 22050), 22050, "spkA", "spkB", n_iter=1)) == \
        len(soxr.resample(soxr.resample(wav, 16000, 22050), 22050, 16000))


def test_convert_features_chunked_matches_whole(exp: Path, speech: np.ndarray) -> None:
    whole = Converter.load(exp, device="cpu", chunk_frames=None)
    chunked = Converter.load(exp, device="cpu", chunk_frames=128, overlap_frames=32)
    feats = FeatureComputer(FEATS)(speech)  # 251 frames: 3 chunks
    assert len(chunk_spans(len(feats), 128, 32)) == 3
    # The stitching itself is exact: a frame-wise route gives the same chunked as whole.
    x = torch.randn(1, 20, len(feats))
    torch.testing.assert_close(chunked._run_chunked(lambda t: 2 * t + 1, x), 2 * x + 1, rtol=0, atol=1e-5)
    a, b = whole.convert_features(feats, "spkA", "spkB"), chunked.convert_features(feats, "spkA", "spkB")
    assert a.shape == b.shape == feats.shape
    # Through the generator it cannot be exact: its instance norms take statistics over the
    # frames they see (a chunk's, not the utterance's), and chunk edges see zero padding. For
    # this barely trained model, whose output still follows those statistics closely, that
    # moves the result by ~22% of the conversion's own change (mean |a - b| vs mean |a - x|).
    assert np.abs(a - b).mean() < 0.3 * np.abs(a - feats).mean()
    for frames in (61, 62, 63, 150, 151, 201):  # the generator's 4x down/upsampling is cropped back
        assert chunked.convert_features(feats[:frames], "spkA", "spkB").shape == (frames, FEATS.dim)
        assert whole.convert_features(feats[:frames], "spkA", "spkB").shape == (frames, FEATS.dim)


def test_bf16_conversion_stays_close_to_fp32(exp: Path, speech: np.ndarray) -> None:
    feats = FeatureComputer(FEATS)(speech)
    fp32 = Converter.load(exp, device="cpu").convert_features(feats, "spkA", "spkB")
    bf16 = Converter.load(exp, device="cpu", bf16=True).convert_features(feats, "spkA", "spkB")
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    # bf16 keeps 8 bits of mantissa: ~1% of the output's range was seen on the paper-size generator.
    assert np.abs(bf16 - fp32).max() < 0.05 * np.abs(fp32).max()
    assert not np.array_equal(bf16, fp32)  # autocast really ran


def test_chunk_spans_cover_with_overlap() -> None:
    for frames in (513, 1000, 1500, 4097):
        spans = chunk_spans(frames, 512, 32)
        assert spans[0][0] == 0 and spans[-1][1] == frames
        assert all(end - start == 512 for start, end in spans)
        assert all(b[0] <= a[1] - 32 for a, b in zip(spans, spans[1:]))
    assert chunk_spans(100, 512, 32) == [(0, 100)]


def test_ema_weights_are_used_when_present(exp: Path) -> None:
    state = load_checkpoint(latest_checkpoint(exp / "checkpoints"))
    ema, plain = Converter.load(exp, device="cpu"), Converter.load(exp, device="cpu", use_ema=False)
    assert ema.using_ema and not plain.using_ema
    key = "first.conv.weight"
    ema_weight = ema.model.g_xy.state_dict()[key]
    torch.testing.assert_close(ema_weight, state["ema"]["g_xy"][key], rtol=0, atol=0)
    torch.testing.assert_close(plain.model.g_xy.state_dict()[key], state["model"][f"g_xy.{key}"], rtol=0, atol=0)
    assert not torch.equal(ema_weight, state["model"][f"g_xy.{key}"])


def test_api_errors(exp: Path, data: Path, tmp_path: Path) -> None:
    conv = Converter.load(exp, device="cpu")
    with pytest.raises(ConfigError, match=r"unknown speaker 'spkC': this model converts between spkA, spkB"):
        conv.convert(_wav(data, "spkA_001"), 16000, "spkA", "spkC")
    with pytest.raises(ConfigError, match=r"spkA -> spkA: this model converts spkA -> spkB and spkB -> spkA only"):
        conv.convert_features(np.zeros((10, 20), np.float32), "spkA", "spkA")
    with pytest.raises(AudioError, match=r"clip: is silent"):
        conv.convert(np.zeros(16000, np.float32), 16000, "spkA", "spkB", name="clip")
    with pytest.raises(AudioError, match=r"input: too short \(100 samples; at least 1024"):
        conv.convert(np.ones(100, np.float32), 16000, "spkA", "spkB")
    with pytest.raises(ConfigError, match=r"the world vocoder synthesises WORLD features"):
        conv.check("spkA", "spkB", "world")
    # config.yaml edited after training: it no longer describes the checkpoint's weights
    edited = tmp_path / "edited"
    shutil.copytree(exp, edited)
    config = yaml.safe_load((edited / "config.yaml").read_text())
    config["model_params"]["generator"]["channels"] = 16
    (edited / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"config.yaml describes model 'cyclegan_vc' with other model_params"):
        Converter.load(edited)
    # Another model's checkpoint, or something that is no checkpoint at all, says what it is.
    other = tmp_path / "other"
    shutil.copytree(exp, other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    (other / "config.yaml").write_text(yaml.safe_dump({**config, "model": "stargan_vc"}))
    with pytest.raises(ConfigError, match=r"is of a 'cyclegan_vc' model, but .*other trains 'stargan_vc' .*: a "
                                          r"checkpoint of another experiment\?"):
        Converter.load(other)
    with pytest.raises(DataError, match=r"spkA_001.wav: not a readable checkpoint \(a WAV audio file\)"):
        Converter.load(exp, checkpoint=data / "spkA_001.wav")
    with pytest.raises(DataError, match=r"checkpoints: no checkpoint \(train the experiment first\)"):
        shutil.rmtree(edited / "checkpoints")
        Converter.load(edited)


# ---- WORLD features (a hand-made experiment: untrained model, known statistics) ------------


def _world_exp(root: Path, speech: np.ndarray) -> tuple[Path, FeatureConfig, np.ndarray]:
    cfg = FeatureConfig(kind="world", world=WorldConfig(f0_method="dio"))
    feats = FeatureComputer(cfg)(speech[:12000])
    lay = world_layout(cfg)
    voiced = feats[feats[:, lay.vuv] >= 0.5, lay.lf0:lay.lf0 + 1].astype(np.float64)
    stats = {"global": FeatureStats.of(feats), "spk/A": FeatureStats.of(feats), "spk/B": FeatureStats.of(feats),
             "lf0/A": FeatureStats.of(voiced), "lf0/B": FeatureStats.of(voiced + np.log(2))}  # B: an octave up
    model = build_model("cyclegan_vc", cfg.dim, TINY_MODEL)
    config = {"model": "cyclegan_vc", "model_params": TINY_MODEL, "train": {"max_steps": 1}}
    extra = {"feature_config": to_dict(cfg), "speakers": ["A", "B"],
             "stats": {n: {"count": s.count, "sum": s.sum, "sumsq": s.sumsq} for n, s in stats.items()}}
    save_checkpoint(root / "checkpoints", 1, {"step": 1, "model": model.state_dict(), "config": config,
                                              "extra": extra}, keep_last=1)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root, cfg, feats


def test_world_converts_f0_and_passes_aperiodicity(tmp_path: Path, speech: np.ndarray) -> None:
    root, cfg, feats = _world_exp(tmp_path / "world", speech)
    conv = Converter.load(root, device="cpu")
    lay = world_layout(cfg)
    out = conv.convert_features(feats, "A", "B")
    np.testing.assert_allclose(out[:, lay.lf0], feats[:, lay.lf0] + np.log(2), atol=1e-4)
    np.testing.assert_array_equal(out[:, lay.ap], feats[:, lay.ap])
    np.testing.assert_array_equal(out[:, lay.vuv], feats[:, lay.vuv])
    wav = conv.convert(speech[:12000], 16000, "A", "B", vocoder="world")
    assert wav.shape == (12000,) and wav.dtype == np.float32
    with pytest.raises(ConfigError, match=r"griffin-lim vocodes log-mel or log-linear features; .* kind 'world'"):
        conv.convert(speech[:12000], 16000, "A", "B")


# ---- the CLI ----------------------------------------------------------------------------------


def test_cli_single_file_and_directory(cli, exp: Path, data: Path, tmp_path: Path) -> None:
    one = tmp_path / "one.wav"
    assert cli("--model", str(exp), "--src-spk", "spkA", "--tgt-spk", "spkB", str(data / "spkA_001.wav"),
               "--out", str(one), "--iters", "2", "--device", "cpu") == 0
    wav, sr = sf.read(one)
    assert sr == 16000 and len(wav) == len(_wav(data, "spkA_001"))
    out = tmp_path / "exp" / "convert" / "dev"
    assert cli("--model", str(exp), "--src-spk", "spkB", "--tgt-spk", "spkA", str(data / "spkB_002.wav"),
               str(data / "spkB_001.wav"), "--out", str(out), "--iters", "2") == 0
    assert sorted(p.name for p in out.iterdir()) == ["spkB_001.wav", "spkB_002.wav", "wav.scp"]
    assert (out / "wav.scp").read_text() == "".join(f"{u} {(out / u).resolve()}.wav\n" for u in ("spkB_001", "spkB_002"))


def test_cli_nj_2_equals_nj_1(cli, exp: Path, data: Path, tmp_path: Path) -> None:
    outs = {}
    for nj in (1, 2):
        outs[nj] = tmp_path / f"nj{nj}"
        assert cli("--model", str(exp), "--src-spk", "spkA", "--tgt-spk", "spkB", "--data", str(data / "data"),
                   "--out", str(outs[nj]), "--iters", "2", "--nj", str(nj), "--device", "cpu") == 0
    assert sorted(p.name for p in outs[2].iterdir()) == ["spkA_001.wav", "spkA_002.wav", "wav.scp"]
    for utt in ("spkA_001", "spkA_002"):
        a, b = (sf.read(outs[nj] / f"{utt}.wav", dtype="int16")[0] for nj in (1, 2))
        # one thread vs several may round a float differently: at most one 16-bit step apart
        assert np.abs(a.astype(int) - b).max() <= 1


def test_cli_scp(cli, exp: Path, data: Path, tmp_path: Path) -> None:
    scp = tmp_path / "wav.scp"
    scp.write_text(f"b {data / 'spkA_002.wav'}\na {data / 'spkA_001.wav'}\n")
    assert cli("--model", str(exp), "--src-spk", "spkA", "--tgt-spk", "spkB", "--scp", str(scp),
               "--out", str(tmp_path / "out"), "--iters", "1") == 0
    assert [line.split()[0] for line in (tmp_path / "out" / "wav.scp").read_text().splitlines()] == ["a", "b"]
    # A second run into a directory another run is writing refuses: never a mixed wav.scp.
    from vc.utils import exclusive_output

    with exclusive_output(tmp_path / "busy", "vc convert"):
        assert cli("--model", str(exp), "--src-spk", "spkA", "--tgt-spk", "spkB", "--scp", str(scp),
                   "--out", str(tmp_path / "busy"), "--iters", "1") == 1
        assert list((tmp_path / "busy").iterdir()) == []


@pytest.fixture(scope="module")
def bad_inputs(data: Path, exp: Path, speech: np.ndarray) -> dict[str, Path]:
    root = data / "bad"
    root.mkdir()
    sf.write(root / "silent.wav", np.zeros(16000, np.float32), 16000)
    (root / "corrupt.pt").write_bytes(b"not a checkpoint")
    _world_exp(root / "world", speech)
    return {"silent": root / "silent.wav", "corrupt": root / "corrupt.pt", "world": root / "world"}


@pytest.mark.parametrize("case, message", [
    ("silent", r"silent.wav: is silent \(all samples are zero\)"),
    ("unknown", r"unknown speaker 'spkC': this model converts between spkA, spkB"),
    ("missing", r"nowhere: experiment directory not found"),
    ("corrupt", r"corrupt.pt: not a readable checkpoint"),
    ("world", r"griffin-lim vocodes log-mel or log-linear features; the feature config has kind 'world'"),
])
@pytest.mark.parametrize("nj", [1, 2])
def test_cli_errors_are_one_line_and_leave_no_output(cli, exp: Path, data: Path, bad_inputs: dict[str, Path],
                                                     tmp_path: Path, capsys, case: str, message: str,
                                                     nj: int) -> None:
    model, src, tgt, extra = str(exp), "spkA", "spkB", []
    inputs = [str(data / "spkA_001.wav"), str(data / "spkA_002.wav")]
    if case == "silent":
        inputs.append(str(bad_inputs["silent"]))  # the last: the good ones are written, then removed
    elif case == "unknown":
        tgt = "spkC"
    elif case == "missing":
        model = str(tmp_path / "nowhere")
    elif case == "corrupt":
        extra = ["--checkpoint", str(bad_inputs["corrupt"])]
    elif case == "world":
        model, src, tgt = str(bad_inputs["world"]), "A", "B"
    out = tmp_path / "out"
    assert cli("--model", model, "--src-spk", src, "--tgt-spk", tgt, *inputs, "--out", str(out),
               "--iters", "1", "--nj", str(nj), *extra) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vc convert: error: ") and len(err.splitlines()) == 1, err
    assert re.search(message, err), err
    assert not out.exists()


def test_import_vc_does_not_import_torch() -> None:
    code = "import sys, vc; assert 'torch' not in sys.modules; from vc import Converter; print(Converter.__name__)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "Converter"
