"""egs/realvoices/vc1 end to end (stages 0-8) on a tiny fake copy of the Debian packages'
layout, built here: real speech encoded as Asterisk's G.722 prompts, no download. The
non-parallel evaluation runs for real: no MCD, WER against the ASR's reading of the copy
synthesis, speaker similarity against the target's other recordings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recipe_copies import copy_recipe, run_recipe
from test_realvoices_data import make_tree
from test_recipe_synth import TINY_CYCLEGAN, TINY_DISENTANGLE
from vc.cli import main

# Three Asterisk voices (allison in both her languages), five or six prompts each of 2.2-3 s
# of the same real recording.
PROMPTS = {f"{folder}/prompt{i}": (2.2 + 0.15 * i, 0.0) for folder, n in
           (("en_US_f_Allison", 5), ("es_MX_f_Allison", 1), ("it_IT_m_Carlo", 5), ("fr_CA_f_June", 5))
           for i in range(n)}


@pytest.mark.slow
def test_realvoices_recipe_end_to_end(tmp_path: Path, speech: np.ndarray) -> None:
    db = tmp_path / "db"
    make_tree(db, speech, PROMPTS, {})
    assert main(["corpus", "realvoices", "--db-root", str(db), "--speakers", "allison,carlo,june"]) == 0
    recipe = copy_recipe(tmp_path, "realvoices/vc1")
    (recipe / "conf" / "cyclegan_tiny.yaml").write_text(TINY_CYCLEGAN)
    (recipe / "conf" / "disentangle_tiny.yaml").write_text(TINY_DISENTANGLE)
    done = run_recipe(recipe, "--db_root", str(db), "--local_data_opts",
                      "--spks allison,carlo,june --n_eval 2 --n_dev 1 --max_train 3",
                      "--extra_tgt_spks", "", "--cyclegan_conf", "conf/cyclegan_tiny.yaml",
                      "--disentangle_conf", "conf/disentangle_tiny.yaml", "--gl_iters", "4", "--n_ref", "2",
                      timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "nothing to do" in done.stdout  # stage 0: the corpus was decoded already
    results = (recipe / "exp" / "results.list").read_text().split()
    assert "exp/cyclegan_allison_carlo/evaluate/eval_gl" in results
    assert "exp/disentangle/evaluate/eval_oneshot_june_gl" in results
    # carlo's speech is not English: his rows have no word error; allison's copy synthesis,
    # read by the ASR, is the reference of every row she speaks.
    assert "exp/reference/target_carlo" in results and (recipe / "exp/copysynth_gl/eval/text").is_file()
    transcribed = (recipe / "exp/copysynth_gl/eval/text").read_text().splitlines()
    assert len(transcribed) == 2 and all(line.startswith("allison_en_") for line in transcribed)
    for result in results:
        summary = json.loads((recipe / result / "summary.json").read_text())
        assert summary["parallel"] is False and "mcd_db" not in summary["metrics"], result
        assert ("wer" in summary["metrics"]) == ("target_carlo" not in result and "target_june" not in result), result
    system = json.loads((recipe / "exp/cyclegan_allison_carlo/evaluate/eval_gl/summary.json").read_text())
    assert system["metrics"]["sim_target"]["n"] == 2 and system["transcripts"].endswith("exp/copysynth_gl/eval/text")
    table = (recipe / "exp" / "report" / "summary.txt").read_text()
    assert "allison -> carlo (n=2 source sentences, non-parallel" in table and "allison -> june" in table
    assert "Summary" in done.stdout and "eval (non-parallel) utterances" in done.stdout
