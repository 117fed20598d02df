"""`vc evaluate disentangle`: the latent speaker probe, the reconstruction errors, the CLI and its errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from vc.audio import FeatureConfig
from vc.audio.stats import FeatureStats
from vc.cli import main
from vc.data.datadir import DataDir
from vc.data.dump import FeatureDump, extract_dump
from vc.data.stats import compute_stats
from vc.errors import DataError
from vc.evaluate.disentangle import (
    ProbeConfig,
    evaluate_model,
    format_result,
    probe_accuracy,
    split_utterances,
    write_summary,
)
from vc.models import build_model

DIM = 12
TINY = {"num_speakers": 3, "embedding_dim": 8,
        "content_encoder": {"channels": 16, "bank_size": 3, "bank_channels": 4, "code_dim": 8, "factors": [1, 2]},
        "reference_encoder": {"channels": 16, "bank_size": 2, "bank_channels": 4, "factors": [2]},
        "decoder": {"channels": 16, "factors": [2, 1]}, "classifier": {"channels": 16, "layers": 2}}
TINY_CYCLEGAN = {
    "generator": {"channels": 8, "down_channels": [16, 16], "residual_channels": 16, "residual_blocks": 1,
                  "up_channels": [8, 8], "first_kernel": [3, 5], "kernel": 3},
    "discriminator": {"channels": [8, 16], "final_kernel": [1, 3]},
}
FAST = ProbeConfig(steps=60, segment_frames=16, batch_size=16, channels=32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """These tensors are tiny: a second intra-op thread adds only synchronisation, which on a
    loaded machine makes every step 10-100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _utterances(speakers: int, per_speaker: int, offset: float, seed: int = 0) -> tuple[dict, dict]:
    """Noise [frames, DIM] whose mean is ``offset`` times a random direction per speaker."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(speakers, DIM))
    feats, utt2spk = {}, {}
    for s in range(speakers):
        for i in range(per_speaker):
            utt = f"s{s}_{i:02d}"
            frames = int(rng.integers(20, 60))
            feats[utt] = (rng.normal(size=(frames, DIM)) + offset * directions[s]).astype(np.float32)
            utt2spk[utt] = f"s{s}"
    return feats, utt2spk


def _probe(feats: dict, utt2spk: dict, config: ProbeConfig) -> float:
    train, test = split_utterances(utt2spk, "synthetic")
    speakers = sorted(set(utt2spk.values()))
    seq = {u: torch.from_numpy(f.T.copy()) for u, f in feats.items()}
    return probe_accuracy([seq[u] for u in train], [speakers.index(utt2spk[u]) for u in train],
                          [seq[u] for u in test], [speakers.index(utt2spk[u]) for u in test],
                          len(speakers), config.segment_frames, config)


def test_split_alternates_each_speakers_sorted_utterances() -> None:
    utt2spk = {"b3": "B", "a2": "A", "a1": "A", "b1": "B", "a3": "A", "b2": "B"}
    assert split_utterances(utt2spk, "d") == (["a1", "a3", "b1", "b3"], ["a2", "b2"])


@pytest.mark.parametrize("utt2spk, message", [
    ({"a1": "A", "a2": "A"}, "d: the speaker probe needs at least 2 speakers, found 1 (A)"),
    ({"a1": "A", "a2": "A", "b1": "B"},
     "d: the speaker probe needs at least 2 utterances per speaker (one to train on, one to test); B has 1"),
])
def test_split_errors(utt2spk: dict, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        split_utterances(utt2spk, "d")


def test_probe_finds_a_speaker_offset() -> None:
    assert _probe(*_utterances(3, 6, offset=2.0), FAST) == 1.0


def test_probe_is_near_chance_without_speaker_information() -> None:
    accuracy = _probe(*_utterances(3, 20, offset=0.0), FAST)
    assert accuracy < 0.6  # chance is 1/3; 30 test utterances


def test_probe_is_deterministic_for_a_seed() -> None:
    data = _utterances(3, 6, offset=0.3)
    assert _probe(*data, FAST) == _probe(*data, FAST)


def _model(**changes) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("disentangle", DIM, {**TINY, **changes}).eval()


def test_evaluate_model_reports_probes_and_reconstruction(tmp_path: Path) -> None:
    feats, utt2spk = _utterances(4, 4, offset=2.0)
    stats = FeatureStats(1, np.zeros(DIM), np.full(DIM, 4.0))  # mean 0, std 2
    # s3 is not a training speaker: probed, reconstructed from its own reference only.
    result = evaluate_model(_model(), feats, utt2spk, ["s0", "s1", "s2"], lambda spk: stats, FAST, "eval")
    assert (result.speakers, result.train_utts, result.test_utts) == (["s0", "s1", "s2", "s3"], 8, 8)
    assert result.chance == 0.25 and result.input_accuracy == 1.0 and 0 <= result.code_accuracy <= 1
    assert set(result.reconstruction) == {"lookup", "self_reference"} and not result.skipped
    lookup, own = result.reconstruction["lookup"], result.reconstruction["self_reference"]
    assert (lookup.utts, own.utts) == (12, 16)
    assert lookup.l1_features == pytest.approx(2 * lookup.l1) and own.l1_features == pytest.approx(2 * own.l1)

    again = evaluate_model(_model(), feats, utt2spk, ["s0", "s1", "s2"], lambda spk: stats, FAST, "eval")
    assert again == result

    path = write_summary(result, tmp_path / "res")
    summary = json.loads(path.read_text())
    assert summary["input_accuracy"] == 1.0 and summary["reconstruction"]["lookup"]["utts"] == 12
    assert summary["probe"]["steps"] == FAST.steps
    assert "latent speaker probe on eval (4 speakers, 8 train / 8 test utterances; chance 0.25)" in format_result(
        result)


@pytest.mark.parametrize("encoder, skipped, reason", [
    ("lookup", "self_reference", "the model has no reference encoder (speaker_encoder: lookup)"),
    ("reference", "lookup", "the model has no speaker lookup table (speaker_encoder: reference)"),
])
def test_what_the_model_lacks_is_skipped(encoder: str, skipped: str, reason: str) -> None:
    feats, utt2spk = _utterances(3, 2, offset=1.0)
    result = evaluate_model(_model(speaker_encoder=encoder), feats, utt2spk, ["s0", "s1", "s2"], lambda spk: None,
                            ProbeConfig(steps=2), "eval")
    assert result.skipped == {skipped: reason} and skipped not in result.reconstruction
    assert f"{skipped.replace('_', '-')}: skipped, {reason}" in format_result(result)


def test_lookup_is_skipped_without_training_speakers() -> None:
    feats, utt2spk = _utterances(2, 2, offset=1.0)
    result = evaluate_model(_model(), feats, utt2spk, ["x", "y", "z"], lambda spk: None, ProbeConfig(steps=2), "e")
    assert result.skipped == {"lookup": "no utterance of the dump is of a training speaker"}


# ---- the command line, on a model trained for a few steps by `vc train` ----------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> tuple[Path, Path]:
    """(experiment, dump): a tiny disentangle model, 4 steps, on 2 speakers x 3 utterances."""
    root = tmp_path_factory.mktemp("disentangle")
    data = root / "data"
    data.mkdir()
    pieces = {"spkA_001": speech[:12000], "spkA_002": speech[12000:24000], "spkA_003": speech[24000:36000],
              "spkB_001": speech[36000:48000] * 0.5, "spkB_002": speech[48000:60000] * 0.5,
              "spkB_003": speech[:16000] * 0.5}
    for utt, wav in pieces.items():
        sf.write(root / f"{utt}.wav", wav, 16000)
    (data / "wav.scp").write_text("".join(f"{u} {root / u}.wav\n" for u in pieces))
    (data / "utt2spk").write_text("".join(f"{u} {u[:4]}\n" for u in pieces))
    dump = root / "dump"
    extract_dump(DataDir.read(data), FeatureConfig(n_mels=DIM), dump, progress=False)
    compute_stats(FeatureDump.open(dump)).save(dump / "stats.npz")
    conf = root / "conf.yaml"
    params = {k: v for k, v in TINY.items() if k != "num_speakers"}
    conf.write_text(yaml.safe_dump({
        "model": "disentangle",
        "model_params": {**params, "classifier_steps": 1, "adv_ramp_steps": 1,
                         "schedule": {"autoencoder": 1, "classifier": 1, "adversarial": 2}},
        "data": {"segment_frames": 16},
        "train": {"max_steps": 4, "batch_size": 2, "log_interval": 1, "save_interval": 2},
    }))
    exp = root / "exp"
    assert main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump), "--device", "cpu"]) == 0
    return exp, dump


def _evaluate(exp: Path, dump: Path, out: Path, *extra: str) -> int:
    return main(["evaluate", "disentangle", "--model", str(exp), "--dump", str(dump), "--out", str(out),
                 "--steps", "20", "--device", "cpu", *extra])


def test_cli_probes_a_trained_model(trained: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    exp, dump = trained
    assert _evaluate(exp, dump, tmp_path / "res") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"latent speaker probe on {dump} (2 speakers, 4 train / 2 test utterances; chance 0.50)")
    assert "content codes" in out and "input features" in out and "self-reference" in out
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["speakers"] == ["spkA", "spkB"] and summary["reconstruction"]["lookup"]["utts"] == 6
    assert summary["probe"]["steps"] == 20 and summary["step"] == 4
    assert f"model: {exp}/checkpoints/step_00000004.pt (step 4)" in out
    assert _evaluate(exp, dump, tmp_path / "early", "--checkpoint", str(exp / "checkpoints" / "step_00000002.pt")) == 0
    assert json.loads((tmp_path / "early" / "summary.json").read_text())["step"] == 2


def _copy_dump(dump: Path, tmp_path: Path, utt2spk: str | None = None, fmin: float | None = None) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(dump, copy)
    if utt2spk is not None:
        (copy / "utt2spk").write_text(utt2spk)
    if fmin is not None:
        config = yaml.safe_load((copy / "feats.yaml").read_text())
        (copy / "feats.yaml").write_text(yaml.safe_dump({**config, "fmin": fmin}))
    return copy


SIX = ["spkA_001", "spkA_002", "spkA_003", "spkB_001", "spkB_002", "spkB_003"]


@pytest.mark.parametrize("change, message", [
    ({"fmin": 60.0}, r"copy against the model of .*exp: feature config mismatch \(fmin: 80.0 != 60.0\)"),
    ({"utt2spk": "".join(f"{u} spkA\n" for u in SIX)},
     r"copy: the speaker probe needs at least 2 speakers, found 1 \(spkA\)"),
    ({"utt2spk": "".join(f"{u} {u[:3]}C\n" for u in SIX[:3]) + "".join(f"{u} {u[:4]}\n" for u in SIX[3:])},
     r"copy: speaker 'spkC' has no statistics in the model of .*exp, which normalises per speaker"),
])
def test_cli_dump_errors_are_one_line(trained: tuple[Path, Path], tmp_path: Path, capsys, change: dict,
                                      message: str) -> None:
    exp, dump = trained
    assert _evaluate(exp, _copy_dump(dump, tmp_path, **change), tmp_path / "res") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vc evaluate: error: ") and len(err.splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "res").exists()


def test_cli_rejects_a_model_without_content_encoder(trained: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    _, dump = trained
    conf = tmp_path / "cyclegan.yaml"
    conf.write_text(yaml.safe_dump({"model": "cyclegan_vc", "model_params": TINY_CYCLEGAN, "data": {"segment_frames": 24},
                                    "train": {"max_steps": 1, "batch_size": 2}}))
    exp = tmp_path / "cyclegan"
    assert main(["train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump), "--device", "cpu",
                 "--speakers", "spkA,spkB"]) == 0
    capsys.readouterr()
    assert _evaluate(exp, dump, tmp_path / "res") == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"vc evaluate: error: {exp}: model 'cyclegan_vc' is not a disentangle model; the latent speaker "
                   "probe needs a content encoder (model: disentangle)")


def test_mcd_form_still_requires_its_flags(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--converted", "x", "--data", "d"])
    assert e.value.code == 2
    assert "the following arguments are required: --tgt-spk, --out" in capsys.readouterr().err
