"""The real-corpus recipes egs/{vcc2018,vctk,cmu_arctic}/vc1: local/data.sh on a fake copy of each
corpus' layout (a few tiny wavs at the corpus' sample rate, with its file names and transcript
formats), and the download stage, which must fail fast with one clear line when offline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc.data.datadir import validate_data_dir

REPO = Path(__file__).resolve().parents[1]
OFFLINE = "http://127.0.0.1:9"  # the discard port: nothing listens, so the connection is refused at once


def make_recipe(tmp_path: Path, corpus: str) -> Path:
    """egs/<corpus>/vc1 copied under tmp_path, its utils (and vc.sh) pointing at the real recipes/."""
    recipes = tmp_path / "recipes"
    recipes.mkdir(exist_ok=True)
    for name in ("utils", "vc.sh", "path.sh"):
        if not (recipes / name).exists():
            (recipes / name).symlink_to(REPO / "recipes" / name)
    dest = tmp_path / "egs" / corpus / "vc1"
    shutil.copytree(REPO / "egs" / corpus / "vc1", dest, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    return dest


def run(recipe: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    return subprocess.run(list(args), check=False, cwd=recipe, env={**os.environ, "PATH": path, **env},
                          capture_output=True, text=True, timeout=120)


def write_wav(path: Path, rate: int, seconds: float = 0.3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def table(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        out[key] = value
    return out


def normalized(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def check_dirs(recipe: Path, sets: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """Every data dir validates and its ids start with '<speaker>_'; returns set -> file -> table."""
    dirs = {}
    for name in sets:
        path = recipe / "data" / name
        assert validate_data_dir(path) == [], name
        files = {f: table(path / f) for f in ("wav.scp", "utt2spk", "text", "spk2utt")}
        for utt, spk in files["utt2spk"].items():
            assert utt.startswith(spk + "_"), (name, utt)
        assert set(files["text"]) == set(files["utt2spk"]), name  # every kept utterance has its transcript
        dirs[name] = files
    return dirs


def speakers(files: dict[str, dict[str, str]]) -> dict[str, int]:
    return {spk: len(utts.split()) for spk, utts in files["spk2utt"].items()}


def texts_by_speaker(*dirs: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for files in dirs:
        for utt, spk in files["utt2spk"].items():
            out.setdefault(spk, set()).add(normalized(files["text"][utt]))
    return out


def assert_parallel(files: dict[str, dict[str, str]]) -> None:
    """Every eval utterance <a><suffix> has each other speaker's <b><suffix>, with the same text."""
    spk2utt = {spk: utts.split() for spk, utts in files["spk2utt"].items()}
    first = next(iter(spk2utt))
    for src, utts in spk2utt.items():
        for utt in utts:
            suffix = utt[len(src):]
            for tgt in spk2utt:
                counterpart = tgt + suffix
                assert counterpart in files["utt2spk"], (utt, counterpart)
                assert normalized(files["text"][counterpart]) == normalized(files["text"][utt])
        assert len(utts) == len(spk2utt[first])


# --- VCC2018 ---------------------------------------------------------------------------

VCC_HUB = ["SF1", "SF2", "SM1", "SM2", "TF1", "TF2", "TM1", "TM2"]


@pytest.fixture
def vcc2018_db(tmp_path: Path) -> Path:
    """The unpacked archives: 12 hub training sentences, the spoke source SF3 with 6 of its own,
    evaluation sentences 30001-30004 (TM2's 30004 missing), transcripts with CRLF line ends."""
    db = tmp_path / "vcc2018_db"
    for spk in VCC_HUB:
        for n in range(10001, 10013):
            write_wav(db / "vcc2018_training" / f"VCC2{spk}" / f"{n}.wav", 22050)
        part = "vcc2018_evaluation" if spk.startswith("S") else "vcc2018_reference"
        for n in range(30001, 30005):
            if (spk, n) != ("TM2", 30004):
                write_wav(db / part / f"VCC2{spk}" / f"{n}.wav", 22050)
    for n in range(20001, 20007):
        write_wav(db / "vcc2018_training" / "VCC2SF3" / f"{n}.wav", 22050)
    for n in range(30001, 30005):
        write_wav(db / "vcc2018_evaluation" / "VCC2SF3" / f"{n}.wav", 22050)
    for n in range(10001, 10013):
        write_text(db / "vcc2018_training" / "Transcriptions" / "HUB" / f"{n}.txt", f"Hub sentence {n}.\r\n")
    for n in range(20001, 20007):
        write_text(db / "vcc2018_training" / "Transcriptions" / "SPOKE" / f"{n}.txt", f"Spoke sentence {n}.\n")
    for n in range(30001, 30005):
        write_text(db / "scripts" / f"{n}.txt", f"Evaluation sentence {n}.")
    return db


