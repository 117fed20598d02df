"""End to end: egs/synth/vc1/run.sh on a tiny corpus, in a copy of the recipe directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from vc.data.datadir import validate_data_dir
from vc.data.dump import FeatureDump
from vc.evaluate.metrics import METRICS

REPO = Path(__file__).resolve().parents[1]
TINY = ["--local_data_opts", "--n_speakers 3 --n_utts 4 --n_eval 2", "--heldout_spks", "fest_kal", "--n_ref", "2",
        "--nj", "2", "--gl_iters", "8", "--cyclegan_conf", "conf/cyclegan_tiny.yaml",
        "--stargan_conf", "conf/stargan_tiny.yaml", "--disentangle_conf", "conf/disentangle_tiny.yaml"]
TINY_CYCLEGAN = """
model: cyclegan_vc
model_params:
  generator: {channels: 8, down_channels: [16, 16], residual_channels: 16, residual_blocks: 1,
              up_channels: [8, 8], first_kernel: [3, 5], kernel: 3}
  discriminator: {channels: [8, 16], final_kernel: [1, 3]}
data: {segment_frames: 32, short: wrap}
train: {max_steps: 3, batch_size: 2, log_interval: 1, eval_interval: 3, save_interval: 3}
"""
TINY_STARGAN = TINY_CYCLEGAN.replace("cyclegan_vc", "stargan_vc")
TINY_DISENTANGLE = """
model: disentangle
model_params:
  content_encoder: {channels: 16, bank_size: 3, bank_channels: 4, code_dim: 8, factors: [1, 2]}
  reference_encoder: {channels: 16, bank_size: 2, bank_channels: 4, factors: [2]}
  decoder: {channels: 16, factors: [2, 1]}
  classifier: {channels: 16, layers: 2}
  embedding_dim: 8
  classifier_steps: 1
  schedule: {autoencoder: 1, classifier: 1, adversarial: 2, patcher: 0}
data: {segment_frames: 32, short: wrap, normalize: global}
train: {max_steps: 4, batch_size: 2, log_interval: 1, eval_interval: 4, save_interval: 4}
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """egs/synth/vc1 copied under tmp_path, its vc.sh and utils links pointing at the real recipes/."""
    (tmp_path / "recipes").mkdir()
    for shared in (REPO / "recipes").iterdir():
        (tmp_path / "recipes" / shared.name).symlink_to(shared)
    dest = tmp_path / "egs" / "synth" / "vc1"
    shutil.copytree(REPO / "egs" / "synth" / "vc1", dest, symlinks=True,
                    ignore=shutil.ignore_patterns("corpus", "data", "dump", "exp"))
    (dest / "conf" / "cyclegan_tiny.yaml").write_text(TINY_CYCLEGAN)
    (dest / "conf" / "stargan_tiny.yaml").write_text(TINY_STARGAN)
    (dest / "conf" / "disentangle_tiny.yaml").write_text(TINY_DISENTANGLE)
    return dest


