"""One-shot and multi-target conversion with a tiny disentangle model: `vc convert --ref` and the API."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from vc import Converter
from vc.audio import FeatureConfig
from vc.cli import main
from vc.convert import SpeakerReference
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import AudioError, ConfigError

TINY = {"content_encoder": {"channels": 16, "bank_size": 3, "bank_channels": 4, "code_dim": 8, "factors": [1, 2]},
        "reference_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4, "factors": [2]},
        "decoder": {"channels": 16, "factors": [2, 1]}, "classifier": {"channels": 16, "layers": 2},
        "embedding_dim": 8, "classifier_steps": 1, "adv_ramp_steps": 1,
        "schedule": {"autoencoder": 1, "classifier": 1, "adversarial": 2, "patcher": 0}}
FEATS = FeatureConfig(n_mels=20)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> Path:
    """Three training speakers cut from the sample speech (scaled apart), plus references."""
    root = tmp_path_factory.mktemp("oneshot")
    pieces = {f"spk{s}_{i:03d}": speech[8000 * i + 4000 * k: 8000 * i + 4000 * k + 20000] * (0.3 + 0.3 * k)
              for k, s in enumerate("ABC") for i in range(2)}
    for utt, wav in pieces.items():
        sf.write(root / f"{utt}.wav", wav, 16000)
    DataDir({u: str(root / f"{u}.wav") for u in pieces}, {u: u[:4] for u in pieces}).write(root / "data")
    sf.write(root / "ref1.wav", speech[:12000] * 0.8, 16000)
    sf.write(root / "ref2.wav", speech[20000:40000] * 0.8, 22050)  # another rate: resampled
    sf.write(root / "silent.wav", np.zeros(8000, np.float32), 16000)
    sf.write(root / "short.wav", speech[:100], 16000)
    return root


def _train(root: Path, name: str, normalize: str, speaker_encoder: str) -> Path:
    dump = root / "dump"
    if not dump.exists():
        extract_dump(DataDir.read(root / "data"), FEATS, dump, progress=False)
        compute_stats(FeatureDump.open(dump)).save(dump / "stats.npz")
    conf = root / f"{name}.yaml"
    conf.write_text(yaml.safe_dump({
        "model": "disentangle", "model_params": {**TINY, "speaker_encoder": speaker_encoder},
        "data": {"segment_frames": 16, "normalize": normalize},
        "train": {"max_steps": 4, "batch_size": 3, "save_interval": 4}}))
    assert main(["train", "--conf", str(conf), "--exp", str(root / name), "--train-dump", str(dump),
                 "--device", "cpu"]) == 0
    return root / name


@pytest.fixture(scope="module")
def exp(corpus: Path) -> Path:
    return _train(corpus, "exp", "global", "both")


def test_api_multi_target_and_one_shot(exp: Path, corpus: Path, speech: np.ndarray) -> None:
    conv = Converter.load(exp, device="cpu")
    wav = speech[:9000]
    to_b = conv.convert(wav, 16000, None, "spkB", n_iter=2)
    assert to_b.shape == wav.shape and np.isfinite(to_b).all()
    # The source name changes nothing: the content code carries no speaker.
    np.testing.assert_array_equal(conv.convert(wav, 16000, "spkA", "spkB", n_iter=2), to_b)
    recordings = [sf.read(corpus / name, dtype="float32") for name in ("ref1.wav", "ref2.wav")]
    ref = conv.reference(recordings)
    assert isinstance(ref, SpeakerReference) and ref.vector.shape == (1, 8) and ref.label == "reference (2 recordings)"
    singles = [conv.reference([r]).vector for r in recordings]
    torch.testing.assert_close(ref.vector, (singles[0] + singles[1]) / 2)  # averaged
    feats = conv._features(wav)
    one_shot = conv.convert_features(feats, None, ref)
    direct = conv.model.convert_to(torch.from_numpy(conv.stats.global_.normalize(feats).T.copy())[None].float(),
                                   ref.vector)[0].T.detach().numpy()
    np.testing.assert_allclose(one_shot, conv.stats.global_.denormalize(direct), rtol=1e-4, atol=1e-4)
    assert not np.allclose(one_shot, conv.convert_features(feats, None, "spkB"))


def test_api_errors(exp: Path, corpus: Path, speech: np.ndarray, tmp_path: Path) -> None:
    conv = Converter.load(exp, device="cpu")
    with pytest.raises(AudioError, match="silent ref: is silent"):
        conv.reference([(np.zeros(8000, np.float32), 16000, "silent ref")])
    with pytest.raises(AudioError, match=r"reference 1: too short \(100 samples; at least 1024, one analysis frame"):
        conv.reference([(speech[:100], 16000)])
    with pytest.raises(ConfigError, match="no reference recordings given"):
        conv.reference([])
    with pytest.raises(ConfigError, match="unknown speaker 'spkZ'"):
        conv.convert(speech[:9000], 16000, None, "spkZ")
    lookup = Converter.load(_train(corpus, "lookup", "global", "lookup"), device="cpu")
    with pytest.raises(ConfigError, match="no reference encoder"):
        lookup.reference([(speech[:9000], 16000)])
    reference_only = Converter.load(_train(corpus, "reference_only", "global", "reference"), device="cpu")
    with pytest.raises(ConfigError, match="spkB: this model has no speaker lookup table"):
        reference_only.convert(speech[:9000], 16000, None, "spkB")
    per_speaker = Converter.load(_train(corpus, "per_speaker", "speaker", "both"), device="cpu")
    with pytest.raises(ConfigError, match="the source speaker is needed: this model normalises features per speaker"):
        per_speaker.convert(speech[:9000], 16000, None, "spkB")
    with pytest.raises(ConfigError, match="per-speaker normalised features"):
        per_speaker.reference([(speech[:9000], 16000)])


def test_cli_one_shot_and_multi_target(exp: Path, corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["convert", "--model", str(exp), "--ref", str(corpus / "ref1.wav"), "--ref", str(corpus / "ref2.wav"),
                 "--src-spk", "spkA", "--data", str(corpus / "data"), "--out", str(out), "--iters", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["spkA_000.wav", "spkA_001.wav", "wav.scp"]
    assert "spkA -> reference (2 recordings)" in capsys.readouterr().out
    one = tmp_path / "one.wav"
    assert main(["convert", "--model", str(exp), "--tgt-spk", "spkC", str(corpus / "spkA_000.wav"),
                 "--out", str(one), "--iters", "2"]) == 0
    assert sf.info(one).frames == sf.info(corpus / "spkA_000.wav").frames
    assert "input -> spkC" in capsys.readouterr().out


@pytest.mark.parametrize("case, message", [
    ("silent_ref", r"--ref .*silent.wav: is silent \(all samples are zero\)"),
    ("short_ref", r"--ref .*short.wav: too short"),
    ("both", r"argument --tgt-spk: not allowed with argument --ref"),
    ("cyclegan", r"CycleGANVC converts to training speakers only"),
    ("data_without_src", r"--data converts the utterances of --src-spk: give --src-spk"),
])
def test_cli_errors(exp: Path, corpus: Path, tmp_path: Path, capsys, case: str, message: str) -> None:
    target = ["--ref", str(corpus / "ref1.wav")]
    inputs = [str(corpus / "spkA_000.wav")]
    model = str(exp)
    if case in ("silent_ref", "short_ref"):
        target = ["--ref", str(corpus / "ref1.wav"), "--ref", str(corpus / f"{case.split('_')[0]}.wav")]
    elif case == "both":
        target += ["--tgt-spk", "spkB"]
    elif case == "cyclegan":
        model = str(_cyclegan(corpus))
    elif case == "data_without_src":
        inputs = ["--data", str(corpus / "data")]
    out = tmp_path / "out"
    code = _exit_code(lambda: main(["convert", "--model", model, *target, *inputs, "--out", str(out), "--iters", "1"]))
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.search(message, err), err
    assert not out.exists()


def _exit_code(run) -> int:
    try:
        return run()
    except SystemExit as e:  # argparse's own errors
        return int(e.code)


def _cyclegan(root: Path) -> Path:
    exp = root / "cyclegan"
    if exp.exists():
        return exp
    conf = root / "cyclegan.yaml"
    conf.write_text(yaml.safe_dump({
        "model": "cyclegan_vc", "data": {"segment_frames": 16},
        "model_params": {"generator": {"channels": 4, "down_channels": [8, 8], "residual_channels": 8,
                                       "residual_blocks": 1, "up_channels": [4, 4], "first_kernel": [3, 5],
                                       "kernel": 3},
                         "discriminator": {"channels": [4, 8], "final_kernel": [1, 3]}, "max_mask_frames": 4},
        "train": {"max_steps": 1, "batch_size": 1, "save_interval": 1}}))
    assert main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(root / "dump"),
                 "--speakers", "spkA,spkB", "--device", "cpu"]) == 0
    return exp


def test_one_shot_streams_with_a_causal_model(exp: Path, corpus: Path, speech: np.ndarray, tmp_path: Path, capsys) -> None:
    """`vc stream --ref`: a causal disentangle model converts a live stream to an unseen speaker,
    the converted frames equal to the offline one-shot conversion's."""
    from vc.audio.features import FeatureComputer
    from vc.stream import StreamingConverter

    causal = {**TINY, "causal": True,
              "content_encoder": {**TINY["content_encoder"], "factors": [1, 1], "sequence": "none",
                                  "norm": "frame", "code_norm": "none"},
              "decoder": {**TINY["decoder"], "factors": [1, 1], "sequence": "none", "conditioning": "adaln"}}
    dump = corpus / "dump"  # extracted by the `exp` fixture
    conf = tmp_path / "causal.yaml"
    conf.write_text(yaml.safe_dump({"model": "disentangle", "model_params": causal,
                                    "data": {"segment_frames": 16, "normalize": "global"},
                                    "train": {"max_steps": 4, "batch_size": 3, "save_interval": 4}}))
    assert main(["train", "--conf", str(conf), "--exp", str(tmp_path / "exp"), "--train-dump", str(dump),
                 "--device", "cpu"]) == 0
    conv = Converter.load(tmp_path / "exp", device="cpu")
    ref = conv.reference([sf.read(corpus / name, dtype="float32") for name in ("ref1.wav", "ref2.wav")])
    wav = speech[:9000]
    stream = StreamingConverter(conv, None, ref, block=320)
    frames = [stream.convert_frames(wav[i:i + 320]) for i in range(0, len(wav), 320)]
    np.testing.assert_allclose(np.concatenate(frames + [stream.flush_frames()]),
                               conv.convert_features(FeatureComputer(FEATS)(wav), None, ref), atol=1e-4)
    sf.write(tmp_path / "in.wav", wav, 16000)
    assert main(["stream", "--model", str(tmp_path / "exp"), "--ref", str(corpus / "ref1.wav"),
                 "--ref", str(corpus / "ref2.wav"), str(tmp_path / "in.wav"), "--out", str(tmp_path / "out.wav")]) == 0
    out, _ = sf.read(tmp_path / "out.wav", dtype="float32")
    expected = StreamingConverter(conv, None, ref, block=320).convert_in_blocks(wav)
    np.testing.assert_allclose(out, expected, atol=1 / 32768)
    assert "algorithmic latency" in capsys.readouterr().err
