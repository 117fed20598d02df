"""The report's targets (vc/report/targets.py) on made-up result dirs: each check's PASS, MISS
and n/a at and around its threshold, the latent probe, the text and HTML sections."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from vc.cli import main
from vc.errors import DataError
from vc.report import group_results, load_results, write_report
from vc.report.targets import Thresholds, check_targets, format_targets, load_probe

SENTENCES = [f"par00{i}" for i in range(1, 6)]
SPEAKERS = ("srcA", "tgtB", "tgtC")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A parallel data dir; the targets read scores only, so the wavs need not exist."""
    root = tmp_path / "data"
    root.mkdir()
    utts = [f"{spk}_{s}" for spk in SPEAKERS for s in SENTENCES]
    (root / "wav.scp").write_text("".join(f"{u} {tmp_path}/{u}.wav\n" for u in utts))
    (root / "utt2spk").write_text("".join(f"{u} {u.split('_')[0]}\n" for u in utts))
    return root


def write_result(root: Path, name: str, kind: str, data: Path, tgt: str = "tgtB", *, vocoder: str | None = "gl",
                 oneshot: bool = False, parallel: bool = True, **per_utt: list[float]) -> Path:
    """A result dir of ``kind`` scoring srcA's five sentences: each metric's value per
    utterance in scores.csv, their mean in summary.json."""
    out = root / name
    out.mkdir(parents=True)
    rows = [[f"srcA_{s}", f"{tgt}_{s}", f"{out}/{s}.wav", *(f"{v[i]:g}" for v in per_utt.values())]
            for i, s in enumerate(SENTENCES)]
    with open(out / "scores.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([["utt", "target_utt", "wav", *per_utt], *rows])
    summary = {"label": name, "kind": kind, "src_spk": "srcA", "tgt_spk": tgt, "data": str(data), "model": None,
               "vocoder": vocoder, "oneshot": oneshot, "parallel": parallel,
               "metrics": {k: {"mean": float(np.mean(v)), "ci95": 0.0, "n": len(v)} for k, v in per_utt.items()}}
    (out / "summary.json").write_text(json.dumps(summary))
    return out


def bounds(root: Path, data: Path, tgt: str, vocoder: str = "gl") -> list[Path]:
    """The vocoder bounds of srcA -> tgt: the target copy-synthesised reads at WER 30%, the source
    copy-synthesised at DNSMOS OVRL 2.4."""
    return [write_result(root, f"cs_target_{tgt}_{vocoder}", "copysynth-target", data, tgt, vocoder=vocoder,
                         wer=[0.3] * 5),
            write_result(root, f"cs_source_{tgt}_{vocoder}", "copysynth-source", data, tgt, vocoder=vocoder,
                         dnsmos_ovrl=[2.4] * 5)]


def write_probe(root: Path, accuracy: float, chance: float) -> Path:
    root.mkdir(parents=True)
    (root / "summary.json").write_text(json.dumps({"code_accuracy": accuracy, "chance": chance,
                                                   "checkpoint": "exp/d/checkpoints/step_1.pt"}))
    return root


def statuses(dirs: list[Path], probes: list[Path] = (), thresholds: Thresholds = Thresholds()) -> dict:
    checks = check_targets(group_results(load_results(dirs)), [load_probe(p) for p in probes], thresholds)
    return {(c.group, c.subject, c.name): c for c in checks}


def test_seen_target_passes_and_misses_at_the_thresholds(tmp_path: Path, data: Path) -> None:
    dirs = bounds(tmp_path, data, "tgtB")
    # Exactly at every threshold: WER 45% = 30% + 15 points, DNSMOS 1.9 = 2.4 - 0.5, nearest
    # 100% of which 90% is needed, every utterance nearer the target.
    dirs.append(write_result(tmp_path, "good", "converted", data, wer=[0.45] * 5, dnsmos_ovrl=[1.9] * 5,
                             nearest_correct=[1] * 5, sim_target=[0.8] * 5, sim_source=[0.5] * 5))
    # Just past each: one utterance nearer the source, and so 80% nearest-speaker accuracy.
    dirs.append(write_result(tmp_path, "bad", "converted", data, wer=[0.46] * 5, dnsmos_ovrl=[1.89] * 5,
                             nearest_correct=[1, 1, 1, 1, 0], sim_target=[0.8, 0.8, 0.8, 0.8, 0.5],
                             sim_source=[0.5, 0.5, 0.5, 0.5, 0.6]))
    checks = statuses(dirs)
    assert len(checks) == 6
    good = {name: checks["srcA -> tgtB", "good", name] for name in ("words", "speaker (seen)", "quality")}
    assert [c.status for c in good.values()] == ["PASS"] * 3
    assert good["words"].detail == "WER 45.0% <= 45.0% (the target copy-synthesised 30.0% + 15.0 points)"
    assert good["quality"].detail == "DNSMOS OVRL 1.90 >= 1.90 (the source copy-synthesised 2.40 - 0.50)"
    assert good["speaker (seen)"].detail == ("nearest-speaker accuracy 100.0% (need >= 90.0%), nearer the target "
                                            "than the source in 5 of 5 utterances (need all)")
    bad = {name: checks["srcA -> tgtB", "bad", name] for name in ("words", "speaker (seen)", "quality")}
    assert [c.status for c in bad.values()] == ["MISS"] * 3
    assert "WER 46.0% > 45.0%" in bad["words"].detail and "1.89 < 1.90" in bad["quality"].detail
    assert "80.0% (need >= 90.0%)" in bad["speaker (seen)"].detail and "in 4 of 5" in bad["speaker (seen)"].detail
    # The thresholds are one object: a looser one passes what the default misses.
    loose = statuses(dirs, thresholds=Thresholds(wer_margin=0.2, dnsmos_margin=0.6, seen_nearest=0.8,
                                                 seen_nearer=0.8))
    assert all(c.status == "PASS" for key, c in loose.items() if key[1] == "bad")


def test_one_shot_targets_have_their_own_thresholds(tmp_path: Path, data: Path) -> None:
    dirs = bounds(tmp_path, data, "tgtC")
    # 4 of 5 utterances nearer the target (80%) and 3 of 5 nearest (60%): a one-shot pass.
    sims = {"nearest_correct": [1, 1, 1, 0, 0], "sim_target": [0.7, 0.7, 0.7, 0.7, 0.4],
            "sim_source": [0.5, 0.5, 0.5, 0.5, 0.6]}
    dirs.append(write_result(tmp_path, "oneshot", "converted", data, "tgtC", oneshot=True, **sims))
    dirs.append(write_result(tmp_path, "seen", "converted", data, "tgtC", **sims))
    checks = statuses(dirs)
    assert checks["srcA -> tgtC", "oneshot", "speaker (one-shot)"].status == "PASS"
    assert "(need >= 60.0%)" in checks["srcA -> tgtC", "oneshot", "speaker (one-shot)"].detail
    assert "(need >= 80.0%)" in checks["srcA -> tgtC", "oneshot", "speaker (one-shot)"].detail
    assert checks["srcA -> tgtC", "seen", "speaker (seen)"].status == "MISS"
    # Scores the system does not have leave its other checks unmeasured.
    assert checks["srcA -> tgtC", "oneshot", "words"].status == "n/a"
    assert checks["srcA -> tgtC", "oneshot", "words"].detail == "no WER"


def test_bounds_are_matched_by_vocoder(tmp_path: Path, data: Path) -> None:
    dirs = bounds(tmp_path, data, "tgtB", vocoder="gl")
    dirs.append(write_result(tmp_path, "pwg", "converted", data, vocoder="parallel_wavenet", wer=[0.2] * 5,
                             dnsmos_ovrl=[3.0] * 5))
    checks = statuses(dirs)
    assert checks["srcA -> tgtB", "pwg", "words"].status == "n/a"
    assert checks["srcA -> tgtB", "pwg", "words"].detail == (
        "no copy synthesis of tgtB through vocoder parallel_wavenet with a WER")
    assert checks["srcA -> tgtB", "pwg", "quality"].detail == (
        "no copy synthesis of srcA through vocoder parallel_wavenet with a DNSMOS OVRL")
    assert checks["srcA -> tgtB", "pwg", "speaker (seen)"].detail == "no speaker similarity scores"


def test_latent_probe_against_chance(tmp_path: Path, data: Path) -> None:
    dirs = bounds(tmp_path, data, "tgtB")
    leaky, clean = write_probe(tmp_path / "leaky", 0.64, 0.07), write_probe(tmp_path / "clean", 0.14, 0.07)
    checks = statuses(dirs, [leaky, clean])
    assert checks["latent probe", str(leaky), "content codes"].status == "MISS"
    assert checks["latent probe", str(leaky), "content codes"].detail == (
        "speaker accuracy 0.64 > 0.14 (2 x chance 0.07)")
    assert checks["latent probe", str(clean), "content codes"].status == "PASS"


@pytest.mark.parametrize("content, message", [
    (None, r"summary\.json: missing \(a probe dir holds the summary\.json of 'vc evaluate disentangle'\)"),
    ("{", r"summary\.json: unreadable"),
    ('{"label": "x", "kind": "converted"}', r"\"code_accuracy\" must be a number, found None \(not a latent probe"),
])
def test_a_bad_probe_dir_is_one_error(tmp_path: Path, content: str | None, message: str) -> None:
    (tmp_path / "probe").mkdir()
    if content is not None:
        (tmp_path / "probe" / "summary.json").write_text(content)
    with pytest.raises(DataError, match=message):
        load_probe(tmp_path / "probe")


def test_text_and_page_sections(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirs = bounds(tmp_path, data, "tgtB")
    dirs.append(write_result(tmp_path, "sys", "converted", data, wer=[0.9] * 5, dnsmos_ovrl=[2.2] * 5))
    probe = write_probe(tmp_path / "probe", 0.5, 0.1)
    checks = statuses(dirs, [probe])
    text = format_targets(list(checks.values()))
    assert text.splitlines() == [
        "Targets (thresholds in vc/report/targets.py)",
        "  srcA -> tgtB",
        "    MISS  sys: words: WER 90.0% > 45.0% (the target copy-synthesised 30.0% + 15.0 points)",
        "    n/a   sys: speaker (seen): no speaker similarity scores",
        "    PASS  sys: quality: DNSMOS OVRL 2.20 >= 1.90 (the source copy-synthesised 2.40 - 0.50)",
        "  latent probe",
        f"    MISS  {probe}: content codes: speaker accuracy 0.50 > 0.20 (2 x chance 0.10)",
        "  1 of 4 targets met, 2 missed, 1 not measured"]
    # vc report prints it after the tables, and the page has it as a section of its own.
    out = tmp_path / "report"
    assert main(["report", *map(str, dirs), "--probe", str(probe), "--out", str(out), "--examples", "0"]) == 0
    printed = capsys.readouterr().out
    assert text in printed and printed.index("srcA -> tgtB (n=5") < printed.index("Targets")
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<h2 id="targets">Targets</h2>' in page and '<a href="#targets">' in page
    assert '<td class="miss">MISS</td><td>sys</td><td>words</td>' in page and "1 of 4 met" in page
    assert f"--probe {probe}" in page  # the command in the footer


def test_cli_bad_probe_is_one_line(tmp_path: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirs = bounds(tmp_path, data, "tgtB")
    assert main(["report", *map(str, dirs), "--probe", str(tmp_path / "none"), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vc report: error: ") and "none/summary.json: missing" in err and err.count("\n") == 1
    assert not (tmp_path / "r" / "index.html").exists()


def test_write_report_returns_the_checks(tmp_path: Path, data: Path) -> None:
    report = write_report(bounds(tmp_path, data, "tgtB"), tmp_path / "report", examples=0)
    assert report.targets == [] and "Targets" not in report.text  # no system, no probe: nothing to check


def test_nonparallel_words_are_held_to_the_source_copy_synthesis(tmp_path: Path, data: Path) -> None:
    """Non-parallel, WER is read against the ASR's transcripts of the source's copy synthesis:
    that row (0% by construction) is the bound, and the table says MCD is not measured."""
    dirs = [write_result(tmp_path, "cs_source", "copysynth-source", data, parallel=False, wer=[0.0] * 5,
                         dnsmos_ovrl=[2.4] * 5),
            write_result(tmp_path, "cs_target", "copysynth-target", data, parallel=False, wer=[0.5] * 5),
            write_result(tmp_path, "sys", "converted", data, parallel=False, wer=[0.15] * 5, dnsmos_ovrl=[2.0] * 5)]
    check = statuses(dirs)[("srcA -> tgtB", "sys", "words")]
    assert check.status == "PASS" and "(the source copy-synthesised 0.0% + 15.0 points)" in check.detail
    report = write_report(dirs, tmp_path / "report", examples=0)
    assert "srcA -> tgtB (n=5 source sentences, non-parallel; the target's rows say other sentences, so MCD and F0" \
        in report.text