def test_vcc2018_data_prep(tmp_path: Path, vcc2018_db: Path) -> None:
    recipe = make_recipe(tmp_path, "vcc2018")
    done = run(recipe, "local/data.sh", "--stage", "1", "--db_root", str(vcc2018_db), "--n_dev", "2",
               "--heldout_spks", "SF3")
    assert done.returncode == 0, done.stdout + done.stderr
    dirs = check_dirs(recipe, ["train", "dev", "eval", "heldout"])
    # Sources keep the 6 odd-numbered hub sentences, targets the 6 even-numbered: 4 train + 2 dev each.
    assert speakers(dirs["train"]) == {spk: 4 for spk in VCC_HUB}
    assert speakers(dirs["dev"]) == {spk: 2 for spk in VCC_HUB}
    for files in (dirs["train"], dirs["dev"]):
        for utt, spk in files["utt2spk"].items():
            assert int(utt.split("_")[1]) % 2 == (1 if spk.startswith("S") else 0), utt
    texts = texts_by_speaker(dirs["train"], dirs["dev"])
    for src in ("SF1", "SF2", "SM1", "SM2"):
        for tgt in ("TF1", "TF2", "TM1", "TM2"):
            assert not texts[src] & texts[tgt], (src, tgt)  # non-parallel across every conversion pair
    assert dirs["train"]["text"]["SF1_10001"] == "Hub sentence 10001."  # CR stripped
    # Eval: 30001-30003 (30004 lacks TM2's reference) of every speaker, held-out SF3 included.
    assert speakers(dirs["eval"]) == {spk: 3 for spk in VCC_HUB + ["SF3"]}
    assert set(dirs["eval"]["utt2spk"]) >= {"SF1_30001", "TF1_30001", "SF3_30003"}
    assert dirs["eval"]["wav.scp"]["TF1_30001"].endswith("vcc2018_reference/VCC2TF1/30001.wav")
    assert dirs["eval"]["wav.scp"]["SF1_30001"].endswith("vcc2018_evaluation/VCC2SF1/30001.wav")
    assert_parallel(dirs["eval"])
    assert speakers(dirs["heldout"]) == {"SF3": 6}
    assert "eval: 3 sentences" in done.stdout


def test_vcc2018_rejects_an_unknown_speaker(tmp_path: Path, vcc2018_db: Path) -> None:
    recipe = make_recipe(tmp_path, "vcc2018")
    done = run(recipe, "local/data.sh", "--stage", "1", "--db_root", str(vcc2018_db), "--tgts", "TF1,TX9")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        (f"local/data.sh: {vcc2018_db}/vcc2018_training/VCC2TX9 not found: "
         "not a VCC2018 speaker (SF1-SF4, SM1-SM4, TF1, TF2, TM1, TM2)")]


# --- VCTK ------------------------------------------------------------------------------

VCTK_SHARED = ["Please call Stella.", "Ask her to bring these things with her from the store.",
               "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob."]
RAINBOW = "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow."


@pytest.fixture
def vctk_db(tmp_path: Path) -> Path:
    """VCTK-Corpus/{wav48,txt}: every speaker reads 001-003 alike; 004 is the rainbow sentence
    except for p227, who reads it as 005 (so 004 is not parallel, and its text is shared);
    p228 repeats "Please call Stella" as 009; then 6 sentences of each speaker's own; p226's
    012 has no transcript; p315 has recordings and no transcripts at all."""
    root = tmp_path / "vctk_db" / "VCTK-Corpus"
    for spk in ("p225", "p226", "p227", "p228", "p229", "p315"):
        lines = {f"{i:03d}": text for i, text in enumerate(VCTK_SHARED, 1)}
        if spk == "p227":
            lines |= {"004": "We also need a small plastic snake.", "005": RAINBOW}
        else:
            lines["004"] = RAINBOW
        if spk == "p228":
            lines["009"] = "Please call Stella!"
        lines |= {f"{i:03d}": f"{spk} reads newspaper sentence {i}." for i in range(10, 16)}
        for num, text in lines.items():
            write_wav(root / "wav48" / spk / f"{spk}_{num}.wav", 48000)
            if spk != "p315" and (spk, num) != ("p226", "012"):
                write_text(root / "txt" / spk / f"{spk}_{num}.txt", text + "\n")
    return root.parent


