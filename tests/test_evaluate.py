"""The objective metrics (MCD-DTW, F0, speaker similarity, ASR error, DNSMOS) and `vc evaluate`,
which pairs converted speech with the target's parallel recording."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc.cli import main
from vc.evaluate.mcd import MCD_CONSTANT, dtw_align, mcd_dtw, mcep_of
from vc.evaluate.metrics import METRICS


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


# arctic_a0007, the sample the `speech` fixture loads.
A0007 = "And you always want to see it in the superlative degree."


def _tone(f0: np.ndarray, sr: int = 16000, hop: int = 80) -> np.ndarray:
    """A harmonic-rich tone following an F0 contour given per 5 ms frame (0 = silence)."""
    f = np.repeat(f0, hop).astype(np.float64)
    phase = 2 * np.pi * np.cumsum(f) / sr
    wav = sum(np.sin(k * phase) / k for k in range(1, 20)) * (f > 0)
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def _f0(ref: np.ndarray, test: np.ndarray, dtw: bool = True):
    """F0 scores of two tones, on the mel-cepstral DTW path or frame by frame."""
    from vc.audio.world import analyze
    from vc.evaluate.f0 import f0_scores
    from vc.evaluate.mcd import SCORING_CONFIG, mcd_dtw_path

    a, b = analyze(ref, SCORING_CONFIG), analyze(test, SCORING_CONFIG)
    if dtw:
        _, ia, ib = mcd_dtw_path(a.mcep, b.mcep)
    else:
        ia = ib = np.arange(min(len(a.f0), len(b.f0)))
    return f0_scores(a.f0, b.f0, ia, ib)


def test_f0_rmse_and_correlation_on_tones() -> None:
    glide = np.linspace(120, 220, 300)
    same = _f0(_tone(glide), _tone(glide))
    assert same.rmse_hz < 2 and same.corr > 0.99 and same.vuv_error < 0.02
    # Frame by frame: the envelope of a harmonic tone moves with its F0, so DTW would pair a
    # raised glide with earlier frames and hide part of the offset.
    shifted = _f0(_tone(glide), _tone(glide + 30), dtw=False)  # 30 Hz higher, same shape
    assert 27 < shifted.rmse_hz < 33 and shifted.corr > 0.99
    flat = _f0(_tone(glide), _tone(np.full(300, 170.0)), dtw=False)
    assert abs(flat.corr) < 0.3 or np.isnan(flat.corr)
    assert 25 < flat.rmse_hz < 35  # a glide 120..220 around 170 is off by 29 Hz RMS


def test_voicing_error_counts_frames_voiced_in_one_only() -> None:
    from vc.evaluate.f0 import f0_scores

    ref = np.array([0, 100, 100, 100, 0, 0, 0, 0.0])
    test = np.array([0, 100, 0, 100, 100, 0, 0, 0.0])
    idx = np.arange(8)
    s = f0_scores(ref, test, idx, idx)
    assert s.vuv_error == pytest.approx(2 / 8) and s.rmse_hz == 0 and np.isnan(s.corr)  # constant F0
    none = f0_scores(np.zeros(4), np.zeros(4), np.arange(4), np.arange(4))
    assert np.isnan(none.rmse_hz) and none.vuv_error == 0


def test_f0_tones_through_the_dtw_path_of_a_slower_rendering() -> None:
    # The test says the same contour at half speed: DTW pairs the frames, so no F0 error remains.
    glide = np.linspace(120, 220, 200)
    slow = _f0(_tone(glide), _tone(np.repeat(glide, 2)))
    assert slow.rmse_hz < 8 and slow.corr > 0.95


def test_word_and_character_error_counts() -> None:
    from vc.evaluate.asr import error_counts, normalize_text

    assert normalize_text("Who bought a clean clock, in the PARK?") == "who bought a clean clock in the park"
    e = error_counts("the cat sat", "the bat sat down")  # 1 substitution + 1 insertion
    assert (e.word_edits, e.words) == (2, 3) and e.wer == pytest.approx(2 / 3)
    assert (e.char_edits, e.chars) == (6, 11)  # c->b, then " down"
    nothing = error_counts("the cat sat", "")
    assert nothing.wer == 1.0 and nothing.cer == 1.0


def test_recognizer_transcribes_the_arctic_sample(speech: np.ndarray) -> None:
    from vc.evaluate.asr import Recognizer, error_counts

    hyp = Recognizer().transcribe(speech)
    assert error_counts(A0007, hyp).wer <= 0.2, hyp
    assert error_counts("the quick brown fox jumps over the lazy dog", hyp).wer >= 0.8


def test_dnsmos_rates_speech_above_noise(speech: np.ndarray) -> None:
    from vc.evaluate.mos import MosPredictor

    predictor = MosPredictor()
    clean = predictor.predict(speech)
    noise = predictor.predict(np.random.default_rng(0).normal(scale=0.3, size=len(speech)).astype(np.float32))
    assert 1 <= clean.ovrl <= 5 and 1 <= clean.p808 <= 5
    assert clean.ovrl > noise.ovrl + 0.5 and clean.sig > noise.sig


@pytest.mark.parametrize("module, hint", [
    ("resemblyzer", r"speaker similarity \(--metrics speaker\) needs the 'resemblyzer' package.*"
                    r"pip install --no-deps resemblyzer"),
    ("pocketsphinx", r"word and character error \(--metrics asr\) needs the 'pocketsphinx' package.*"
                     r"pip install 'vc\[eval\]'"),
    ("speechmos", r"predicted MOS \(--metrics mos\) needs the 'speechmos' package.*pip install 'vc\[eval\]'"),
])
def test_missing_evaluator_package_says_what_to_install(monkeypatch, module: str, hint: str) -> None:
    from vc.errors import ConfigError
    from vc.evaluate.optional import require

    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ConfigError, match=hint):
        require(module)


@pytest.fixture
def parallel(tmp_path: Path, speech: np.ndarray) -> Path:
    """A parallel set: speakers aa and bb say sentences 001 and 002; bb's recordings are aa's
    louder, and cc, a tone, says them too (a third speaker for nearest-speaker accuracy)."""
    data = tmp_path / "eval"
    data.mkdir()
    pieces = {"001": speech[:32000], "002": speech[16000:]}
    wavs = {}
    for sentence, piece in pieces.items():
        wavs[f"aa_par{sentence}"] = piece
        wavs[f"bb_par{sentence}"] = piece * 1.5
        wavs[f"cc_par{sentence}"] = _tone(np.full(len(piece) // 80, 150.0 + int(sentence)))
    for utt, wav in wavs.items():
        sf.write(tmp_path / f"{utt}.wav", wav, 16000)
    (data / "wav.scp").write_text("".join(f"{u} {tmp_path / u}.wav\n" for u in sorted(wavs)))
    (data / "utt2spk").write_text("".join(f"{u} {u[:2]}\n" for u in sorted(wavs)))
    (data / "text").write_text("".join(f"{u} {A0007}\n" for u in sorted(wavs)))
    return data


def _converted(tmp_path: Path, wavs: dict[str, np.ndarray]) -> Path:
    conv = tmp_path / "conv"
    conv.mkdir()
    for utt, wav in wavs.items():
        sf.write(conv / f"{utt}.wav", wav, 16000)
    (conv / "wav.scp").write_text("".join(f"{u} {conv / u}.wav\n" for u in wavs))
    return conv


def test_cli_scores_converted_against_target(parallel: Path, tmp_path: Path, speech: np.ndarray, capsys) -> None:
    conv = _converted(tmp_path, {"aa_par001": speech[:32000] * 1.5})  # a perfect conversion to bb
    assert main(["evaluate", "--converted", str(conv), "--data", str(parallel), "--tgt-spk", "bb",
                 "--metrics", "mcd,f0", "--label", "perfect", "--out", str(tmp_path / "res")]) == 0
    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["label"] == "perfect" and summary["kind"] == "converted"
    assert (summary["src_spk"], summary["tgt_spk"]) == ("aa", "bb")
    # Gain changes only c0, which MCD excludes, and not F0: the distances are ~0 here.
    assert summary["metrics"]["mcd_db"]["n"] == 1 and summary["metrics"]["mcd_db"]["mean"] < 0.1
    assert summary["metrics"]["f0_rmse_hz"]["mean"] < 1 and "wer" not in summary["metrics"]
    rows = list(csv.reader((tmp_path / "res" / "scores.csv").open()))
    assert rows[0] == ["utt", "target_utt", "wav", "mcd_db", "f0_rmse_hz", "f0_corr", "vuv_error"]
    assert rows[1][:3] == ["aa_par001", "bb_par001", str(conv / "aa_par001.wav")]
    assert "perfect, 1 utterances to bb: MCD 0.0" in capsys.readouterr().out


def test_cli_scores_every_metric_and_both_references(parallel: Path, tmp_path: Path, speech: np.ndarray) -> None:
    conv = _converted(tmp_path, {"aa_par001": speech[:32000] * 1.5, "aa_par002": speech[16000:] * 1.5})
    common = ["--data", str(parallel), "--tgt-spk", "bb", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(["evaluate", "--converted", str(conv), *common, "--out", str(tmp_path / "sys")]) == 0
    for ref in ("source", "target"):
        assert main(["evaluate", "--reference", ref, "--src-spk", "aa", *common, "--out", str(tmp_path / ref)]) == 0
    assert len(list((tmp_path / "cache").glob("resemblyzer_*.npz"))) == 1  # embedded once, then reused
    summary = {name: json.loads((tmp_path / name / "summary.json").read_text())["metrics"]
               for name in ("sys", "source", "target")}
    assert set(summary["sys"]) == {m.key for m in METRICS}
    assert summary["target"]["mcd_db"]["mean"] == 0 and summary["target"]["f0_rmse_hz"]["mean"] == 0
    # Speaker similarity leaves the sentence under test out of each speaker's representation;
    # aa and bb are the same voice here, so the tone speaker cc is the one to be far from.
    # Resemblyzer gives ~0.83 between two different short clips of one voice.
    assert summary["sys"]["sim_target"]["mean"] > 0.75 and summary["sys"]["nearest_correct"]["n"] == 2
    assert {r["nearest_spk"] for r in csv.DictReader((tmp_path / "sys" / "scores.csv").open())} <= {"aa", "bb"}
    assert summary["sys"]["wer"]["pooled"] <= 0.35 and summary["target"]["wer"]["mean"] <= 0.35
    assert 1 <= summary["source"]["dnsmos_ovrl"]["mean"] <= 5
    rows = list(csv.DictReader((tmp_path / "target" / "scores.csv").open()))
    assert [r["utt"] for r in rows] == ["aa_par001", "aa_par002"]
    assert rows[0]["wav"].endswith("bb_par001.wav") and rows[0]["nearest_spk"] in ("aa", "bb") and rows[0]["hyp"]


def test_cli_scores_copy_synthesis_of_the_source_and_the_target(parallel: Path, tmp_path: Path,
                                                                speech: np.ndarray) -> None:
    # A "vocoder" that halves the gain: MCD leaves c0 out, so each copy is ~0 dB from what it copies.
    copies = {utt: sf.read(path)[0] * 0.5 for utt, path in
              (line.split() for line in (parallel / "wav.scp").read_text().splitlines())}
    copysynth = _converted(tmp_path, copies)
    common = ["--data", str(parallel), "--src-spk", "aa", "--tgt-spk", "bb", "--metrics", "mcd",
              "--copysynth", str(copysynth), "--vocoder", "gl"]
    for ref in ("copysynth-source", "copysynth-target"):
        assert main(["evaluate", "--reference", ref, *common, "--out", str(tmp_path / ref)]) == 0
    source = json.loads((tmp_path / "copysynth-source" / "summary.json").read_text())
    assert (source["kind"], source["label"], source["vocoder"]) == ("copysynth-source", "source copy-synthesised", "gl")
    assert source["copysynth"] == str(copysynth / "wav.scp") and source["converted"] is None
    target = json.loads((tmp_path / "copysynth-target" / "summary.json").read_text())
    assert target["label"] == "target copy-synthesised" and target["metrics"]["mcd_db"]["mean"] < 0.1
    rows = list(csv.DictReader((tmp_path / "copysynth-target" / "scores.csv").open()))
    assert [(r["utt"], r["target_utt"], r["wav"]) for r in rows] == [
        ("aa_par001", "bb_par001", str(copysynth / "bb_par001.wav")),
        ("aa_par002", "bb_par002", str(copysynth / "bb_par002.wav"))]
    rows = list(csv.DictReader((tmp_path / "copysynth-source" / "scores.csv").open()))
    assert [r["wav"] for r in rows] == [str(copysynth / "aa_par001.wav"), str(copysynth / "aa_par002.wav")]
    # A converted set to a target unseen in training says so, for the report's targets.
    (tmp_path / "one").mkdir()
    conv = _converted(tmp_path / "one", {"aa_par001": speech[:32000]})
    assert main(["evaluate", "--converted", str(conv), "--data", str(parallel), "--tgt-spk", "bb",
                 "--metrics", "mcd", "--oneshot", "--out", str(tmp_path / "oneshot")]) == 0
    assert json.loads((tmp_path / "oneshot" / "summary.json").read_text())["oneshot"] is True


@pytest.mark.parametrize("args, message", [
    (["--reference", "copysynth-source"], "--copysynth goes with --reference copysynth-source or copysynth-target"),
    (["--reference", "source", "--copysynth", "x"], "--copysynth goes with --reference copysynth-source"),
    (["--reference", "target", "--oneshot"], "--oneshot goes with --converted"),
])
def test_cli_usage_errors(parallel: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", *args, "--src-spk", "aa", "--tgt-spk", "bb", "--data", str(parallel),
              "--out", str(tmp_path / "res")])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


@pytest.mark.parametrize("args, message", [
    (["--reference", "copysynth-target", "--src-spk", "aa", "--tgt-spk", "bb", "--copysynth", "{scp}"],
     r"the copy synthesis lists no 'bb_par001' \(copy-synthesise the whole data dir"),
    (["--reference", "copysynth-source", "--src-spk", "aa", "--tgt-spk", "bb", "--copysynth", "{nowhere}"],
     r"nowhere: no wav.scp of copy-synthesised speech"),
    (["--converted", "{scp}", "--tgt-spk", "dd"], r"unknown target speaker 'dd' \(the data dir has: aa, bb, cc\)"),
    (["--converted", "{zz}", "--tgt-spk", "bb"], r"converted utterance 'zz_par001' is not in the data dir"),
    (["--converted", "{scp}", "--tgt-spk", "bb", "--metrics", "mcd,pesq"],
     r"--metrics: unknown pesq \(choose from mcd, f0, speaker, asr, mos\)"),
    (["--reference", "source", "--src-spk", "aa", "--tgt-spk", "ee"], r"unknown target speaker 'ee'"),
    (["--converted", "{scp}", "--tgt-spk", "bb", "--metrics", "asr", "--data", "{notext}"],
     r"the data dir has no 'text' file: word error \(--metrics asr\) needs the transcripts"),
    (["--converted", "{silent}", "--tgt-spk", "bb", "--metrics", "mcd"], r"converted aa_par001 .*is silent"),
])
def test_cli_errors(parallel: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    import re
    import shutil

    notext = tmp_path / "notext"
    shutil.copytree(parallel, notext)
    (notext / "text").unlink()
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    paths = {"scp": "aa_par001 {}/aa_par001.wav\n".format(tmp_path), "zz": f"zz_par001 {tmp_path}/aa_par001.wav\n",
             "silent": f"aa_par001 {tmp_path}/silent.wav\n"}
    for name, text in paths.items():
        (tmp_path / f"{name}.scp").write_text(text)
    fill = {**{k: str(tmp_path / f"{k}.scp") for k in paths}, "notext": str(notext),
            "nowhere": str(tmp_path / "nowhere")}
    args = [a.format(**fill) for a in args]
    data = [] if "--data" in args else ["--data", str(parallel)]
    assert main(["evaluate", *args, *data, "--out", str(tmp_path / "res")]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err) and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "res").exists()  # nothing half-written


def test_cli_reports_a_missing_evaluator_package(parallel: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    (tmp_path / "c.scp").write_text(f"aa_par001 {tmp_path}/aa_par001.wav\n")
    assert main(["evaluate", "--converted", str(tmp_path / "c.scp"), "--data", str(parallel), "--tgt-spk", "bb",
                 "--metrics", "mcd,asr", "--out", str(tmp_path / "res")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("vc evaluate: error: word and character error (--metrics asr) needs the 'pocketsphinx'")
    assert len(err.splitlines()) == 1 and not (tmp_path / "res").exists()


@pytest.fixture
def nonparallel(tmp_path: Path, speech: np.ndarray) -> Path:
    """A non-parallel set without text: aa and bb (aa's voice, louder) say different stretches
    of the sample; cc, a tone, is a third speaker."""
    data = tmp_path / "np"
    data.mkdir()
    wavs = {"aa_first": speech[:32000], "aa_second": speech[16000:], "bb_x": speech[8000:40000] * 1.5,
            "bb_y": speech[4000:36000] * 1.5, "cc_z": _tone(np.full(400, 150.0))}
    for utt, wav in wavs.items():
        sf.write(tmp_path / f"{utt}.wav", wav, 16000)
    (data / "wav.scp").write_text("".join(f"{u} {tmp_path / u}.wav\n" for u in sorted(wavs)))
    (data / "utt2spk").write_text("".join(f"{u} {u[:2]}\n" for u in sorted(wavs)))
    return data


def test_nonparallel_scoring_against_the_asr_reading_of_the_copy_synthesis(
        nonparallel: Path, tmp_path: Path, speech: np.ndarray, capsys) -> None:
    copysynth = _converted(tmp_path, {"aa_first": speech[:32000] * 0.5, "aa_second": speech[16000:] * 0.5})
    text = tmp_path / "copysynth.text"
    assert main(["evaluate", "transcribe", "--wavs", str(copysynth), "--out", str(text), "--quiet"]) == 0
    assert "2 transcripts" in capsys.readouterr().out
    from vc.evaluate.asr import read_transcripts

    transcripts = read_transcripts(text)
    assert set(transcripts) == {"aa_first", "aa_second"} and "superlative" in transcripts["aa_second"]
    (tmp_path / "res").mkdir()
    conv = _converted(tmp_path / "res", {"aa_first": speech[:32000] * 1.5, "aa_second": speech[16000:] * 1.5})
    common = ["--data", str(nonparallel), "--tgt-spk", "bb", "--nonparallel", "--metrics", "speaker,asr",
              "--quiet"]
    assert main(["evaluate", "--converted", str(conv), *common, "--text", str(text),
                 "--out", str(tmp_path / "sys")]) == 0
    summary = json.loads((tmp_path / "sys" / "summary.json").read_text())
    assert summary["parallel"] is False and summary["transcripts"] == str(text)
    # The same words as the copy synthesis, louder: the ASR reads them the same.
    assert summary["metrics"]["wer"]["mean"] <= 0.2 and summary["metrics"]["sim_target"]["mean"] > 0.75
    rows = list(csv.DictReader((tmp_path / "sys" / "scores.csv").open()))
    assert [(r["utt"], r["target_utt"]) for r in rows] == [("aa_first", "bb_x"), ("aa_second", "bb_y")]
    assert {r["nearest_spk"] for r in rows} <= {"aa", "bb"}
    # The target's rows score its own recordings, paired in order with the source's.
    assert main(["evaluate", "--reference", "target", "--src-spk", "aa", *common[:-3], "--metrics", "speaker",
                 "--out", str(tmp_path / "target")]) == 0
    rows = list(csv.DictReader((tmp_path / "target" / "scores.csv").open()))
    assert [r["wav"].rsplit("/", 1)[1] for r in rows] == ["bb_x.wav", "bb_y.wav"]
    # An utterance the ASR read as no word is left out of the word error, not scored against "".
    text.write_text(f"aa_first\naa_second {transcripts['aa_second']}\n")
    assert main(["evaluate", "--converted", str(conv), *common, "--text", str(text),
                 "--out", str(tmp_path / "empty")]) == 0
    assert json.loads((tmp_path / "empty" / "summary.json").read_text())["metrics"]["wer"]["n"] == 1


@pytest.mark.parametrize("args, message", [
    (["--metrics", "mcd,speaker"], r"--metrics mcd: need the target's recording of the same sentence, which a "
                                   r"non-parallel eval set has not; choose from speaker, asr, mos"),
    (["--metrics", "asr", "--text", "{partial}"], r"the given transcripts has no transcript for 'aa_second'"),
    (["--metrics", "asr"], r"the data dir has no 'text' file: word error \(--metrics asr\) needs the transcripts "
                           r"\(or --text FILE\)"),
])
def test_nonparallel_errors(nonparallel: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    import re

    (tmp_path / "partial").write_text("aa_first the words\n")
    (tmp_path / "c.scp").write_text(f"aa_first {tmp_path}/aa_first.wav\naa_second {tmp_path}/aa_second.wav\n")
    args = [a.format(partial=tmp_path / "partial") for a in args]
    assert main(["evaluate", "--converted", str(tmp_path / "c.scp"), "--data", str(nonparallel), "--tgt-spk", "bb",
                 "--nonparallel", *args, "--out", str(tmp_path / "res")]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err) and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "res").exists()


def test_parallel_scoring_of_a_nonparallel_set_points_to_the_flag(nonparallel: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "c.scp").write_text(f"aa_first {tmp_path}/aa_first.wav\n")
    assert main(["evaluate", "--converted", str(tmp_path / "c.scp"), "--data", str(nonparallel), "--tgt-spk", "bb",
                 "--metrics", "speaker", "--out", str(tmp_path / "res")]) == 1
    assert "a non-parallel eval set: --nonparallel" in capsys.readouterr().err


def test_transcribe_errors(nonparallel: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "list").write_text("aa_first\nzz_none\n")
    assert main(["evaluate", "transcribe", "--wavs", str(nonparallel / "wav.scp"), "--utts", str(tmp_path / "list"),
                 "--out", str(tmp_path / "text")]) == 1
    assert "--utts" in capsys.readouterr().err and not (tmp_path / "text").exists()
    with pytest.raises(SystemExit):
        main(["evaluate", "--text", "x", "transcribe", "--wavs", str(nonparallel), "--out", str(tmp_path / "t")])
    assert "options of the scoring form" in capsys.readouterr().err
