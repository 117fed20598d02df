"""The phonetic content path: phonemizing transcripts, the CTC phone recogniser, and conversion
models that read its bottleneck (disentangle) or keep it unchanged (CycleGAN-VC, StarGAN-VC)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vc.audio import FeatureConfig
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.phones import phone_inventory, phonemize, read_phones
from vc.data.stats import compute_stats
from vc.errors import ConfigError
from vc.data.transcribed import TranscribedLoader, TranscribedUtterances
from vc.models import build_model
from vc.models.content import PhoneticContent
from vc.models.phone_recognizer import PhoneRecognizer, edit_distance, masked_cmvn
from vc.train.checkpoint import latest_checkpoint, load_checkpoint

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
TEXTS = {"spkA_001": "The cat sat on the mat.", "spkA_002": "A dog ran home, quickly!",
         "spkB_001": "She sells sea shells.", "spkB_002": "Good morning to you."}
TINY_RECOGNIZER = {"channels": 16, "kernel": 3, "dilations": [1, 2], "bottleneck": 8}


@needs_espeak
def test_phonemize_one_line_per_text_without_stress_or_pauses() -> None:
    out = phonemize(["The cat. Sat?", "x", "a, b; c"])
    assert len(out) == 3
    assert out[0][:2] == ["D", "@2"] and "k" in out[0] and "s" in out[0]
    assert all(p and not set(p) & set("',%=:!|") or p.endswith(":") for seq in out for p in seq)


@pytest.fixture
def transcribed_dump(speech_dir: Path, tmp_path: Path) -> Path:
    """The tiny speech data dir with a text file, phonemized and extracted (20 mels)."""
    (speech_dir / "text").write_text("".join(f"{u} {t}\n" for u, t in TEXTS.items()))
    if shutil.which("espeak-ng") is None:  # the phones are what matters here, not espeak-ng
        (speech_dir / "phones").write_text("".join(f"{u} {' '.join(t.lower().replace(' ', ''))[:60]}\n"
                                                   for u, t in TEXTS.items()))
    else:
        assert main(["phonemize", "--data", str(speech_dir)]) == 0
    out = tmp_path / "dump"
    assert main(["extract", "--data", str(speech_dir), "--conf", str(_feats(tmp_path)), "--out", str(out),
                 "--no-progress"]) == 0
    compute_stats(FeatureDump.open(out)).save(out / "stats.npz")
    return out


def _feats(tmp_path: Path) -> Path:
    path = tmp_path / "feats.yaml"
    path.write_text("feats: {kind: logmel, n_mels: 20}\n")
    return path


def test_extract_copies_phones_and_refuses_missing_ones(transcribed_dump: Path, speech_dir: Path,
                                                        tmp_path: Path, capsys) -> None:
    assert read_phones(transcribed_dump / "phones") == read_phones(speech_dir / "phones")
    lines = (speech_dir / "phones").read_text().splitlines()
    (speech_dir / "phones").write_text("\n".join(lines[1:]) + "\n")
    assert main(["extract", "--data", str(speech_dir), "--conf", str(_feats(tmp_path)),
                 "--out", str(tmp_path / "d2"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "phones: no phones for utterance 'spkA_001' (1 of 4 missing); run 'vc phonemize'" in err
    assert not (tmp_path / "d2").exists()


def test_phonemize_without_text_is_one_line(speech_dir: Path, capsys) -> None:
    assert main(["phonemize", "--data", str(speech_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("text: not found (phonemizing needs the transcripts)") and len(err.splitlines()) == 1


def test_loader_batches_whole_utterances_speaker_balanced(transcribed_dump: Path) -> None:
    dump = FeatureDump.open(transcribed_dump)
    inventory = phone_inventory(dump.phones())
    utts = TranscribedUtterances(dump, transcribed_dump / "stats.npz", inventory, max_frames=1000)
    loader = TranscribedLoader(utts, batch_size=4, seed=3)
    batch = loader.batch(7)
    assert batch["feats"].shape[:2] == (4, 20) and batch["feats"].shape[2] == int(batch["lengths"].max())
    assert sorted(utts.speaker_of[i] for i in range(len(utts))) == [0, 0, 1, 1]
    for row, n in zip(batch["phones"], batch["phone_lengths"]):
        assert (row[:n] >= 1).all() and (row[n:] == 0).all()  # class 0 is CTC's blank, never a label
    torch.testing.assert_close(loader.batch(7)["feats"], batch["feats"])  # a pure function of the step
    # A validation utterance with a phone the training set lacks is skipped, not fatal.
    first = dump.phones()["spkA_001"][0]
    fewer = TranscribedUtterances(dump, transcribed_dump / "stats.npz", [p for p in inventory if p != first], 1000)
    assert fewer.skipped >= 1 and len(fewer) == 4 - fewer.skipped


def test_recogniser_trains_resumes_and_is_scored(transcribed_dump: Path, tmp_path: Path, capsys) -> None:
    conf = _recogniser_conf(tmp_path, 4)
    assert _train(conf, tmp_path / "straight", transcribed_dump) == 0
    assert _train(_recogniser_conf(tmp_path, 2), tmp_path / "split", transcribed_dump) == 0
    assert _train(conf, tmp_path / "split", transcribed_dump, "--resume") == 0
    a = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    b = load_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, rtol=0, atol=0, msg=key)
    assert a["config"]["model_params"]["phones"] == phone_inventory(read_phones(transcribed_dump / "phones"))
    assert a["config"]["model_params"]["num_speakers"] == 2  # the speaker adversary's classes, from the data
    assert "spk/acc=" in (tmp_path / "straight" / "log" / "train.log").read_text()
    capsys.readouterr()
    out = tmp_path / "per"
    assert main(["evaluate", "phones", "--model", str(tmp_path / "straight"), "--dump", str(transcribed_dump),
                 "--out", str(out), "--device", "cpu"]) == 0
    assert "phone error rate on " in capsys.readouterr().out
    summary = yaml.safe_load((out / "summary.json").read_text())
    assert summary["utterances"] == 4 and summary["per"] == summary["errors"] / summary["phones"] > 0


def _recogniser_conf(tmp_path: Path, steps: int) -> Path:
    path = tmp_path / f"rec{steps}.yaml"
    path.write_text(yaml.safe_dump({
        "model": "phone_recognizer", "model_params": {**TINY_RECOGNIZER, "speaker_adversarial": 0.5},
        "data": {"segment_frames": 1000},
        "train": {"max_steps": steps, "batch_size": 2, "log_interval": 1, "eval_interval": 2, "eval_batches": 1,
                  "save_interval": 2, "optim": {"recognizer": {"lr": 1e-3}}}}))
    return path


def _train(conf: Path, exp: Path, dump: Path, *extra: str) -> int:
    return main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump),
                 "--valid-dump", str(dump), "--device", "cpu", *extra])


def test_recogniser_input_normalisation_cancels_channel_gains() -> None:
    """Per-utterance CMVN: the bottleneck ignores a per-channel affine change of the input, the
    difference between speaker and global normalisation."""
    content = PhoneticContent(20, {"phones": ["a", "b", "c"], **TINY_RECOGNIZER})
    x = torch.randn(2, 20, 40)
    gain, offset = torch.rand(1, 20, 1) + 0.5, torch.randn(1, 20, 1)
    torch.testing.assert_close(content(x * gain + offset), content(x), atol=1e-4, rtol=1e-4)
    lengths = torch.tensor([40, 25])
    padded = masked_cmvn(x, lengths)
    torch.testing.assert_close(padded[1, :, :25], masked_cmvn(x[1:, :, :25])[0], atol=1e-5, rtol=1e-5)
    assert (padded[1, :, 25:] == 0).all()


def test_content_path_is_frozen_but_passes_gradients() -> None:
    content = PhoneticContent(20, {"phones": ["a", "b"], **TINY_RECOGNIZER})
    content.train()
    assert not content.training and not any(p.requires_grad for p in content.parameters())
    x = torch.randn(1, 20, 30, requires_grad=True)
    source = torch.randn(1, 20, 30)
    loss = content.loss(x, source)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # A caller that already has the source's bottleneck (the disentangle step) gets the same loss.
    torch.testing.assert_close(content.loss(x, source_content=content(source)), loss)
    with pytest.raises(ValueError, match="give the source features or their content"):
        content.loss(x)


def test_edit_distance_and_greedy_decoding() -> None:
    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([], [4, 4]) == 2 and edit_distance([5], [6]) == 1
    logits = torch.full((1, 4, 6), -5.0)
    for t, c in enumerate([2, 2, 0, 2, 3, 0]):
        logits[0, c, t] = 5.0
    assert PhoneRecognizer.decode(logits) == [[2, 2, 3]]


@pytest.mark.parametrize("model, params, batch_keys", [
    ("cyclegan_vc", {"generator": {"channels": 8, "down_channels": [16, 16], "residual_channels": 16,
                                   "residual_blocks": 1, "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3},
                     "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]}}, "paired"),
    ("disentangle", {"num_speakers": 2, "embedding_dim": 8,
                     "content_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4, "code_dim": 8},
                     "reference_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4},
                     "decoder": {"channels": 16}, "classifier": {"channels": 16, "layers": 1},
                     "schedule": {"autoencoder": 2, "classifier": 0, "adversarial": 0}}, "multi"),
])
def test_conversion_models_take_the_recogniser(transcribed_dump: Path, tmp_path: Path, model: str, params: dict,
                                              batch_keys: str) -> None:
    """content_model: the recogniser's params and weights go into the conversion checkpoint,
    whose model then rebuilds and converts without the recogniser's experiment."""
    assert _train(_recogniser_conf(tmp_path, 2), tmp_path / "phones", transcribed_dump) == 0
    conf = tmp_path / "vc.yaml"
    conf.write_text(yaml.safe_dump({
        "model": model, "content_model": str(tmp_path / "phones"),
        "model_params": {**params, "lambda_content": 1.0}, "data": {"segment_frames": 24},
        "train": {"max_steps": 2, "batch_size": 2, "log_interval": 1, "eval_interval": 100, "save_interval": 2}}))
    extra = ("--speakers", "spkA,spkB") if batch_keys == "paired" else ()
    assert _train(conf, tmp_path / "vc", transcribed_dump, *extra) == 0
    state = load_checkpoint(latest_checkpoint(tmp_path / "vc" / "checkpoints"))
    recogniser = load_checkpoint(latest_checkpoint(tmp_path / "phones" / "checkpoints"))
    torch.testing.assert_close(state["model"]["phonetic.net.head.weight"], recogniser["model"]["net.head.weight"])
    assert "g/content" in (tmp_path / "vc" / "log" / "train.log").read_text() or \
        "ae/content" in (tmp_path / "vc" / "log" / "train.log").read_text()
    shutil.rmtree(tmp_path / "phones")
    from vc.convert import Converter
    converter = Converter.load(tmp_path / "vc", device="cpu")
    wav = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    out = converter.convert(wav, 16000, "spkA", "spkB")
    assert out.ndim == 1 and np.isfinite(out).all()


