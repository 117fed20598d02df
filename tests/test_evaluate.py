"""MCD with DTW, and `vc evaluate` pairing converted speech with the target's parallel recording."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc.cli import main
from vc.evaluate.mcd import MCD_CONSTANT, dtw_align, mcd_dtw, mcep_of


def test_mcd_of_a_signal_with_itself_is_zero(speech: np.ndarray) -> None:
    mcep = mcep_of(speech[:16000])
    assert mcd_dtw(mcep, mcep) == 0.0


def test_mcd_grows_with_distortion() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(200, 25))
    values = [mcd_dtw(ref, ref + rng.normal(scale=s, size=ref.shape)) for s in (0.01, 0.05, 0.2)]
    assert 0 < values[0] < values[1] < values[2]


def test_mcd_formula_on_a_constant_offset() -> None:
    ref = np.zeros((50, 3))
    test = ref + np.array([9.0, 0.3, 0.4])  # c0 differs wildly but is excluded
    assert mcd_dtw(ref, test) == pytest.approx(MCD_CONSTANT * 0.5)


def test_dtw_recovers_a_known_alignment() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(40, 5)).cumsum(0)
    repeat = rng.integers(1, 4, size=40)  # b holds frame i of a repeat[i] times
    b = np.repeat(a, repeat, axis=0)
    ia, ib = dtw_align(a, b)
    np.testing.assert_array_equal(ia, np.repeat(np.arange(40), repeat))
    np.testing.assert_array_equal(ib, np.arange(len(b)))
    assert mcd_dtw(np.c_[np.zeros(40), a], np.c_[np.zeros(len(b)), b]) == 0.0


@pytest.fixture
def parallel(tmp_path: Path, speech: np.ndarray) -> Path:
    """A parallel set: speakers aa and bb say sentence 001; bb's copy is the same speech louder."""
    data = tmp_path / "eval"
    data.mkdir()
    wavs = {"aa_par001": speech[:24000], "bb_par001": speech[:24000] * 1.5}
    for utt, wav in wavs.items():
        sf.write(tmp_path / f"{utt}.wav", wav, 16000)
    (data / "wav.scp").write_text("".join(f"{u} {tmp_path / u}.wav\n" for u in wavs))
    (data / "utt2spk").write_text("aa_par001 aa\nbb_par001 bb\n")
    return data


def test_cli_scores_converted_against_target(parallel: Path, tmp_path: Path, speech: np.ndarray, capsys) -> None:
    conv = tmp_path / "conv"
    conv.mkdir()
    sf.write(conv / "aa_par001.wav", speech[:24000] * 1.5, 16000)  # a perfect conversion to bb
    (conv / "wav.scp").write_text(f"aa_par001 {conv / 'aa_par001.wav'}\n")
    assert main(["evaluate", "--converted", str(conv), "--data", str(parallel), "--tgt-spk", "bb",
                 "--out", str(tmp_path / "res")]) == 0
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    # Gain changes only c0, which MCD excludes: both distances are ~0 here.
    assert summary["mcd_db"]["n"] == 1 and summary["mcd_db"]["mean"] < 0.1
    rows = (tmp_path / "res" / "scores.csv").read_text().splitlines()
    assert rows[0] == "utt,target_utt,mcd_db,source_mcd_db" and rows[1].startswith("aa_par001,bb_par001,")
    assert "1 utterances; MCD to bb: converted" in capsys.readouterr().out


@pytest.mark.parametrize("tgt, scp, message", [
    ("cc", "aa_par001 {wav}\n", r"unknown target speaker 'cc' \(the data dir has: aa, bb\)"),
    ("bb", "zz_par001 {wav}\n", r"converted utterance 'zz_par001' is not in the data dir"),
    ("aa", "bb_par002 {wav}\n", r"converted utterance 'bb_par002' is not in the data dir"),
])
def test_cli_errors(parallel: Path, tmp_path: Path, capsys, tgt: str, scp: str, message: str) -> None:
    (tmp_path / "c.scp").write_text(scp.format(wav=tmp_path / "aa_par001.wav"))
    assert main(["evaluate", "--converted", str(tmp_path / "c.scp"), "--data", str(parallel), "--tgt-spk", tgt,
                 "--out", str(tmp_path / "res")]) == 1
    import re
    err = capsys.readouterr().err
    assert re.search(message, err) and len(err.strip().splitlines()) == 1