def test_vctk_data_prep(tmp_path: Path, vctk_db: Path) -> None:
    recipe = make_recipe(tmp_path, "vctk")
    done = run(recipe, "local/data.sh", "--stage", "1", "--db_root", str(vctk_db), "--n_dev", "2",
               "--spks", "p225,p226,p227,p228", "--heldout_spks", "p229")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "p226: 1 of 10 utterances have no transcript" in done.stderr
    dirs = check_dirs(recipe, ["train", "dev", "eval", "heldout"])
    # Eval: 001-003, the same number and text for all five speakers.
    assert speakers(dirs["eval"]) == {spk: 3 for spk in ("p225", "p226", "p227", "p228", "p229")}
    assert sorted(u for u in dirs["eval"]["utt2spk"] if u.startswith("p225")) == ["p225_001", "p225_002", "p225_003"]
    assert_parallel(dirs["eval"])
    # Train/dev: no text is said by two speakers, none is an eval sentence, the rainbow sentence stays with one.
    texts = texts_by_speaker(dirs["train"], dirs["dev"])
    spks = sorted(texts)
    assert spks == ["p225", "p226", "p227", "p228"]
    for i, a in enumerate(spks):
        for b in spks[i + 1:]:
            assert not texts[a] & texts[b], (a, b)
    eval_texts = {normalized(t) for t in dirs["eval"]["text"].values()}
    for files in (dirs["train"], dirs["dev"], dirs["heldout"]):
        assert not {normalized(t) for t in files["text"].values()} & eval_texts
    assert sum(normalized(RAINBOW) in t for t in texts.values()) == 1
    assert "p228_009" not in dirs["train"]["utt2spk"] and "p228_009" not in dirs["dev"]["utt2spk"]
    assert "p226_012" not in dirs["train"]["utt2spk"]
    assert speakers(dirs["dev"]) == {spk: 2 for spk in spks}
    # 6 own sentences each (p226: 5 with a transcript), p227 also its 004, and one of them the rainbow.
    n_train = speakers(dirs["train"])
    assert sum(n_train.values()) + 2 * 4 == 6 + 5 + 6 + 6 + 1 + 1
    assert n_train["p225"] >= 4 and n_train["p226"] >= 3
    assert speakers(dirs["heldout"]) == {"p229": 7}  # its 004 and 010-015


def test_vctk_refuses_a_speaker_without_transcripts(tmp_path: Path, vctk_db: Path) -> None:
    recipe = make_recipe(tmp_path, "vctk")
    done = run(recipe, "local/data.sh", "--stage", "1", "--db_root", str(vctk_db), "--spks", "p225 p315")
    assert done.returncode == 1
    assert "p315 has no transcripts" in done.stderr


# --- CMU ARCTIC ------------------------------------------------------------------------

ARCTIC_IDS = [f"arctic_a{i:04d}" for i in range(1, 13)] + [f"arctic_b{i:04d}" for i in range(1, 9)]


@pytest.fixture
def arctic_db(tmp_path: Path) -> Path:
    """cmu_us_<spk>_arctic/{wav,etc/txt.done.data} for bdl slt clb rms awb: 20 prompts each; clb
    lacks arctic_a0005, rms has no transcript line for arctic_a0003, bdl alone has arctic_b0009."""
    db = tmp_path / "arctic_db"
    for spk in ("bdl", "slt", "clb", "rms", "awb"):
        root = db / f"cmu_us_{spk}_arctic"
        ids = ARCTIC_IDS + (["arctic_b0009"] if spk == "bdl" else [])
        lines = []
        for utt in ids:
            if (spk, utt) == ("clb", "arctic_a0005"):
                continue
            write_wav(root / "wav" / f"{utt}.wav", 16000)
            if (spk, utt) != ("rms", "arctic_a0003"):
                lines.append(f'( {utt} "Prompt {utt[-5:]}, as {utt[7]} reads it." )')
        write_text(root / "etc" / "txt.done.data", "\n".join(lines) + "\n")
    return db


