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
from vc.data.synth import builder, engines, generated, perturb
from vc.data.synth.builder import plan_utterances
from vc.data.synth.generated import VOICE_SEED, generated_speakers
from vc.data.synth.postprocess import TARGET_RMS, TRIM_MARGIN_S
from vc.data.synth.sentences import corpus_sentences
from vc.data.synth.roster import all_speakers
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
    ids = [s.id for s in all_speakers()]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    assert not [(a, b) for a in ids for b in ids if a != b and b.startswith(a)]
    assert {s.engine for s in SPEAKERS} == {"espeak", "flite", "festival"}
    # So utterance ids sort (C order, as Kaldi's) exactly like their speakers.
    utts = sorted((f"{spk}_{n}", spk) for spk in ids for n in ("0001", "0012", "par001"))
    spks = [spk for _, spk in utts]
    assert spks == sorted(spks)


# The canonical list, as recipes and tests name it: it must never change.
CANONICAL = [
    ("flite_awb", "flite", "awb", None, None),
    ("espeak_f1", "espeak", "en-us+f2", 60, 160),
    ("fest_kal", "festival", "kal_diphone", None, None),
    ("flite_slt", "flite", "slt", None, None),
    ("espeak_m1", "espeak", "en-gb+m3", 35, 165),
    ("fest_slt", "festival", "cmu_us_slt_arctic_hts", None, None),
    ("flite_rms", "flite", "rms", None, None),
    ("espeak_f2", "espeak", "en-us+f4", 80, 150),
    ("fest_ked", "festival", "ked_diphone", None, None),
    ("espeak_f3", "espeak", "en-gb-x-rp+f3", 35, 180),
    ("flite_kal16", "flite", "kal16", None, None),
    ("espeak_m2", "espeak", "en-us+m7", 15, 150),
    ("espeak_f4", "espeak", "en-us+f5", 50, 190),
    ("espeak_m3", "espeak", "en-gb-scotland+m1", 70, 185),
]


def test_canonical_speakers_come_first_unchanged() -> None:
    assert [(s.id, s.engine, s.voice, s.pitch, s.speed) for s in SPEAKERS] == CANONICAL
    assert all(s.amplitude is None and not s.perturbed for s in SPEAKERS)
    assert all_speakers()[: len(SPEAKERS)] == SPEAKERS
    assert select_speakers(14) == list(SPEAKERS)
    # Their espeak-ng command is what it always was (same audio): no amplitude option.
    command = engines._espeak_command(SPEAKERS[1], Path("x.wav"))
    assert command[1:] == ["-v", "en-us+f2", "-p", "60", "-s", "160", "-w", "x.wav", "--stdin"]


def test_generated_speakers_are_deterministic_distinct_and_follow_the_canonical_ones() -> None:
    gen = generated_speakers()
    assert gen == generated_speakers.__wrapped__(VOICE_SEED)  # recomputed, not the cached tuple
    assert generated_speakers.__wrapped__(VOICE_SEED + 1) != gen  # the seed draws the order
    assert len(gen) >= 250 and len(all_speakers()) == len(SPEAKERS) + len(gen)
    assert select_speakers(40) == list(SPEAKERS) + list(gen[:26])

    espeak = [s for s in gen if s.engine == "espeak"]
    world = [s for s in gen if s.perturbed]
    assert len(espeak) + len(world) == len(gen)
    # No two generated espeak-ng voices share a variant and pitch; no WORLD cell repeats
    # or is the unchanged base voice.
    cells = {(s.voice.partition("+")[2], s.pitch) for s in espeak}
    assert len(cells) == len(espeak)
    recipes = {(s.engine, s.voice, s.f0_scale, s.warp_alpha) for s in world}
    assert len(recipes) == len(world) and not [s for s in world if (s.f0_scale, s.warp_alpha) == (1.0, 0.0)]
    assert all(s.amplitude == generated.ESPEAK_AMPLITUDE and s.speed in generated.ESPEAK_SPEEDS for s in espeak)
    assert {s.engine for s in world} == {"flite", "festival"}
    # Both families and both genders early on: the first 26 have 13 of each gender and family.
    first = gen[:26]
    assert sum(s.gender == "female" for s in first) == 13 and sum(s.perturbed for s in first) == 13
    # A generated id names its recipe.
    for s in gen[:40]:
        if s.perturbed:
            base = next(b for b in SPEAKERS if b.engine == s.engine and b.voice == s.voice)
            assert s.id == generated.world_id(base.id, s.f0_scale, s.warp_alpha)
        else:
            assert s.id.startswith("es_") and s.id.endswith(f"_p{s.pitch:02d}_s{s.speed:03d}")
    assert generated.world_id("flite_awb", 0.8, -0.05) == "wd_flite_awb_f080_wm050"
    assert generated.world_id("fest_slt", 1.12, 0.0) == "wd_fest_slt_f112_w000"
    assert generated.world_id("fest_slt", 1.0, -0.075) == "wd_fest_slt_f100_wm075"
    # Female voices are only warped down (shorter tracts than slt's read badly), male both ways.
    assert {s.warp_alpha for s in world if s.gender == "female"} == {-0.1, -0.075, -0.05, -0.025, 0.0}
    assert {s.warp_alpha for s in world if s.gender == "male"} == {-0.05, -0.025, 0.0, 0.025, 0.05}


