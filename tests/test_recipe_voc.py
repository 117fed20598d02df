"""End to end: egs/synth/voc1/run.sh with tiny vocoders, in a copy of the recipe directories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from vc.data.dump import FeatureDump

REPO = Path(__file__).resolve().parents[1]
TINY_PARALLEL = """
model: parallel_wavenet
model_params:
  layers: 4
  stacks: 2
  residual_channels: 8
  gate_channels: 16
  skip_channels: 8
  discriminator_layers: 3
  discriminator_channels: 8
  discriminator_start: 2
data: {segment_frames: 12}
train: {max_steps: 3, batch_size: 2, log_interval: 1, eval_interval: 3, eval_batches: 1, save_interval: 3}
"""
TINY_WAVENET = """
model: wavenet
model_params: {output: mulaw, layers: 4, stacks: 2, residual_channels: 8, gate_channels: 16, skip_channels: 8}
data: {segment_frames: 4}
train: {max_steps: 3, batch_size: 2, log_interval: 1, eval_interval: 3, eval_batches: 1, save_interval: 3}
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """egs/synth/voc1 and the vc1 files it links to, copied under tmp_path."""
    (tmp_path / "recipes").mkdir()
    for shared in (REPO / "recipes").iterdir():
        (tmp_path / "recipes" / shared.name).symlink_to(shared)
    for name in ("vc1", "voc1"):
        shutil.copytree(REPO / "egs" / "synth" / name, tmp_path / "egs" / "synth" / name, symlinks=True,
                        ignore=shutil.ignore_patterns("corpus", "data", "dump", "exp"))
    dest = tmp_path / "egs" / "synth" / "voc1"
    (dest / "conf" / "parallel_wavenet_tiny.yaml").write_text(TINY_PARALLEL)
    (dest / "conf" / "wavenet_tiny.yaml").write_text(TINY_WAVENET)
    return dest


@pytest.mark.slow
def test_voc_recipe_end_to_end(recipe: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    args = ["--local_data_opts", "--n_speakers 2 --n_utts 4 --n_eval 1", "--n_copy", "2", "--gl_iters", "4",
            "--parallel_wavenet_conf", "conf/parallel_wavenet_tiny.yaml", "--wavenet_conf", "conf/wavenet_tiny.yaml"]
    done = subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert FeatureDump.open(recipe / "dump" / "train").has_audio
    for vocoder in ("gl", "parallel_wavenet", "wavenet"):
        scp = (recipe / "exp" / f"copysynth_{vocoder}" / "eval" / "wav.scp").read_text().splitlines()
        assert len(scp) == 2
        assert all(sf.info(line.split(maxsplit=1)[1]).samplerate == 16000 for line in scp)
    assert "receptive field" in done.stdout
    table = done.stdout[done.stdout.index("Copy synthesis of 2 eval utterances"):]
    for name in ("Griffin-Lim (4 iterations)", "Parallel WaveNet (non-AR)", "WaveNet (autoregressive)"):
        assert name in table