def test_cmu_arctic_data_prep(tmp_path: Path, arctic_db: Path) -> None:
    recipe = make_recipe(tmp_path, "cmu_arctic")
    done = run(recipe, "local/data.sh", "--stage", "1", "--db_root", str(arctic_db), "--n_eval", "3",
               "--n_dev", "1", "--heldout_spks", "awb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rms: 1 of 20 recordings have no line" in done.stderr
    dirs = check_dirs(recipe, ["train", "dev", "eval", "heldout"])
    # Eval: the last 3 prompts everyone read (bdl's extra b0009 is not one).
    everyone = {"bdl", "slt", "clb", "rms", "awb"}
    assert speakers(dirs["eval"]) == {spk: 3 for spk in everyone}
    assert sorted(u for u in dirs["eval"]["utt2spk"] if u.startswith("slt_")) == [
        "slt_arctic_b0006", "slt_arctic_b0007", "slt_arctic_b0008"]
    assert dirs["eval"]["text"]["bdl_arctic_b0006"] == "Prompt b0006, as b reads it."
    assert dirs["eval"]["wav.scp"]["bdl_arctic_b0006"].endswith("cmu_us_bdl_arctic/wav/arctic_b0006.wav")
    assert_parallel(dirs["eval"])
    # The other 18 prompts dealt out in turn among the 5 speakers; none said by two of them.
    shares = [dirs[s]["utt2spk"] for s in ("train", "dev", "heldout")]
    sentences = [utt.split("_", 1)[1] for part in shares for utt in part]
    assert len(sentences) == len(set(sentences))
    assert not set(sentences) & {"arctic_b0006", "arctic_b0007", "arctic_b0008"}
    assert "clb_arctic_a0005" not in dirs["train"]["utt2spk"] and "rms_arctic_a0003" not in dirs["train"]["utt2spk"]
    assert speakers(dirs["dev"]) == {spk: 1 for spk in ("bdl", "slt", "clb", "rms")}
    assert set(speakers(dirs["train"])) == {"bdl", "slt", "clb", "rms"}
    assert set(speakers(dirs["heldout"])) == {"awb"}
    texts = texts_by_speaker(dirs["train"], dirs["dev"])
    for a in texts:
        for b in texts:
            assert a == b or not texts[a] & texts[b]


# --- the download stage ----------------------------------------------------------------

DOWNLOADS = {  # corpus: (the URL variable, its offline value, the URL named, what must exist)
    "vcc2018": ("VCC2018_BASE_URL", OFFLINE, f"{OFFLINE}/vcc2018_database_training.zip", "vcc2018_training"),
    "vctk": ("VCTK_URL", f"{OFFLINE}/VCTK-Corpus.zip", f"{OFFLINE}/VCTK-Corpus.zip", "VCTK-Corpus/wav48"),
    "cmu_arctic": ("CMU_ARCTIC_BASE_URL", OFFLINE, f"{OFFLINE}/cmu_us_bdl_arctic.tar.bz2", "cmu_us_bdl_arctic/wav"),
}


@pytest.mark.parametrize("corpus", sorted(DOWNLOADS))
def test_download_stage_fails_fast_offline_with_one_line(tmp_path: Path, corpus: str) -> None:
    variable, value, url, needed = DOWNLOADS[corpus]
    recipe = make_recipe(tmp_path, corpus)
    db = tmp_path / "empty"
    done = run(recipe, "local/data.sh", "--stage", "0", "--stop_stage", "0", "--db_root", str(db), **{variable: value})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"utils/download_and_unpack.sh: cannot download {url}: no network")
    assert "unpack" in lines[0] and f"{db}/{needed}" in lines[0] and "--db_root" in lines[0]
    assert not list(db.glob("*.part"))


@pytest.mark.parametrize("corpus", sorted(DOWNLOADS))
def test_run_sh_stage_0_fails_offline_through_vc_sh(tmp_path: Path, corpus: str) -> None:
    variable, value, url, _ = DOWNLOADS[corpus]
    recipe = make_recipe(tmp_path, corpus)
    done = run(recipe, "./run.sh", "--stage", "0", "--stop_stage", "0", **{variable: value})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"utils/download_and_unpack.sh: cannot download {url}: no network")


def test_vctk_download_unpacks_marks_done_and_then_skips(tmp_path: Path, vctk_db: Path) -> None:
    archive = tmp_path / "mirror" / "VCTK-Corpus.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((vctk_db / "VCTK-Corpus").rglob("*")):
            zf.write(path, path.relative_to(vctk_db))
    recipe = make_recipe(tmp_path, "vctk")
    db = tmp_path / "downloaded"
    done = run(recipe, "local/download.sh", str(db), VCTK_URL=archive.as_uri())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VCTK-Corpus.zip: no checksum recorded, not verified" in done.stdout
    assert (db / "VCTK-Corpus" / "wav48" / "p225" / "p225_001.wav").is_file()
    assert (db / "VCTK-Corpus" / ".done").is_file() and not (db / "VCTK-Corpus.zip").exists()
    again = run(recipe, "local/download.sh", str(db), VCTK_URL=f"{OFFLINE}/VCTK-Corpus.zip")
    assert again.returncode == 0 and "already there" in again.stdout
    # data.sh's stage 0 sees the corpus and downloads nothing; stage 1 reads it.
    both = run(recipe, "local/data.sh", "--db_root", str(db), "--n_dev", "2", VCTK_URL=f"{OFFLINE}/x.zip")
    assert both.returncode == 0, both.stdout + both.stderr
    assert "nothing to download" in both.stdout