@pytest.mark.parametrize("conf, message", [
    ({"model": "cyclegan_vc", "model_params": {"lambda_content": 1.0}},
     "model_params.lambda_content: needs a phone recogniser (content_model: EXP)"),
    ({"model": "cyclegan_vc", "content_model": "NOWHERE"}, "content_model: NOWHERE: no checkpoint"),
])
def test_bad_content_setups_are_one_line(transcribed_dump: Path, tmp_path: Path, capsys, conf: dict,
                                         message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**conf, "train": {"max_steps": 1}}))
    assert _train(path, tmp_path / "e", transcribed_dump, "--speakers", "spkA,spkB") == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_content_model_must_be_a_recogniser(transcribed_dump: Path, tmp_path: Path, capsys) -> None:
    assert _train(_recogniser_conf(tmp_path, 2), tmp_path / "phones", transcribed_dump) == 0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": "phone_recognizer", "content_model": str(tmp_path / "phones"),
                                    "train": {"max_steps": 1}}))
    assert _train(path, tmp_path / "e", transcribed_dump) == 1
    assert "content_model: model phone_recognizer has no phonetic content path" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="speaker_adversarial: needs two or more training speakers"):
        build_model("phone_recognizer", 20, {"phones": ["a", "b"], "speaker_adversarial": 1.0})
    model = build_model("phone_recognizer", 20, {"phones": ["a", "b"], **TINY_RECOGNIZER})
    assert isinstance(model, PhoneRecognizer) and model.net.receptive_field == 1 + 2 * (1 + 1 + 2)
