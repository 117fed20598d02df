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
    # ... during a checkpoint write: its temporary file stays behind, until the next start.
    stale = [tmp_path / "split/checkpoints/.step_00000004.pt.k3_9xq0a.tmp", tmp_path / "split/.config.yaml.ab12cd34.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    (tmp_path / "split/checkpoints/notes.tmp").write_text("the user's, not ours")
    assert _train(_conf(tmp_path, "four", 4), tmp_path / "split", dump, "--resume") == 0
    assert not any(path.exists() for path in stale) and (tmp_path / "split/checkpoints/notes.tmp").exists()
    assert ("removed 2 temporary files an interrupted write left behind: .config.yaml.ab12cd34.tmp, "
            "checkpoints/.step_00000004.pt.k3_9xq0a.tmp") in (tmp_path / "split/log/train.log").read_text()
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
    conf.write_text("")
    assert _train(conf, tmp_path / "e", dump) == 1
    assert "bad.yaml: ExperimentConfig: empty: the required keys 'model', 'train' are not given" in \
        capsys.readouterr().err
    conf.write_text("model: cyclegan_vc\n")
    assert _train(conf, tmp_path / "e", dump) == 1
    assert "bad.yaml: ExperimentConfig: the required key 'train' is not given" in capsys.readouterr().err
    conf.write_bytes(b"model: \xffcyclegan_vc\n")
    assert _train(conf, tmp_path / "e", dump) == 1
    assert "bad.yaml: not a text file (byte 0xff at offset 7 is not UTF-8)" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


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


def test_outputs_follow_the_umask(dump: Path, tmp_path: Path) -> None:
    """Results are shared on a cluster: vc's files get the mode open() gives (0644 under 022,
    0640 under 027), not mkstemp's owner-only 0600."""
    import os
    import stat

    for mask, mode in ((0o022, 0o644), (0o027, 0o640)):
        old = os.umask(mask)
        try:
            exp = tmp_path / f"umask{mask:o}"
            assert _train(_conf(tmp_path, "two", 2), exp, dump) == 0
        finally:
            os.umask(old)
        for path in (exp / "config.yaml", latest_checkpoint(exp / "checkpoints")):
            assert stat.S_IMODE(path.stat().st_mode) == mode, (path, oct(path.stat().st_mode))


def test_a_full_disk_stops_training_with_one_line_and_keeps_the_last_checkpoint(
        dump: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.save onto a full disk raises a RuntimeError ('unexpected pos'); the run stops with
    one line, the last good checkpoint stays, and no temporary file is left."""
    import vc.train.checkpoint as checkpoint

    real_save = checkpoint.torch.save

    def full_after_step_2(obj, path, *args, **kwargs):
        if obj["step"] > 2:
            Path(path).write_bytes(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 1984 vs 1876")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", full_after_step_2)
    exp = tmp_path / "full"
    assert _train(_conf(tmp_path, "four", 4), exp, dump) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "step_00000004.pt: cannot write the checkpoint (" in err, err
    assert "unexpected pos" in err and "MiB free on its filesystem); the previous checkpoints are kept" in err
    assert [p.name for p in (exp / "checkpoints").iterdir()] == ["step_00000002.pt"]
    assert load_checkpoint(exp / "checkpoints" / "step_00000002.pt")["step"] == 2


def test_an_unwritable_output_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from vc.errors import WriteError
    from vc.utils import atomic_write_text

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(WriteError, match=r"out.txt: cannot write \(No space left on device\)$"):
        atomic_write_text(tmp_path / "out.txt", "x")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary


def test_a_read_only_filesystem_outside_atomic_writes_is_one_line(dump: Path, tmp_path: Path, capsys,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert _train(_conf(tmp_path, "two", 2), tmp_path / "ro", dump) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("vc train: error: ") and \
        err.endswith(": cannot write an output (Read-only file system)"), err


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_after_the_step_with_a_checkpoint_and_resume_is_exact(
        dump: Path, tmp_path: Path, signum: str) -> None:
    """What Slurm sends a preempted job (SIGTERM) and Ctrl-C (SIGINT): the step finishes, a
    checkpoint is written, the exit status is 75, and --resume ends where a run never stopped
    would."""
    import os
    import signal
    import subprocess
    import sys
    import time

    steps = 120
    conf = tmp_path / "long.yaml"
    config = yaml.safe_load(_conf(tmp_path, "long", steps).read_text())
    config["train"]["save_interval"] = 10_000  # only the stop writes a checkpoint
    conf.write_text(yaml.safe_dump(config))
    exp = tmp_path / "stopped"

    def command(exp: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "vc", "train", "--conf", str(conf), "--exp", str(exp), "--train-dump", str(dump),
                "--speakers", "spkA,spkB", "--device", "cpu", *extra]

    # Every run in a process of its own with one thread: bit-equality needs the same float
    # reduction order, which the thread count changes.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen(command(exp), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = exp / "log" / "train.log"
    deadline = time.monotonic() + 120
    while not (log.is_file() and log.read_text().count(" step=") >= 3):
        assert job.poll() is None and time.monotonic() < deadline, job.communicate()
        time.sleep(0.05)
    job.send_signal(getattr(signal, signum))
    _, err = job.communicate(timeout=120)
    assert job.returncode == 75, err
    saved = list((exp / "checkpoints").iterdir())
    assert len(saved) == 1, saved
    stopped_at = load_checkpoint(saved[0])["step"]
    assert 3 <= stopped_at < steps
    assert f"vc train: stopped by {signum} after step {stopped_at}: saved {saved[0]}; continue with --resume" in err
    for run in (command(exp, "--resume"), command(tmp_path / "straight")):
        done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
    straight = load_checkpoint(latest_checkpoint(tmp_path / "straight" / "checkpoints"))
    resumed = load_checkpoint(latest_checkpoint(exp / "checkpoints"))
    assert straight["step"] == resumed["step"] == steps
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0, msg=key)


def test_resume_auto_starts_afresh_or_goes_on(dump: Path, tmp_path: Path, capsys) -> None:
    exp = tmp_path / "auto"
    assert _train(_conf(tmp_path, "two", 2), exp, dump, "--resume", "auto") == 0  # nothing to resume: from 0
    assert "starting at step 0 of 2" in (exp / "log" / "train.log").read_text()
    assert _train(_conf(tmp_path, "four", 4), exp, dump, "--resume", "auto") == 0
    assert "resumed at step 2 of 4" in (exp / "log" / "train.log").read_text()
    assert latest_checkpoint(exp / "checkpoints").name == "step_00000004.pt"
    assert _train(_conf(tmp_path, "two", 2), tmp_path / "none", dump, "--resume") == 1  # plain --resume needs one
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_a_file_size_limit_is_a_real_write_failure_and_one_line(dump: Path, tmp_path: Path) -> None:
    """The kernel refuses the checkpoint's bytes (RLIMIT_FSIZE: EFBIG, as a full disk refuses
    them with ENOSPC): one line, exit 1, and no temporary file left in checkpoints/."""
    import os
    import resource
    import signal
    import subprocess
    import sys

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    exp = tmp_path / "limited"
    done = subprocess.run([sys.executable, "-m", "vc", "train", "--conf", str(_conf(tmp_path, "two", 2)),
                           "--exp", str(exp), "--train-dump", str(dump), "--speakers", "spkA,spkB", "--device", "cpu"],
                          capture_output=True, text=True, preexec_fn=small_files, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 1, done.stderr
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vc train: error: ") and "step_00000002.pt: cannot write" in err[0], err
    assert list((exp / "checkpoints").iterdir()) == []