def test_cmu_arctic_download_checks_the_recorded_sha256(tmp_path: Path, arctic_db: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cmu_us_bdl_arctic.tar.bz2", "w:bz2") as tf:
        tf.add(arctic_db / "cmu_us_bdl_arctic", "cmu_us_bdl_arctic")
    recipe = make_recipe(tmp_path, "cmu_arctic")
    db = tmp_path / "downloaded"
    done = run(recipe, "local/download.sh", "--spks", "bdl", str(db), CMU_ARCTIC_BASE_URL=mirror.as_uri())
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        (f"utils/download_and_unpack.sh: {db}/cmu_us_bdl_arctic.tar.bz2: sha256 checksum mismatch (expected "
         "26b91aaf48b2799b2956792b4632c2f926cd0542f402b5452d5adecb60942904): delete it and run again")]
    assert not (db / "cmu_us_bdl_arctic").exists()


def test_vcc2018_stage_0_skips_a_corpus_that_is_there(tmp_path: Path, vcc2018_db: Path) -> None:
    recipe = make_recipe(tmp_path, "vcc2018")
    done = run(recipe, "local/data.sh", "--stage", "0", "--stop_stage", "0", "--db_root", str(vcc2018_db),
               VCC2018_BASE_URL=OFFLINE)
    assert done.returncode == 0, done.stderr
    assert "nothing to download" in done.stdout


# Each recipe's stages after the download, on its fake layout: tiny models, Griffin-Lim, all metrics.
END_TO_END = {
    "vcc2018": ("vcc2018_db", "--n_dev 2", "SF3", "SF1", "TF1"),
    "vctk": ("vctk_db", "--spks p225,p226,p227,p228 --n_dev 1", "p229", "p225", "p226"),
    "cmu_arctic": ("arctic_db", "--n_eval 3 --n_dev 1", "awb", "bdl", "slt"),
}


@pytest.mark.slow
@pytest.mark.parametrize("corpus", sorted(END_TO_END))
def test_recipe_stages_1_to_8_on_the_fake_layout(tmp_path: Path, corpus: str, request: pytest.FixtureRequest) -> None:
    from test_recipe_synth import TINY_CYCLEGAN, TINY_DISENTANGLE

    db_fixture, local_opts, heldout, src, tgt = END_TO_END[corpus]
    db = request.getfixturevalue(db_fixture)
    recipe = make_recipe(tmp_path, corpus)
    (recipe / "conf" / "cyclegan_tiny.yaml").write_text(TINY_CYCLEGAN)
    (recipe / "conf" / "disentangle_tiny.yaml").write_text(TINY_DISENTANGLE)
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(
        ["./run.sh", "--stage", "1", "--ngpu", "0", "--db_root", str(db), "--local_data_opts", local_opts,
         "--heldout_spks", heldout, "--systems", "cyclegan disentangle", "--cyclegan_conf", "conf/cyclegan_tiny.yaml",
         "--disentangle_conf", "conf/disentangle_tiny.yaml", "--gl_iters", "4", "--n_ref", "2"],
        cwd=recipe, env={**os.environ, "PATH": path}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (recipe / "exp" / f"cyclegan_{src}_{tgt}" / "log" / "vc_train.log").read_text().count("--device cpu") == 1
    results = (recipe / "exp" / "results.list").read_text().split()
    assert results[:4] == [f"exp/reference/source_{src}_{tgt}", f"exp/reference/target_{tgt}",
                           f"exp/reference/source_{src}_{tgt}_gl", f"exp/reference/target_{tgt}_gl"]
    assert f"exp/cyclegan_{src}_{tgt}/evaluate/eval_gl" in results
    assert f"exp/disentangle/evaluate/eval_oneshot_{heldout}_gl" in results
    n_eval = len(table(recipe / "data" / "eval" / "spk2utt")[src].split())
    for result in results:
        scores = (recipe / result / "scores.csv").read_text().splitlines()
        assert len(scores) == 1 + n_eval or result.endswith(f"_{heldout}_gl") or heldout in result, result
    table_text = (recipe / "exp" / "report" / "summary.txt").read_text()
    assert table_text.startswith(f"{src} -> {tgt}") and f"{src} -> {heldout}" in table_text
    assert done.stdout.rstrip().endswith(table_text.rstrip())