def test_default_speakers_alternate_engines_and_genders() -> None:
    first = select_speakers()
    assert len(first) == 4
    assert all(a.engine != b.engine and a.gender != b.gender for a, b in zip(first, first[1:]))


def test_speaker_selection_errors() -> None:
    assert [s.id for s in select_speakers(voices=["fest_slt", "espeak_m1"])] == ["fest_slt", "espeak_m1"]
    some = generated_speakers()[5].id
    assert [s.id for s in select_speakers(voices=[some, "flite_awb"])] == [some, "flite_awb"]
    n = len(all_speakers())
    for bad in (n + 1, 0):
        with pytest.raises(VCError) as caught:
            select_speakers(bad)
        assert str(caught.value) == (
            f"number of speakers must be between 1 and {n} (the 14 canonical voices and {n - 14} generated ones), "
            f"got {bad}"
        )
    with pytest.raises(VCError, match="unknown voice 'nobody' .*flite_awb.*'vc corpus voices' lists"):
        select_speakers(voices=["flite_awb", "nobody"])
    with pytest.raises(VCError, match="more than once"):
        select_speakers(voices=["flite_awb", "flite_awb"])
    with pytest.raises(VCError, match="not both"):
        select_speakers(2, ["flite_awb"])


# --- WORLD perturbation ------------------------------------------------------------------


def _vowel(f0: float, seconds: float = 0.6, sr: int = 16000) -> np.ndarray:
    """A steady synthetic vowel: harmonics of ``f0`` shaped by formants at 700, 1200 and 2600 Hz."""
    t = np.arange(int(seconds * sr)) / sr
    wav = np.zeros_like(t)
    for k in range(1, int(sr / 2 / f0)):
        f = k * f0
        gain = sum(1.0 / (1.0 + ((f - fc) / 90.0) ** 2) for fc in (700.0, 1200.0, 2600.0)) / k**0.5
        wav += gain * np.sin(2 * np.pi * f * t)
    return (0.3 * wav / np.abs(wav).max()).astype(np.float32)


def _median_f0(wav: np.ndarray, sr: int = 16000) -> float:
    x = wav.astype(np.float64)
    f0, t = perturb.pyworld.harvest(x, sr, f0_floor=50, f0_ceil=600)
    return float(np.median(f0[f0 > 0]))


def _centroid(wav: np.ndarray, sr: int = 16000) -> float:
    """Spectral centroid (Hz) of the whole signal's magnitude spectrum."""
    mag = np.abs(np.fft.rfft(wav.astype(np.float64)))
    return float(np.sum(np.fft.rfftfreq(wav.size, 1 / sr) * mag) / np.sum(mag))


def test_perturbation_scales_f0_and_keeps_length() -> None:
    wav = _vowel(120.0)
    assert abs(_median_f0(wav) - 120.0) < 2.0
    for scale in (0.8, 1.25):
        out = perturb.perturb(wav, 16000, f0_scale=scale)
        assert out.dtype == np.float32 and out.shape == wav.shape and np.all(np.isfinite(out))
        assert _median_f0(out) == pytest.approx(120.0 * scale, rel=0.03)
    for n in (4001, 7777):  # odd lengths come back the same length too
        assert perturb.perturb(wav[:n], 16000, 1.12, -0.05).shape == (n,)


def test_warp_moves_formants_and_keeps_f0_and_length() -> None:
    # The map: identity at alpha 0, ends fixed, monotonic; alpha > 0 reads lower input bins.
    assert np.allclose(perturb.warp_positions(513, 0.0), np.arange(513))
    pos = perturb.warp_positions(513, 0.1)
    assert pos[0] == 0 and pos[-1] == 512 and np.all(np.diff(pos) > 0) and np.all(pos[1:-1] < np.arange(1, 512))
    # An envelope peak at 1 kHz moves to phi_alpha(1 kHz), about 1.21 kHz for alpha 0.1 at 16 kHz.
    bins = np.arange(513) * 8000 / 512
    sp = np.exp(-(((bins - 1000) / 100) ** 2))[None, :] + 1e-6
    assert bins[np.argmax(perturb.warp_envelope(sp, 0.1))] == pytest.approx(1215, abs=20)
    assert bins[np.argmax(perturb.warp_envelope(sp, -0.1))] == pytest.approx(820, abs=20)

    wav = _vowel(150.0)
    down, same, up = (perturb.perturb(wav, 16000, warp_alpha=a) for a in (-0.1, 0.0, 0.1))
    assert up.shape == down.shape == wav.shape
    assert _median_f0(up) == pytest.approx(150.0, rel=0.03) and _median_f0(down) == pytest.approx(150.0, rel=0.03)
    # Against plain resynthesis (which adds some aperiodic noise of its own): formants up, or down.
    assert _centroid(up) > 1.05 * _centroid(same) > 1.05 * 1.05 * _centroid(down)


