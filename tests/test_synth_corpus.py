"""The synthetic corpus: grammar, speaker choice, sentence plan, engines' errors, real builds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import yaml

from vc import cli
from vc.data.datadir import DataDir, validate_data_dir
from vc.data.synth import SPEAKERS, build_corpus, generate_sentences, select_speakers
from vc.data.synth import builder, engines
from vc.data.synth.builder import plan_utterances
from vc.data.synth.postprocess import TARGET_RMS, TRIM_MARGIN_S
from vc.data.synth.sentences import corpus_sentences
from vc.errors import VCError

needs_fast_synths = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("flite") is None, reason="espeak-ng and flite are not installed"
)
needs_festival = pytest.mark.skipif(shutil.which("festival") is None, reason="festival is not installed")


# --- grammar -------------------------------------------------------------------------


def test_grammar_is_deterministic_per_seed() -> None:
    assert generate_sentences(40, seed=7) == generate_sentences(40, seed=7)
    assert generate_sentences(40, seed=7) != generate_sentences(40, seed=8)
    # A longer request extends a shorter one, so growing a corpus keeps its sentences.
    assert generate_sentences(60, seed=7)[:40] == generate_sentences(40, seed=7)


def test_grammar_gives_thousands_of_varied_distinct_sentences() -> None:
    sentences = generate_sentences(5000, seed=0)
    assert len(set(sentences)) == 5000
    lengths = [len(s.split()) for s in sentences]
    assert min(lengths) >= 5 and max(lengths) <= 15
    assert all(s[0].isupper() and s[-1] in ".?!" for s in sentences)
    endings = {s[-1] for s in sentences}
    assert endings == {".", "?", "!"}  # statements, questions, commands
    assert len({s.split()[0] for s in sentences}) > 50
    assert any(s.startswith("Please ") for s in sentences) and any(s.startswith("How many ") for s in sentences)


# --- speakers --------------------------------------------------------------------------


def test_speaker_ids_are_kaldi_safe_and_never_a_prefix_of_another() -> None:
    ids = [s.id for s in SPEAKERS]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    assert not [(a, b) for a in ids for b in ids if a != b and b.startswith(a)]
    assert {s.engine for s in SPEAKERS} == {"espeak", "flite", "festival"}


def test_default_speakers_alternate_engines_and_genders() -> None:
    first = select_speakers()
    assert len(first) == 4
    assert all(a.engine != b.engine and a.gender != b.gender for a, b in zip(first, first[1:]))


def test_speaker_selection_errors() -> None:
    assert [s.id for s in select_speakers(voices=["fest_slt", "espeak_m1"])] == ["fest_slt", "espeak_m1"]
    with pytest.raises(VCError, match=f"between 1 and {len(SPEAKERS)}"):
        select_speakers(len(SPEAKERS) + 1)
    with pytest.raises(VCError, match="unknown voice 'nobody' .*flite_awb"):
        select_speakers(voices=["flite_awb", "nobody"])
    with pytest.raises(VCError, match="more than once"):
        select_speakers(voices=["flite_awb", "flite_awb"])
    with pytest.raises(VCError, match="not both"):
        select_speakers(2, ["flite_awb"])


# --- who says what -------------------------------------------------------------------


def test_plan_is_non_parallel_except_the_shared_parallel_set() -> None:
    speakers, m, k = list(SPEAKERS), 10, 5
    plan = plan_utterances(speakers, generate_sentences(len(speakers) * m + k, seed=1), m, k)
    nonpar = [u for u in plan if u.subset == "nonparallel"]
    par = [u for u in plan if u.subset == "parallel"]
    assert len(nonpar) == len(speakers) * m and len({u.text for u in nonpar}) == len(nonpar)
    by_number: dict[str, set[str]] = {}
    for u in par:
        by_number.setdefault(u.utt_id.rsplit("_par", 1)[1], set()).add(u.text)
    assert len(by_number) == k and all(len(texts) == 1 for texts in by_number.values())
    assert {u.speaker.id for u in par} == {s.id for s in speakers}
    assert not {u.text for u in par} & {u.text for u in nonpar}
    assert all(u.utt_id.startswith(u.speaker.id + "_") for u in plan)


def test_text_file_sentences(tmp_path: Path) -> None:
    text = tmp_path / "lines.txt"
    text.write_text("one two three\n\n  four   five \none two three\nsix seven\n")
    chosen = corpus_sentences(3, seed=0, text_file=text)
    assert sorted(chosen) == ["four five", "one two three", "six seven"]
    assert corpus_sentences(3, seed=0, text_file=text) == chosen
    with pytest.raises(VCError, match=r"lines.txt: only 3 distinct sentences, but 2 speakers x 1 utterances"):
        build_corpus(tmp_path / "out", voices=["espeak_f1", "flite_awb"], utts_per_speaker=1, eval_utts=2,
                     text_file=text)
    with pytest.raises(VCError, match="text file not found"):
        corpus_sentences(1, seed=0, text_file=tmp_path / "missing.txt")
    assert not (tmp_path / "out").exists()


# --- errors before any audio ---------------------------------------------------------


def test_missing_synthesizer_is_named_with_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "flite" else real_which(name, *a, **k))
    with pytest.raises(VCError) as caught:
        build_corpus(tmp_path / "out", voices=["espeak_f1", "flite_awb", "flite_slt"], utts_per_speaker=1)
    assert str(caught.value) == (
        "synthesizer 'flite' not found (needed for speakers flite_awb, flite_slt): "
        "install it with 'apt-get install flite'"
    )
    assert not (tmp_path / "out").exists()


def test_missing_festival_voice_is_named_with_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}")
    monkeypatch.setattr(engines, "_installed_voices", lambda engine: set())
    with pytest.raises(VCError, match=re.escape(
        "festival voice 'kal_diphone' not installed (needed for speaker fest_kal): "
        "install it with 'apt-get install festvox-kallpc16k'"
    )):
        build_corpus(tmp_path / "out", voices=["fest_kal"], utts_per_speaker=1)
    assert not (tmp_path / "out").exists()


def test_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(VCError, match="holds 'notes.txt', which 'vc corpus synth' did not write"):
        build_corpus(tmp_path, voices=["espeak_f1"], utts_per_speaker=1)
    with pytest.raises(VCError, match=r"utterances per speaker \(--utts\) must be at least 1"):
        build_corpus(tmp_path / "out", utts_per_speaker=0)


# --- real builds ---------------------------------------------------------------------


def _build(out: Path, **kwargs: object) -> None:
    options = dict(voices=["espeak_f1", "flite_awb"], utts_per_speaker=2, eval_utts=2, seed=3, nj=2)
    build_corpus(out, **{**options, **kwargs})


def _audio(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "wav").rglob("*.wav"))}


@needs_fast_synths
def test_tiny_build_is_valid_trimmed_normalised_and_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _build(a)
    _build(b)
    for subset in ("nonparallel", "parallel"):
        assert validate_data_dir(a / subset) == []
        assert (a / subset / "text").read_bytes() == (b / subset / "text").read_bytes()
        scp_a, scp_b = ((root / subset / "wav.scp").read_text() for root in (a, b))
        assert scp_a.replace(str(a), str(b)) == scp_b
    assert _audio(a) == _audio(b) and len(_audio(a)) == 2 * (2 + 2)

    data = DataDir.read(a / "nonparallel")
    assert data.speakers == ["espeak_f1", "flite_awb"] and len(data.utts) == 4
    assert all(Path(p).is_absolute() for p in data.wav_scp.values())
    for path in data.wav_scp.values():
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        wav, sr = sf.read(path, dtype="float32")
        _, (start, end) = librosa.effects.trim(wav, top_db=40, frame_length=512, hop_length=128)
        slack = int((TRIM_MARGIN_S + 0.032) * sr)
        assert start <= slack and wav.size - end <= slack
        rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
        assert rms <= TARGET_RMS * 1.01 and rms > TARGET_RMS / 4

    meta = yaml.safe_load((a / "corpus.yaml").read_text())
    assert meta["seed"] == 3 and meta["sample_rate"] == 16000
    assert [s["id"] for s in meta["speakers"]] == ["espeak_f1", "flite_awb"]
    assert meta["speakers"][0]["prosody"] == {"pitch": 60, "speed": 160}
    assert meta["counts"] == {"speakers": 2, "nonparallel": 4, "parallel": 4}

    _build(b, seed=4, eval_utts=0)  # a rebuild in place replaces the old corpus
    assert (b / "nonparallel" / "text").read_text() != (a / "nonparallel" / "text").read_text()
    assert validate_data_dir(b / "nonparallel") == [] and not (b / "parallel").exists()
    assert len(_audio(b)) == 2 * 2


@needs_fast_synths
def test_text_file_build_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "lines.txt"
    text.write_text('The "red" boat sails at dawn.\n\n-Minus signs do not start options.\nWe meet at noon.\n')
    out = tmp_path / "corpus"
    argv = ["corpus", "synth", "--out", str(out), "--voices", "espeak_m1", "--utts", "2", "--eval-utts", "1"]
    assert cli.main(argv + ["--text", str(text), "--seed", "1"]) == 0
    assert "1 speakers, 3 utterances (2 non-parallel + 1 parallel)" in capsys.readouterr().out
    said = set(DataDir.read(out / "nonparallel").text.values()) | set(DataDir.read(out / "parallel").text.values())
    assert said == {'The "red" boat sails at dawn.', "-Minus signs do not start options.", "We meet at noon."}

    assert cli.main(argv + ["--voices", "espeak_m1,nobody"]) == 1
    assert capsys.readouterr().err.startswith("vc corpus: error: unknown voice 'nobody'")


@needs_fast_synths
def test_failed_synthesis_leaves_no_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "corpus"
    _build(out)
    real = builder.synthesize

    def fail_for_flite(speaker, items):  # type: ignore[no-untyped-def]
        if speaker.engine == "flite":
            raise VCError("flite broke")
        real(speaker, items)

    monkeypatch.setattr(builder, "synthesize", fail_for_flite)
    with pytest.raises(VCError, match="flite broke"):
        _build(out, nj=1)
    assert sorted(p.name for p in out.iterdir()) == ["wav"]


@needs_festival
def test_festival_voices_build_in_one_process_each(tmp_path: Path) -> None:
    text = tmp_path / "lines.txt"
    text.write_text('She said "hello" to the baker.\nA back\\slash is read aloud.\nThe train left at six.\n')
    build_corpus(tmp_path / "c", voices=["fest_kal", "fest_slt"], utts_per_speaker=1, eval_utts=1, text_file=text)
    assert validate_data_dir(tmp_path / "c" / "nonparallel") == []
    assert validate_data_dir(tmp_path / "c" / "parallel") == []
    assert all(sf.info(p).samplerate == 16000 for p in (tmp_path / "c" / "wav").rglob("*.wav"))
