"""Recipes run in copies: egs/<corpus>/<task> under a temporary root whose recipes/ links to the real one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def copy_recipe(root: Path, *tasks: str) -> Path:
    """Copy egs/<task> for each task (``"synth/vc1"``...) under ``root``, without any run's outputs,
    and link ``root/recipes`` to the repository's shared scripts; returns the last task's copy."""
    (root / "recipes").mkdir(exist_ok=True)
    for shared in (REPO / "recipes").iterdir():
        if not (root / "recipes" / shared.name).exists():
            (root / "recipes" / shared.name).symlink_to(shared)
    for task in tasks:
        shutil.copytree(REPO / "egs" / task, root / "egs" / task, symlinks=True,
                        ignore=shutil.ignore_patterns("corpus", "downloads", "data", "dump", "exp"))
    return root / "egs" / tasks[-1]


def run_recipe(recipe: Path, *args: str, timeout: int = 600, script: str = "./run.sh") -> subprocess.CompletedProcess:
    """``script ARGS`` (the recipe's run.sh) in ``recipe``, with this interpreter's environment first on PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run([script, *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=timeout)