def test_perturbation_refuses_out_of_range_settings() -> None:
    wav = _vowel(120.0, seconds=0.2)
    with pytest.raises(VCError, match=r"^F0 scale must be between 0.5 and 2.0, got 3.0$"):
        perturb.perturb(wav, 16000, f0_scale=3.0)
    with pytest.raises(VCError, match=r"^warp alpha must be between -0.3 and 0.3, got -0.5$"):
        perturb.perturb(wav, 16000, warp_alpha=-0.5)


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


@needs_fast_synths
def test_generated_voices_build_deterministically_with_their_recipes(tmp_path: Path) -> None:
    awb_up = next(s for s in generated_speakers() if s.voice == "awb" and s.f0_scale == 1.25)
    espeak = next(s for s in generated_speakers() if s.engine == "espeak")
    voices = ["flite_awb", awb_up.id, espeak.id]
    a, b = tmp_path / "a", tmp_path / "b"
    build_corpus(a, voices=voices, utts_per_speaker=1, eval_utts=1, seed=2, nj=2)  # WORLD in worker processes
    build_corpus(b, voices=voices, utts_per_speaker=1, eval_utts=1, seed=2, nj=1)  # WORLD in this process
    assert _audio(a) == _audio(b) and len(_audio(a)) == 6
    assert validate_data_dir(a / "nonparallel") == [] and validate_data_dir(a / "parallel") == []

    meta = yaml.safe_load((a / "corpus.yaml").read_text())
    recipes = {s["id"]: s for s in meta["speakers"]}
    assert recipes["flite_awb"]["world"] is None and recipes["flite_awb"]["prosody"] is None
    assert recipes[awb_up.id]["world"] == {"f0_scale": 1.25, "warp_alpha": awb_up.warp_alpha}
    assert recipes[awb_up.id]["engine"] == "flite" and recipes[awb_up.id]["voice"] == "awb"
    assert recipes[espeak.id]["prosody"] == {"pitch": espeak.pitch, "speed": espeak.speed, "amplitude": 60}

    # The same parallel sentence: the derived voice's F0 is the base's times 1.25; all three
    # are loudness-normalised like every other speaker and nothing clips.
    par = DataDir.read(a / "parallel").wav_scp
    wavs = {spk: sf.read(par[f"{spk}_par001"], dtype="float32")[0] for spk in voices}
    assert _median_f0(wavs[awb_up.id]) / _median_f0(wavs["flite_awb"]) == pytest.approx(1.25, rel=0.06)
    for wav in wavs.values():
        rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
        assert TARGET_RMS / 4 < rms <= TARGET_RMS * 1.01 and np.abs(wav).max() < 0.9


@needs_fast_synths
def test_a_failed_resynthesis_is_one_line_naming_the_utterance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    derived = next(s for s in generated_speakers() if s.engine == "flite")

    def broken(*args: object) -> np.ndarray:
        raise VCError("WORLD resynthesis gave no usable audio")

    monkeypatch.setattr(builder, "perturb", broken)
    with pytest.raises(VCError) as caught:
        build_corpus(tmp_path / "c", voices=[derived.id], utts_per_speaker=1, eval_utts=0, nj=1)
    assert str(caught.value) == f"speaker {derived.id}, {derived.id}_0001: WORLD resynthesis gave no usable audio"
    assert not (tmp_path / "c" / "nonparallel").exists()


def test_cli_lists_voices_and_refuses_too_many(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["corpus", "voices", "--speakers", "16", "--generated", "--ids"]) == 0
    assert capsys.readouterr().out.split() == [s.id for s in generated_speakers()[:2]]
    assert cli.main(["corpus", "voices", "--speakers", "15"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 16 and lines[0].split()[:3] == ["#", "id", "engine"] and lines[1].split()[0] == "flite_awb"
    n = len(all_speakers())
    argv = ["corpus", "synth", "--out", str(tmp_path / "c"), "--speakers", str(n + 1)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"vc corpus: error: number of speakers must be between 1 and {n} (the 14 canonical voices and " \
        f"{n - 14} generated ones), got {n + 1}\n"
    assert not (tmp_path / "c").exists()


@needs_festival
def test_festival_voices_build_in_one_process_each(tmp_path: Path) -> None:
    text = tmp_path / "lines.txt"
    text.write_text('She said "hello" to the baker.\nA back\\slash is read aloud.\nThe train left at six.\n')
    build_corpus(tmp_path / "c", voices=["fest_kal", "fest_slt"], utts_per_speaker=1, eval_utts=1, text_file=text)
    assert validate_data_dir(tmp_path / "c" / "nonparallel") == []
    assert validate_data_dir(tmp_path / "c" / "parallel") == []
    assert all(sf.info(p).samplerate == 16000 for p in (tmp_path / "c" / "wav").rglob("*.wav"))
