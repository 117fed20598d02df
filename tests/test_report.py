"""`vc report`: reading result dirs, the text table, the self-contained HTML page, train.log curves."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from vc.cli import main
from vc.errors import DataError
from vc.evaluate.metrics import METRIC_BY_KEY, METRICS, SUMMARY_KEYS
from vc.report import load_result, parse_train_lines, parse_train_log, write_report
from vc.report.glossary import DESCRIPTIONS

SR = 16000
UTTS = ("par001", "par002", "par003")
TEXT = {"par001": "the cat sat", "par002": "a dog ran home", "par003": "birds sing"}
# What each fixture result reports: metric key -> (mean, ci95); absent keys were not computed.
METRICS_OF = {
    "source": {"mcd_db": (11.2049, 0.5551), "wer": (0.25, 0.05), "sim_target": (0.4123, 0.0314)},
    "converted": {"mcd_db": (9.5312, 0.4123), "wer": (0.4, 0.1), "sim_target": (0.7011, float("nan")),
                  "f0_rmse_hz": (float("nan"), float("nan"))},
    "target": {"wer": (0.05, 0.02), "sim_target": (0.9012, 0.0101)},
    "copysynth-source": {"mcd_db": (10.8, 0.5), "wer": (0.3, 0.05)},
    "copysynth-target": {"mcd_db": (5.1, 0.3), "wer": (0.1, 0.05)},
}
LABELS = {"source": "Unconverted source", "converted": "CycleGAN-VC, Griffin-Lim", "target": "Target recordings",
          "copysynth-source": "source, Griffin-Lim", "copysynth-target": "target, Griffin-Lim"}
TRAIN_LOG = """\
2026-11-22 01:56:33 starting at step 0 of 400 on cpu (world size 1, amp torch.bfloat16)
2026-11-22 01:57:29 step=50 g/total=20.7469 g/adv=1.78888 g/cycle=1.31599 d/total=1.85082 lr.generator=0.0005 lr.discriminator=0.00025 it/s=0.90
2026-11-22 01:58:18 step=100 g/total=17.2523 g/adv=1.62398 g/cycle=1.10196 d/total=1.54172 lr.generator=0.0005 lr.discriminator=0.00025 it/s=1.01
2026-11-22 01:58:30 saved checkpoint exp/x/checkpoints/step_00000100.pt
2026-11-22 01:59:09 step=150 g/total=16.0333 g/adv=1.63763 g/cycle=1.02491 d/total=1.51187 lr.generator=0.0005 lr.discriminator=0.00025 it/s=0.98
2026-11-22 02:00:05 valid step=150 cycle_l1=0.471076 identity_l1=0.413808
Traceback (most recent call last):
KeyboardInterrupt
2026-11-22 03:00:00 starting at step 100 of 400 on cpu (world size 1, amp torch.bfloat16)
2026-11-22 03:00:49 step=150 g/total=15.9 g/adv=1.6 g/cycle=1.0 d/total=1.5 lr.generator=0.0005 lr.discriminator=0.00025 it/s=0.98
2026-11-22 03:01:40 step=200 g/total=14.9877 g/adv=1.60084 g/cycle=0.957304 d/total=1.57393 lr.generator=0.0005 lr.discriminator=0.00025 it/s=0.91
2026-11-22 03:01:41 valid step=200 cycle_l1=0.45 identity_l1=0.40
"""


def _tone(f0: float, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * f0 * t) + 0.1 * np.sin(2 * np.pi * 3 * f0 * t)).astype(np.float32)


def make_results(root: Path, *, with_log: bool = True,
                 kinds: tuple[str, ...] = ("source", "converted", "target")) -> list[Path]:
    """A tiny parallel data dir (srcA, tgtB x 3 sentences), converted wavs, an experiment with
    a train.log, and a result dir per kind, in that order (by default [source reference,
    system, target reference]); copy-synthesis kinds get wavs of their own."""
    data, wavs = root / "data", root / "wav"
    data.mkdir(parents=True)
    wavs.mkdir()
    wav_scp, utt2spk, text = [], [], []
    for spk, f0 in (("srcA", 120.0), ("tgtB", 220.0)):
        for i, suffix in enumerate(UTTS):
            utt = f"{spk}_{suffix}"
            sf.write(wavs / f"{utt}.wav", _tone(f0 + 10 * i, 0.4 + 0.1 * i), SR)
            wav_scp.append(f"{utt} {wavs / f'{utt}.wav'}\n")
            utt2spk.append(f"{utt} {spk}\n")
            text.append(f"{utt} {TEXT[suffix]}\n")
    (data / "wav.scp").write_text("".join(wav_scp))
    (data / "utt2spk").write_text("".join(utt2spk))
    (data / "text").write_text("".join(text))
    exp = root / "exp" / "cyclegan"
    (exp / "convert").mkdir(parents=True)
    if with_log:
        (exp / "log").mkdir()
        (exp / "log" / "train.log").write_text(TRAIN_LOG)
    dirs = []
    for kind in kinds:
        out = root / "results" / kind
        out.mkdir(parents=True)
        keys = [m.key for m in METRICS if m.key in METRICS_OF[kind]]
        rows = []
        for i, suffix in enumerate(UTTS):
            utt, target_utt = f"srcA_{suffix}", f"tgtB_{suffix}"
            if kind == "converted":
                wav = exp / "convert" / f"{utt}.wav"
                sf.write(wav, _tone(200.0 + 10 * i, 0.45), SR)
            elif kind.startswith("copysynth-"):
                wav = root / kind / f"{utt if kind.endswith('source') else target_utt}.wav"
                wav.parent.mkdir(exist_ok=True)
                sf.write(wav, _tone((150.0 if kind.endswith("source") else 250.0) + 10 * i, 0.5), SR)
            else:
                wav = wavs / f"{utt if kind == 'source' else target_utt}.wav"
            rows.append([utt, target_utt, str(wav), *("" if math.isnan(METRICS_OF[kind][k][0]) else
                                                      f"{METRICS_OF[kind][k][0]:.6g}" for k in keys),
                         f"hyp, {kind} {i}"])  # a comma: proper CSV quoting
        with open(out / "scores.csv", "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["utt", "target_utt", "wav", *keys, "hyp"])
            writer.writerows(rows)
        summary = {"label": LABELS[kind], "kind": kind, "src_spk": "srcA", "tgt_spk": "tgtB", "data": str(data),
                   "model": str(exp) if kind == "converted" else None,
                   "vocoder": None if kind in ("source", "target") else "gl",
                   "metrics": {k: {"mean": m, "ci95": c, "n": 3} for k, (m, c) in METRICS_OF[kind].items()}}
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        dirs.append(out)
    return dirs


class _Page(HTMLParser):
    """The tags and attributes of a page, and the cell texts of its metrics tables."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[list[str]] = []
        self._in_metrics = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table" and "metrics" in (dict(attrs).get("class") or ""):
            self._in_metrics = True
        elif self._in_metrics and tag == "tr":
            self.rows.append([])
        elif self._in_metrics and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_metrics = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data + " ")


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _decode(uri: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert uri.startswith(prefix), uri[:40]
    return base64.b64decode(uri[len(prefix):], validate=True)


@pytest.fixture
def results(tmp_path: Path) -> list[Path]:
    return make_results(tmp_path)


def test_page_is_self_contained_with_players_and_pngs(results: list[Path], tmp_path: Path) -> None:
    report = write_report(results, tmp_path / "report", examples=2)
    assert report.path == tmp_path / "report" / "index.html" and report.path.is_file()
    assert [p.name for p in report.path.parent.iterdir()] == ["index.html"]  # no temp file, no side files
    text = report.path.read_text(encoding="utf-8")
    assert report.size == len(text.encode("utf-8"))
    assert 'src="http' not in text and "<script" not in text and "<link" not in text
    page = _parse(report.path)
    for tag, attrs in page.tags:
        assert attrs.get("src") is None or attrs["src"].startswith("data:"), (tag, attrs["src"][:60])
        assert attrs.get("href") is None or attrs["href"].startswith("#"), (tag, attrs["href"])
    audios = [a for t, a in page.tags if t == "audio"]
    assert len(audios) == 2 * 3  # 2 example sentences x (source, system, target)
    for a in audios:
        wav, sr = sf.read(io.BytesIO(_decode(a["src"], "audio/wav")))
        info = sf.info(io.BytesIO(_decode(a["src"], "audio/wav")))
        assert sr == SR and info.subtype == "PCM_16" and len(wav) > SR // 4
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == 2 * 3 + 1  # a spectrogram per player, one training-curve figure
    for a in images:
        with Image.open(io.BytesIO(_decode(a["src"], "image/png"))) as im:
            im.verify()
            assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 50
    assert "srcA_par001" in text and "srcA_par002" in text and "srcA_par003" not in text  # the first two
    assert "hyp, converted 1" in text  # the ASR hypothesis under its player


def test_metrics_table_formats_from_the_registry(results: list[Path], tmp_path: Path) -> None:
    report = write_report(results, tmp_path / "report", examples=0)
    page = _parse(report.path)
    header, *rows = page.rows
    present = [m for m in METRICS if any(m.key in METRICS_OF[k] for k in METRICS_OF)]
    assert len(header) == 1 + len(present) + 1  # result, each metric present somewhere, n
    assert header[1].startswith(METRIC_BY_KEY["mcd_db"].title) and "dB ↓" in header[1]
    assert len(rows) == 3
    for row, kind in zip(rows, ("source", "converted", "target")):  # references around the system
        assert row[0].startswith(LABELS[kind])
    assert "lower bound" in rows[0][0] and "upper bound" in rows[2][0]
    col = {m.key: 1 + i for i, m in enumerate(present)}
    source, system, target = rows
    assert system[col["mcd_db"]] == "9.53 ± 0.41"
    assert system[col["wer"]] == "40.0 ± 10.0"  # a percent metric, x100 with its digits
    assert system[col["sim_target"]] == "0.701"  # ci95 NaN (n == 1): the mean alone
    assert system[col["f0_rmse_hz"]] == "—"  # mean NaN: undefined
    assert target[col["mcd_db"]] == "—" and source[col["f0_rmse_hz"]] == "—"  # not computed
    assert source[col["mcd_db"]] == "11.20 ± 0.56" and system[-1] == "3"
    html_text = report.path.read_text(encoding="utf-8")
    assert "<b>9.53</b>" in html_text and "<b>40.0</b>" in html_text  # the only system is the best one
    assert "No training curves" not in html_text


def test_cli_prints_rows_source_system_target(results: list[Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    source, system, target = results
    out = tmp_path / "report"
    assert main(["report", str(target), str(system), str(source), "--out", str(out), "--examples", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "srcA -> tgtB (n=3 parallel sentences)"
    table = lines[:lines.index("Targets (thresholds in vc/report/targets.py)")]
    body = [line for line in table if line.startswith("  ") and not line.strip().startswith("-")]
    labels = [line for line in body if re.match(r"  \S", line)]
    assert [line.split("  ")[1] for line in labels] == [
        "Unconverted source, lower bound", "CycleGAN-VC, Griffin-Lim", "Target recordings, upper bound"]
    sys_row = labels[1]
    assert "9.53 ± 0.41" in sys_row and "40.0 ± 10.0" in sys_row and "0.701" in sys_row
    assert sys_row.count("—") == len(SUMMARY_KEYS) - 3  # only mcd, sim_target and wer were computed
    assert max(len(line) for line in lines) <= 140
    assert re.fullmatch(rf"report: {re.escape(str(out / 'index.html'))} \(\d+\.\d (kB|MB)\)", lines[-1])
    assert len(re.findall("<audio", (out / "index.html").read_text())) == 3


def test_copy_synthesis_rows_sit_between_the_bounds_and_the_systems(tmp_path: Path) -> None:
    kinds = ("converted", "copysynth-target", "target", "source", "copysynth-source")  # any order given
    dirs = make_results(tmp_path, kinds=kinds)
    report = write_report(dirs, tmp_path / "report", examples=1)
    assert [r.kind for r in report.comparisons[0].results] == [
        "source", "copysynth-source", "converted", "copysynth-target", "target"]
    block = report.text.split("\n\n")[0].splitlines()
    labels = [line.split("  ")[1] for line in block[[line.strip()[:1] for line in block].index("-") + 1:]]
    assert labels == ["Unconverted source, lower bound", "source, Griffin-Lim, vocoder bound",
                      "CycleGAN-VC, Griffin-Lim", "target, Griffin-Lim, vocoder bound",
                      "Target recordings, upper bound"]
    page = _parse(report.path)
    assert [row[0] for row in page.rows[1:]] == [
        "Unconverted source unconverted · lower bound",
        "source, Griffin-Lim copy synthesis · vocoder bound vocoder gl",
        "CycleGAN-VC, Griffin-Lim vocoder gl",
        "target, Griffin-Lim copy synthesis · vocoder bound vocoder gl",
        "Target recordings real recordings · upper bound"]
    # One example sentence: a player per row, the copy syntheses playing their own wavs.
    audios = [a["src"] for t, a in page.tags if t == "audio"]
    assert len(audios) == 5 and len(set(audios)) == 5
    text = report.path.read_text(encoding="utf-8")
    assert "hyp, copysynth-target 0" in text and "the vocoder bound" in text


def test_missing_training_log_is_a_note(tmp_path: Path) -> None:
    report = write_report(make_results(tmp_path, with_log=False), tmp_path / "report", examples=0)
    text = report.path.read_text(encoding="utf-8")
    assert "No training curves: no log/train.log." in text and "<img" not in text


def test_missing_summary(results: list[Path], tmp_path: Path) -> None:
    (results[1] / "summary.json").unlink()
    with pytest.raises(DataError, match=r"converted/summary\.json: missing"):
        write_report(results, tmp_path / "report")
    assert not (tmp_path / "report" / "index.html").exists()


def test_corrupt_summary(results: list[Path]) -> None:
    (results[0] / "summary.json").write_text('{"label": "x",')
    with pytest.raises(DataError, match=r"source/summary\.json: not valid JSON \(line 1"):
        load_result(results[0])
    (results[0] / "summary.json").write_text(json.dumps({"label": "x", "kind": "reference"}))
    with pytest.raises(DataError, match=r"\"kind\" is 'reference'; expected one of source, copysynth-source, "
                                        r"converted, copysynth-target, target"):
        load_result(results[0])


def test_missing_scores(results: list[Path]) -> None:
    (results[2] / "scores.csv").unlink()
    with pytest.raises(DataError, match=r"target/scores\.csv: missing"):
        load_result(results[2])


def test_bad_score_cell(results: list[Path]) -> None:
    path = results[1] / "scores.csv"
    path.write_text(path.read_text().replace("9.5312", "n/a", 1))
    with pytest.raises(DataError, match=r"scores\.csv:2: mcd_db is not a number: 'n/a'"):
        load_result(results[1])


def test_data_dir_gone(results: list[Path], tmp_path: Path) -> None:
    for f in (tmp_path / "data").iterdir():
        f.unlink()
    (tmp_path / "data").rmdir()
    with pytest.raises(DataError, match=rf"summary\.json: data dir {re.escape(str(tmp_path / 'data'))} does not "
                                        "exist"):
        load_result(results[0])


def test_cli_error_is_one_line(results: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (results[1] / "scores.csv").unlink()
    assert main(["report", *map(str, results), "--out", str(tmp_path / "report")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vc report: error: ") and "scores.csv: missing" in err and err.count("\n") == 1
    assert not (tmp_path / "report" / "index.html").exists()


def test_train_log_parser_handles_resume_and_free_text(tmp_path: Path) -> None:
    (tmp_path / "train.log").write_text(TRAIN_LOG)
    log = parse_train_log(tmp_path / "train.log")
    assert log.starts == [0, 100] and log.max_steps == 400
    assert set(log.train) == {"g/total", "g/adv", "g/cycle", "d/total"}  # no lr.*, no it/s
    # Step 150 was trained twice: the resumed run's value replaces the first.
    assert log.train["g/total"] == [(50, 20.7469), (100, 17.2523), (150, 15.9), (200, 14.9877)]
    assert log.valid["cycle_l1"] == [(200, 0.45)]  # the first run's step-150 validation was redone
    assert sorted(log.groups()) == ["d", "g"] and sorted(log.groups()["g"]) == ["g/adv", "g/cycle", "g/total"]


def test_train_log_parser_other_forms() -> None:
    log = parse_train_lines([
        "resumed at step 0 of 10 on cuda:0\n",
        "step=5 loss=1.5 ae/recon=nan lr.main=0.1 it/s=3\n",
        "step=10 loss=1.0 ae/recon=0.5 extra=abc\n",
        "step=1",  # cut short by a crash
        "valid step=10\n",
        "no timestamp, free text = here\n",
    ])
    assert log.starts == [0] and log.max_steps == 10
    assert log.train["loss"] == [(5, 1.5), (10, 1.0)] and "extra" not in log.train
    assert math.isnan(log.train["ae/recon"][0][1]) and log.valid == {}
    assert sorted(log.groups()) == ["ae", "loss"]


def test_every_metric_has_a_description() -> None:
    assert set(DESCRIPTIONS) == {m.key for m in METRICS}


@pytest.mark.parametrize("value, message", [("-1", "must be 0 or more, got -1"), ("two", "not a whole number: 'two'")])
def test_cli_rejects_a_bad_example_count(results: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         value: str, message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["report", *map(str, results), "--out", str(tmp_path / "report"), "--examples", value])
    assert stop.value.code == 2
    assert f"argument --examples: {message}" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()
