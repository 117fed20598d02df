"""The real-voices corpus (vc corpus realvoices, egs/realvoices/vc1/local/data.sh) on a tiny fake copy
of the Debian packages' layout: G.722 prompts encoded by the same ffmpeg from a real recording,
Ogg Vorbis dialogue at 22.05 kHz and a dialogs_cs.lua script."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recipe_copies import copy_recipe, run_recipe
from vc.cli import main
from vc.data.datadir import validate_data_dir
from vc.data.realvoices import build_realvoices
from vc.data.realvoices.build import find_ffmpeg
from vc.data.realvoices.fillets import parse_dialogs

SR = 16000
ASTERISK = "usr/share/asterisk/sounds"
FILLETS = "usr/share/games/fillets-ng"
LUA = r'''-- generated
dialogId("bar-v-videt0", "font_big", "I can see it.")
dialogStr("Vidím to.")

dialogId("bar-v-rekl", "font_big", "He said \"no\".")
dialogStr(
"Řekl \"ne\" a  šel\npryč.")

dialogId("bar-m-tady", "font_small", "Here.")
dialogStr("Tady je žluťoučký kůň.")

dialogId("bar-m-kde", "font_small", "Where?")
dialogStr("Kde?")
'''
# Seconds of each fake recording: (speech, silence after it). The prompts come from a real recording.
PROMPTS = {
    "en_US_f_Allison/hello": (2.5, 0.0),
    "en_US_f_Allison/goodbye": (3.0, 0.0),
    "en_US_f_Allison/conf+pin": (2.0, 0.5),   # sanitised to conf_pin ...
    "en_US_f_Allison/conf_pin": (1.5, 0.0),   # ... which it then collides with
    "en_US_f_Allison/digits/1": (0.5, 1.0),   # too little speech
    "en_US_f_Allison/silence/1": (0.0, 1.0),  # nothing but silence
    "es_MX_f_Allison/hello": (2.5, 0.0),
    "it_IT_m_Carlo/a": (2.2, 0.0),
    "it_IT_m_Carlo/b": (2.4, 0.0),
    "it_IT_m_Carlo/c": (2.6, 0.0),
}
DIALOGUE = {"bar-v-videt0": 2.5, "bar-v-rekl": 3.0, "bar-v-extra": 2.0, "bar-m-tady": 2.5, "bar-m-kde": 2.2,
            "bar-m-nic": 2.0, "bar-x-kufr": 2.0}


def encode_g722(path: Path, wav: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(SR), "-ac", "1",
                    "-i", "-", "-c:a", "g722", "-f", "g722", str(path)], input=pcm, check=True)


def make_tree(root: Path, speech: np.ndarray, prompts: dict[str, tuple[float, float]] = PROMPTS,
              dialogue: dict[str, float] = DIALOGUE) -> None:
    """The packages' layout, unpacked under ``root``, as dpkg-deb -x leaves it."""
    for n, (name, (talk, pause)) in enumerate(prompts.items()):
        start = n * 1600 % (speech.size - 3 * SR)
        wav = np.concatenate([speech[start : start + int(talk * SR)], np.zeros(int(pause * SR), np.float32)])
        encode_g722(root / ASTERISK / f"{name}.g722", wav)
    (root / ASTERISK / "en_US_f_Allison/vm-empty.g722").write_bytes(b"")  # as Asterisk's Russian "is"
    for n, (name, seconds) in enumerate(dialogue.items()):
        t = np.arange(int(seconds * 22050)) / 22050
        wav = 0.3 * np.sin(2 * np.pi * (150 + 20 * n) * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
        path = root / FILLETS / "sound/bar/cs" / f"{name}.ogg"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, wav.astype(np.float32), 22050, format="OGG", subtype="VORBIS")
    (root / FILLETS / "script/bar").mkdir(parents=True)
    (root / FILLETS / "script/bar/dialogs_cs.lua").write_text(LUA, encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> tuple[Path, str]:
    """A fake tree, decoded once; returns (DB_ROOT, the build's summary)."""
    root = tmp_path_factory.mktemp("realvoices") / "db"
    make_tree(root, speech)
    summary = build_realvoices(root, ["allison", "carlo", "cs_big", "cs_small"], nj=2)
    return root, str(summary)


def rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def test_parse_dialogs_unescapes_and_joins_lines() -> None:
    texts = parse_dialogs(LUA)
    assert texts == {"bar-v-videt0": "Vidím to.", "bar-v-rekl": 'Řekl "ne" a šel pryč.',
                     "bar-m-tady": "Tady je žluťoučký kůň.", "bar-m-kde": "Kde?"}


def test_decodes_to_16k_mono_of_the_right_length(corpus: tuple[Path, str]) -> None:
    root, _ = corpus
    manifest = {r[0]: r for r in rows(root / "recordings.tsv")}
    for utt, seconds in [("allison_en_hello", 2.5), ("allison_es_hello", 2.5), ("carlo_it_b", 2.4),
                         ("cs_big_bar-v-rekl", 3.0)]:
        _, spk, _, path, listed = manifest[utt]
        info = sf.info(str(root / path))
        assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16"), utt
        assert abs(info.duration - seconds) < 0.02 and abs(float(listed) - info.duration) < 1e-3, utt
        assert path == f"wav/{spk}/{utt}.wav"
    assert manifest["allison_en_hello"][2] == "en_US" and manifest["cs_big_bar-v-rekl"][2] == "cs"


def test_drops_silence_and_short_prompts_and_says_so(corpus: tuple[Path, str]) -> None:
    root, summary = corpus
    dropped = {r[0]: r[2] for r in rows(root / "dropped.tsv")}
    assert dropped == {"allison_en_digits_1": "short", "allison_en_silence_1": "silent", "allison_en_vm-empty": "empty"}
    assert "allison: 5 kept, 0.00 h; 3 dropped (1 empty, 1 silent, 1 with under 1 s of speech)" in summary
    assert not (root / "wav/allison/allison_en_digits_1.wav").exists()


def test_ids_sanitised_unique_and_speakers_separated(corpus: tuple[Path, str]) -> None:
    root, _ = corpus
    utts = {r[0]: r[1] for r in rows(root / "recordings.tsv")}
    assert {u for u, s in utts.items() if s == "allison"} == {
        "allison_en_conf_pin", "allison_en_conf_pin-2", "allison_en_goodbye", "allison_en_hello", "allison_es_hello"}
    # Only the fish's own letter counts: bar-x-kufr is nobody's, bar-m-* the small fish's.
    assert {u for u, s in utts.items() if s == "cs_small"} == {
        "cs_small_bar-m-kde", "cs_small_bar-m-nic", "cs_small_bar-m-tady"}
    assert all(set(u) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for u in utts)
    assert (root / "spk2gender").read_text() == "allison f\ncarlo m\ncs_big m\ncs_small f\n"


def test_text_has_the_fillets_lines_only(corpus: tuple[Path, str]) -> None:
    root, _ = corpus
    assert (root / "text").read_text(encoding="utf-8") == (
        "cs_big_bar-v-rekl Řekl \"ne\" a šel pryč.\n"
        "cs_big_bar-v-videt0 Vidím to.\n"
        "cs_small_bar-m-kde Kde?\n"
        "cs_small_bar-m-tady Tady je žluťoučký kůň.\n"
    )


def test_rerun_decodes_nothing(corpus: tuple[Path, str]) -> None:
    root, _ = corpus
    before = {p: p.stat().st_mtime_ns for p in (root / "wav").rglob("*.wav")}
    tables = {name: (root / name).read_text() for name in ("recordings.tsv", "dropped.tsv", "text", "spk2gender")}
    summary = build_realvoices(root, ["allison", "carlo", "cs_big", "cs_small"])
    assert summary.decoded == 0 and summary.reused == len(before) + 3
    assert {p: p.stat().st_mtime_ns for p in (root / "wav").rglob("*.wav")} == before
    assert {name: (root / name).read_text() for name in tables} == tables


def test_data_sh_splits_per_speaker_without_overlap(corpus: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = corpus
    recipe = copy_recipe(tmp_path, "realvoices/vc1")
    done = run_recipe(recipe, "--stage", "1", "--db_root", str(root), "--spks", "allison,cs_big,cs_small",
                      "--heldout_spks", "carlo", "--n_eval", "1", "--n_dev", "1", "--max_train", "1",
                      script="local/data.sh", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "data/train: 3 recordings of 3 speakers" in done.stdout
    sets = {}
    for name in ("train", "dev", "eval", "heldout"):
        assert validate_data_dir(recipe / "data" / name) == [], name
        sets[name] = dict(line.split() for line in (recipe / "data" / name / "utt2spk").read_text().splitlines())
    utts = [u for s in sets.values() for u in s]
    assert len(utts) == len(set(utts))  # utterance-disjoint
    assert sorted(sets["eval"].values()) == ["allison", "carlo", "cs_big", "cs_small"]
    assert [u for u, s in sets["eval"].items() if s == "allison"][0].startswith("allison_en_")
    assert set(sets["heldout"].values()) == {"carlo"} and len(sets["heldout"]) == 2
    assert "carlo" not in set(sets["train"].values()) | set(sets["dev"].values())
    eval_text = (recipe / "data/eval/text").read_text(encoding="utf-8").split("\n")
    assert {line.split()[0] for line in eval_text if line} == {u for u, s in sets["eval"].items() if s.startswith("cs_")}
    assert (recipe / "data/heldout/spk2gender").read_text() == "carlo m\n"


def test_data_sh_stage0_skips_a_decoded_corpus_and_stage1_needs_one(corpus: tuple[Path, str], tmp_path: Path) -> None:
    root, _ = corpus
    recipe = copy_recipe(tmp_path, "realvoices/vc1")
    done = run_recipe(recipe, "--stage", "0", "--stop_stage", "0", "--db_root", str(root), "--spks", "allison,cs_big",
                      "--heldout_spks", "carlo", script="local/data.sh", timeout=60)
    assert done.returncode == 0 and "nothing to do" in done.stdout, done.stderr
    (tmp_path / "empty").mkdir()
    done = run_recipe(recipe, "--stage", "1", "--db_root", str(tmp_path / "empty"), script="local/data.sh", timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "recordings.tsv not found" in done.stderr


def test_missing_folders_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "usr/share").mkdir(parents=True)
    assert main(["corpus", "realvoices", "--db-root", str(tmp_path), "--speakers", "june"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fr_CA_f_June" in err and "asterisk-core-sounds-fr-g722" in err


def test_fetch_without_apt_get_names_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert main(["corpus", "realvoices", "--db-root", str(tmp_path / "db"), "--fetch", "--speakers", "carlo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'apt-get' not found" in err and "asterisk-core-sounds-it-g722" in err


def test_failed_download_names_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program, script in [("apt-get", "echo 'E: Unable to locate package' >&2; exit 100"), ("dpkg-deb", "exit 0")]:
        (bin_dir / program).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / program).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/bin:/usr/bin")
    assert main(["corpus", "realvoices", "--db-root", str(tmp_path / "db"), "--fetch", "--speakers", "cs_big"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot download package fillets-ng-data-cs" in err and "Unable to locate" in err
