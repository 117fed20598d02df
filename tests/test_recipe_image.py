"""End to end: egs/fashion_edges/img1 and egs/digits/img1 on tiny data with tiny models, in
copies of the recipe directories; and the pipeline's option checks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from vc.image.datasets.fashion import DEFAULT_FASHION_DIR
from vc.image.imageset import ImageSet

REPO = Path(__file__).resolve().parents[1]
TINY_PARAMS = {"ngf": 4, "ndf": 4, "n_blocks": 1, "n_down": 1}
TINY_TRAIN = {"max_steps": 2, "batch_size": 2, "log_interval": 1, "eval_interval": 2, "save_interval": 2,
              "eval_batches": 1}
TINY = ["--data_opts", "--n-train 16 --n-valid 10 --n-test 6 --size 16", "--classifier_steps", "10",
        "--examples", "4", "--cyclegan_conf", "conf/cyclegan_tiny.yaml",
        "--shared_latent_conf", "conf/shared_latent_tiny.yaml", "--stargan_conf", "conf/stargan_tiny.yaml"]


def _recipe(tmp_path: Path, name: str) -> Path:
    """egs/<name>/img1 copied under tmp_path with tiny configs, its img.sh and utils links pointing at
    the real recipes/."""
    (tmp_path / "recipes").mkdir()
    for shared in (REPO / "recipes").iterdir():
        (tmp_path / "recipes" / shared.name).symlink_to(shared)
    dest = tmp_path / "egs" / name / "img1"
    shutil.copytree(REPO / "egs" / name / "img1", dest, symlinks=True, ignore=shutil.ignore_patterns("data", "exp"))
    for system in ("cyclegan", "shared_latent", "stargan"):
        (dest / "conf" / f"{system}_tiny.yaml").write_text(yaml.safe_dump(
            {"model": f"image_{system}", "model_params": TINY_PARAMS, "train": TINY_TRAIN}))
    return dest


def _run(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=600)


def _table(stdout: str) -> list[list[str]]:
    """The (direction, images) cells of the summary table's rows."""
    return [[cell.strip() for cell in line.split("   ") if cell.strip()][:2] for line in stdout.splitlines()
            if "->" in line and not line.startswith("Summary")]


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_FASHION_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_fashion_edges_recipe_end_to_end(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "fashion_edges")
    done = _run(recipe, *TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    test = ImageSet.load(recipe / "data" / "fashion_edges" / "test" / "fashion.npz")
    assert len(test) == 6 and test.shape == (1, 16, 16) and test.targets is not None
    for system in ("cyclegan", "shared_latent"):
        exp = recipe / "exp" / system
        assert (exp / "checkpoints" / "step_00000002.pt").is_file()
        assert ImageSet.load(exp / "translate" / "test" / "edges_to_fashion.npz").domain == "fashion"
        assert json.loads((exp / "evaluate" / "results.json").read_text())["step"] == 2
    assert len(list((recipe / "exp" / "classifiers").iterdir())) == 3  # trained once, for both systems
    assert _table(done.stdout) == [[d, images] for d in ("fashion->edges", "edges->fashion")
                                   for images in ("source", "CycleGAN", "Shared latent", "target (real)")]
    summary = (recipe / "exp" / "report" / "summary.txt").read_text()
    assert done.stdout.rstrip().endswith(summary.rstrip()) and "L1" in summary and "SSIM" in summary
    assert (recipe / "exp" / "report" / "index.html").read_text().count("data:image/png;base64,") == 2 * (2 * 3 + 1)

    # A stage range reruns only that stage.
    again = _run(recipe, *TINY, "--stage", "4")
    assert again.returncode == 0, again.stderr
    assert "stage 4" in again.stdout and "stage 3" not in again.stdout and "stage 0" not in again.stdout


@pytest.mark.slow
def test_digits_recipe_end_to_end(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, "digits")
    done = _run(recipe, *TINY, "--stargan_data_opts", "--n-train 16 --n-valid 10 --n-test 6 --size 16 --handwritten")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (recipe / "data").iterdir()) == ["digits", "fonts"]
    assert len(list((recipe / "data" / "fonts" / "test").iterdir())) == 6  # five fonts and handwritten
    stargan = json.loads((recipe / "exp" / "stargan" / "evaluate" / "results.json").read_text())
    assert len(stargan["directions"]) == 6 * 5 and stargan["data"] == "data/fonts"
    rows = _table(done.stdout)
    assert rows[:4] == [["handwritten->typeset", images] for images in ("source", "CycleGAN", "Shared latent",
                                                                         "target (real)")]
    assert rows[8:11] == [["*->cm_serif", images] for images in ("source", "StarGAN", "target (real)")]
    assert len(rows) == 2 * 4 + 6 * 3

    # --cpu_procs 2: DDP under torchrun (gloo), in an experiment of its own (--tag).
    ddp = _run(recipe, *TINY, "--stage", "1", "--stop_stage", "1", "--systems", "cyclegan", "--cpu_procs", "2",
               "--tag", "ddp")
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    exp = recipe / "exp" / "cyclegan_ddp"
    assert "torchrun --standalone --nnodes 1 --nproc_per_node 2 -m vc image train" in (
        exp / "log" / "vc_train.log").read_text()
    assert "(world size 2," in (exp / "log" / "train.log").read_text()


@pytest.mark.parametrize("args, message", [
    (["--systems", "cyclegan vits"], "unknown system 'vits' (cyclegan, shared_latent, stargan)"),
    (["--domains", "fashion"], "--domains \"X Y\" is required for cyclegan (it translates one pair)"),
    (["--conf", "conf/cyclegan_quick.yaml"],
     "--conf takes the config of one system; with --systems \"cyclegan shared_latent\" use --<system>_conf"),
    (["--ngpu", "1", "--cpu_procs", "2"], "--cpu_procs is for CPU training (--ngpu 0)"),
    (["--no_such_option", "1"], "invalid option --no_such_option"),
])
def test_bad_pipeline_options_stop_before_any_stage(tmp_path: Path, args: list[str], message: str) -> None:
    recipe = _recipe(tmp_path, "fashion_edges")
    done = _run(recipe, *args)
    assert done.returncode == 1
    assert done.stderr.strip() == f"./img.sh: {message}"
    assert not (recipe / "data").exists()