def _run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_synth_recipe_end_to_end(recipe: Path) -> None:
    done = _run(recipe, *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("train", "dev", "eval", "heldout"):
        assert validate_data_dir(recipe / "data" / name) == []
    assert len((recipe / "data" / "train" / "utt2spk").read_text().splitlines()) == 2 * (4 - 2)
    assert (recipe / "data" / "heldout" / "spk2utt").read_text().split()[0] == "fest_kal"  # never trained on
    train = FeatureDump.open(recipe / "dump" / "train")
    assert len(train) == 4 and train.config.n_mels == 80
    assert (recipe / "dump" / "train" / "stats.npz").is_file()
    scp = (recipe / "exp" / "copysynth_gl" / "eval" / "wav.scp").read_text().splitlines()
    assert len(scp) == 6
    for line in scp:
        info = sf.info(line.split(maxsplit=1)[1])
        assert info.samplerate == 16000 and info.frames > 8000
    log = (recipe / "exp" / "copysynth_gl" / "eval" / "log" / "vocode.1.log").read_text()
    assert "# Ended (code 0)" in log
    assert "2 speakers; 4 train, 4 dev (non-parallel), 6 eval (parallel) utterances" in done.stdout
    assert "copy synthesis  Griffin-Lim: mean spectral convergence" in done.stdout

    # Stages 4-7: each system trained, the eval set converted with Griffin-Lim (no ../voc1
    # vocoder is trained here, so --vocoders auto is gl alone), every conversion and both
    # references scored with every metric, and the report written.
    cyclegan = recipe / "exp" / "cyclegan_flite_awb_espeak_f1"
    assert (cyclegan / "checkpoints" / "step_00000003.pt").is_file()
    converted = (cyclegan / "convert" / "eval_gl" / "wav.scp").read_text().splitlines()
    assert [line.split()[0] for line in converted] == ["flite_awb_par001", "flite_awb_par002"]
    stargan = recipe / "exp" / "stargan"
    assert (stargan / "checkpoints" / "step_00000003.pt").is_file()
    disentangle = recipe / "exp" / "disentangle"
    assert (disentangle / "checkpoints" / "step_00000004.pt").is_file()
    assert "--ref" in (disentangle / "log" / "convert_eval_oneshot_fest_kal_gl.log").read_text()
    assert (disentangle / "evaluate" / "disentangle" / "summary.json").is_file()

    results = (recipe / "exp" / "results.list").read_text().split()
    assert results == [
        "exp/reference/source_flite_awb_espeak_f1", "exp/reference/target_espeak_f1",
        "exp/reference/source_flite_awb_fest_kal", "exp/reference/target_fest_kal",
        f"{cyclegan.relative_to(recipe)}/evaluate/eval_gl", "exp/stargan/evaluate/eval_gl",
        "exp/disentangle/evaluate/eval_gl", "exp/disentangle/evaluate/eval_oneshot_fest_kal_gl"]
    for result in results:
        summary = json.loads((recipe / result / "summary.json").read_text())
        assert set(summary["metrics"]) == {m.key for m in METRICS}, result
        assert summary["metrics"]["mcd_db"]["n"] == 2, result
    assert len(list((recipe / "exp" / "reference" / "cache").glob("resemblyzer_*.npz"))) == 1

    page = (recipe / "exp" / "report" / "index.html").read_text()
    assert page.count("<audio") >= 2 * 4 and "CycleGAN-VC, Griffin-Lim" in page
    table = (recipe / "exp" / "report" / "summary.txt").read_text()
    assert table in done.stdout and done.stdout.rstrip().endswith(table.rstrip())
    blocks = table.split("\n\n")
    assert blocks[0].startswith("flite_awb -> espeak_f1") and blocks[1].startswith("flite_awb -> fest_kal")
    rows = [line.split("  ")[1] for line in blocks[0].splitlines()[5:]]  # after the heading and header lines
    assert rows == ["unconverted source, lower bound", "CycleGAN-VC, Griffin-Lim", "StarGAN-VC, Griffin-Lim",
                    "Disentangle, Griffin-Lim", "real target, upper bound"]
    assert "Disentangle one-shot, Griffin-Lim" in blocks[1]
    header = " ".join(" ".join(blocks[0].splitlines()[1:4]).split())  # titles wrap over header lines
    for title in ("MCD", "F0 RMSE", "Sim. to", "target", "source", "Nearest", "WER", "DNSMOS OVRL"):
        assert title in header, title
    assert "report: exp/report/index.html" in table

    # A stage range reruns only that stage.
    corpus_mtime = (recipe / "corpus" / "corpus.yaml").stat().st_mtime
    again = _run(recipe, *TINY, "--stage", "3", "--stop_stage", "3")
    assert again.returncode == 0, again.stderr
    assert "stage 3" in again.stdout and "stage 2" not in again.stdout and "stage 4" not in again.stdout
    assert (recipe / "corpus" / "corpus.yaml").stat().st_mtime == corpus_mtime

    # --cpu_procs 2: DDP under torchrun (gloo), in an experiment of its own (--tag), through
    # a --train_cmd given on the command line.
    ddp = _run(recipe, *TINY, "--stage", "4", "--stop_stage", "4", "--systems", "cyclegan", "--cpu_procs", "2",
               "--tag", "ddp", "--train_cmd", "utils/run.pl --mem 1G")
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    exp = recipe / "exp" / "cyclegan_flite_awb_espeak_f1_ddp"
    assert "# torchrun --standalone --nnodes 1 --nproc_per_node 2 -m vc train" in (exp / "log" / "vc_train.log").read_text()
    assert "(world size 2," in (exp / "log" / "train.log").read_text()
    assert (exp / "checkpoints" / "step_00000003.pt").is_file()


def test_unknown_recipe_option_is_rejected(recipe: Path) -> None:
    done = _run(recipe, "--no_such_option", "1")
    assert done.returncode == 1
    assert "vc.sh: invalid option --no_such_option" in done.stderr
    assert not (recipe / "corpus").exists()


@pytest.mark.parametrize("args, message", [
    (["--num_nodes", "2", "--ngpu", "1"],
     "--num_nodes 2 needs a cluster: set cuda_cmd to 'utils/slurm.pl --gpu N' in cmd.sh"),
    (["--ngpu", "1", "--cpu_procs", "2"], "--cpu_procs is for CPU training (--ngpu 0)"),
    (["--ngpu", "-1"], "--ngpu must be 0 or more, --num_nodes and --cpu_procs 1 or more"),
    (["--conf", "conf/cyclegan_quick.yaml"],
     "--conf takes the config of one system; with --systems \"cyclegan stargan disentangle\" use --<system>_conf"),
    (["--systems", "cyclegan vits"], "unknown system 'vits' (cyclegan, stargan, disentangle)"),
])
def test_bad_pipeline_options_stop_before_any_stage(recipe: Path, args: list[str], message: str) -> None:
    done = _run(recipe, *args)
    assert done.returncode == 1
    assert done.stderr.strip() == f"./vc.sh: {message}"
    assert not (recipe / "corpus").exists()
