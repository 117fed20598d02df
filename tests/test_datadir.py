"""Kaldi data dirs: reading, writing, subset/split, validation, audio loading and `vc data`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vc import cli
from vc.data.datadir import DataDir, Problem, Segment, load_utterance, validate_data_dir
from vc.errors import DataError, VCError

SR = 16000


def make_dir(root: Path, **files: str) -> Path:
    """Write a data dir; the keyword wav_scp= stands for wav.scp."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / ("wav.scp" if name == "wav_scp" else name)).write_text(content)
    return root


def make_wav(path: Path, seconds: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wav = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(path, wav, sr, subtype="FLOAT")
    return wav


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Two speakers, three utterances, with text, all files present and sorted."""
    for name in ("a1", "a2", "b1"):
        make_wav(tmp_path / f"{name}.wav")
    return make_dir(
        tmp_path / "data" / "train",
        wav_scp="".join(f"spkA_{n} {tmp_path}/a{n}.wav\n" for n in (1, 2)) + f"spkB_1 {tmp_path}/b1.wav\n",
        utt2spk="spkA_1 spkA\nspkA_2 spkA\nspkB_1 spkB\n",
        spk2utt="spkA spkA_1 spkA_2\nspkB spkB_1\n",
        text="spkA_1 hello  there\nspkA_2 good\nspkB_1\n",
    )


# --- read / write ----------------------------------------------------------------------


def test_read_parses_every_file_and_derives_speakers(corpus: Path) -> None:
    data = DataDir.read(corpus)
    assert data.utts == ["spkA_1", "spkA_2", "spkB_1"]
    assert data.speakers == ["spkA", "spkB"]
    assert data.spk2utt == {"spkA": ["spkA_1", "spkA_2"], "spkB": ["spkB_1"]}
    # The text is the rest of the line, inner spacing kept; a bare key is an empty transcript.
    assert data.text == {"spkA_1": "hello  there", "spkA_2": "good", "spkB_1": ""}
    assert data.segments is None
    assert data.source_line("utt2spk", "spkB_1") == 3
    assert data.source_line("utt2spk", "nope") is None


def test_write_round_trip_with_segments(tmp_path: Path) -> None:
    data = DataDir(
        wav_scp={"rec1": "/x/rec 1.wav", "rec0": "sox in.wav -t wav - |"},
        utt2spk={"s_2": "s", "s_1": "s"},
        text={"s_2": "two words", "s_1": "one"},
        segments={"s_2": Segment("rec1", 1.25, -1), "s_1": Segment("rec0", 0.0, 3.5)},
    )
    data.write(tmp_path / "out")
    assert (tmp_path / "out" / "segments").read_text() == "s_1 rec0 0 3.5\ns_2 rec1 1.25 -1\n"
    assert (tmp_path / "out" / "wav.scp").read_text() == "rec0 sox in.wav -t wav - |\nrec1 /x/rec 1.wav\n"
    assert (tmp_path / "out" / "spk2utt").read_text() == "s s_1 s_2\n"
    back = DataDir.read(tmp_path / "out")
    assert back == data
    assert back.source_line("segments", "s_2") == 2


def test_write_sorts_in_c_locale_byte_order(tmp_path: Path) -> None:
    keys = ["b", "B", "_x", "Z1", "a"]
    DataDir({k: f"{k}.wav" for k in keys}, {k: k for k in keys}).write(tmp_path)
    # Uppercase sorts before '_', which sorts before lowercase, as with LC_ALL=C sort.
    assert [line.split()[0] for line in (tmp_path / "utt2spk").read_text().splitlines()] == ["B", "Z1", "_x", "a", "b"]


def test_write_removes_stale_optional_files(corpus: Path, tmp_path: Path) -> None:
    out = make_dir(tmp_path / "out", segments="old rec 0 1\n", text="old words\n")
    DataDir.read(corpus).subset(utts=["spkA_1"]).write(out)
    assert not (out / "segments").exists()
    assert (out / "text").read_text() == "spkA_1 hello  there\n"


def test_write_refuses_keys_that_would_corrupt_the_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"wav.scp: cannot write key 'a b': it must be one word"):
        DataDir({"a b": "x.wav"}, {"a b": "s"}).write(tmp_path)
    with pytest.raises(DataError, match=r"utt2spk: cannot write 'spk 1' for 'u': it must be one word"):
        DataDir({"u": "x.wav"}, {"u": "spk 1"}).write(tmp_path)
    assert not (tmp_path / "wav.scp").exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"utt2spk": "u s\n"}, "{d}/wav.scp: file not found (a data dir needs wav.scp and utt2spk)"),
        ({"wav_scp": "u x.wav\n"}, "{d}/utt2spk: file not found (a data dir needs wav.scp and utt2spk)"),
        (
            {"wav_scp": "u x.wav\n", "utt2spk": "u s\nv s extra\n"},
            "{d}/utt2spk:2: malformed line: expected '<utt> <speaker>', found 3 fields",
        ),
        (
            {"wav_scp": "u x.wav\nu\n", "utt2spk": "u s\n"},
            "{d}/wav.scp:2: malformed line: expected '<key> <path or command |>', found 1 field",
        ),
        ({"wav_scp": "u x.wav\nu y.wav\n", "utt2spk": "u s\n"}, "{d}/wav.scp:2: duplicate key 'u' (first on line 1)"),
        (
            {"wav_scp": "r x.wav\n", "utt2spk": "u s\n", "segments": "u r zero 1\n"},
            "{d}/segments:1: start time 'zero' is not a number",
        ),
        (
            {"wav_scp": "u x.wav\n\nv y.wav\n", "utt2spk": "u s\n"},
            "{d}/wav.scp:2: malformed line: expected '<key> <path or command |>', found 0 fields",
        ),
    ],
)
def test_read_raises_on_the_first_fatal_problem(tmp_path: Path, files: dict[str, str], message: str) -> None:
    d = make_dir(tmp_path / "d", **files)
    with pytest.raises(DataError) as info:
        DataDir.read(d)
    assert str(info.value) == message.format(d=d)


def test_read_accepts_unsorted_files_that_validation_reports(tmp_path: Path) -> None:
    d = make_dir(tmp_path, wav_scp="b y.wav\na x.wav\n", utt2spk="b s\na s\n")
    assert DataDir.read(d).utts == ["a", "b"]


def test_read_of_a_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope: not a directory$"):
        DataDir.read(tmp_path / "nope")


# --- subset / split --------------------------------------------------------------------


def test_subset_by_utts_speakers_and_both(corpus: Path) -> None:
    data = DataDir.read(corpus)
    part = data.subset(utts=["spkB_1", "spkA_2"])
    assert part.utts == ["spkA_2", "spkB_1"]
    assert sorted(part.wav_scp) == ["spkA_2", "spkB_1"]
    assert part.text == {"spkA_2": "good", "spkB_1": ""}
    assert data.subset(speakers=["spkA"]).utts == ["spkA_1", "spkA_2"]
    assert data.subset(utts=["spkA_1", "spkB_1"], speakers=["spkB"]).utts == ["spkB_1"]
    # Line numbers still point into the files the dir was read from.
    assert part.source_line("wav.scp", "spkB_1") == 3


def test_subset_names_unknown_utterances_and_speakers(corpus: Path) -> None:
    data = DataDir.read(corpus)
    with pytest.raises(DataError) as info:
        data.subset(utts=["spkA_1", "ghost"])
    assert str(info.value) == f"{corpus}: unknown utterance 'ghost'"
    with pytest.raises(DataError, match=r"unknown speaker 'spkC', 'spkD'$"):
        data.subset(speakers=["spkC", "spkA", "spkD"])


def test_subset_with_segments_keeps_only_needed_recordings(tmp_path: Path) -> None:
    data = DataDir(
        {"r1": "r1.wav", "r2": "r2.wav"},
        {"s_1": "s", "s_2": "s", "t_1": "t"},
        segments={"s_1": Segment("r1", 0, 1), "s_2": Segment("r1", 1, 2), "t_1": Segment("r2", 0, 1)},
    )
    part = data.subset(speakers=["s"])
    assert part.wav_scp == {"r1": "r1.wav"}
    assert sorted(part.segments) == ["s_1", "s_2"]


def test_split_by_utt_is_contiguous_and_balanced() -> None:
    utts = [f"u{i:02d}" for i in range(10)]
    data = DataDir({u: f"{u}.wav" for u in utts}, {u: f"spk{u[1]}" for u in utts})
    parts = data.split(4)
    assert [p.utts for p in parts] == [utts[0:2], utts[2:5], utts[5:7], utts[7:10]]
    assert [sorted(p.wav_scp) for p in parts] == [p.utts for p in parts]


def test_split_by_speaker_never_splits_a_speaker() -> None:
    # Speaker sizes 4, 1, 1, 4: two parts balance at 5 utterances each.
    sizes = {"a": 4, "b": 1, "c": 1, "d": 4}
    utt2spk = {f"{s}_{i}": s for s, n in sizes.items() for i in range(n)}
    data = DataDir({u: f"{u}.wav" for u in utt2spk}, utt2spk)
    parts = data.split(2, by="spk")
    assert [p.speakers for p in parts] == [["a", "b"], ["c", "d"]]
    assert [len(p.utts) for p in parts] == [5, 5]
    assert [p.speakers for p in data.split(4, by="spk")] == [["a"], ["b"], ["c"], ["d"]]


def test_split_refuses_more_parts_than_units(corpus: Path) -> None:
    data = DataDir.read(corpus)
    with pytest.raises(DataError) as info:
        data.split(3, by="spk")
    assert str(info.value) == f"{corpus}: cannot split 2 speakers into 3 parts"
    with pytest.raises(DataError, match="cannot split 3 utterances into 0 parts"):
        data.split(0)


# --- validation ------------------------------------------------------------------------


def test_validate_accepts_a_clean_dir(corpus: Path) -> None:
    assert validate_data_dir(corpus) == []


def test_validate_collects_every_problem_with_file_and_line(tmp_path: Path) -> None:
    make_wav(tmp_path / "ok.wav")
    d = make_dir(
        tmp_path / "d",
        wav_scp=f"a_1 {tmp_path}/ok.wav\na_2 {tmp_path}/gone.wav\na_2 {tmp_path}/ok.wav\nb_9 cat x |\nz_1\n",
        utt2spk="a_1 a\na_2 a\nb_1 b\nb_0 b\nc_1 c d\n",
        spk2utt="a a_1\nb b_1 b_0 a_2\nx x_1\n",
        text="a_1 hi\nq_1 who\n",
    )
    w, u, s, t = (f"{d}/{name}" for name in ("wav.scp", "utt2spk", "spk2utt", "text"))
    assert [str(p) for p in validate_data_dir(d)] == [
        f"{w}:2: audio file not found: {tmp_path}/gone.wav",
        f"{w}:3: duplicate key 'a_2' (first on line 2)",
        f"{w}:4: utterance 'b_9' is not in utt2spk",
        f"{w}:5: malformed line: expected '<key> <path or command |>', found 1 field",
        f"{u}:3: utterance 'b_1' has no entry in wav.scp",
        f"{u}:4: not sorted: 'b_0' comes after 'b_1' (sort with LC_ALL=C sort)",
        f"{u}:4: utterance 'b_0' has no entry in wav.scp",
        f"{u}:5: malformed line: expected '<utt> <speaker>', found 3 fields",
        f"{s}:1: speaker 'a' does not list 'a_2' from utt2spk",
        f"{s}:2: utterance 'a_2' is listed under speaker 'b' but utt2spk gives 'a'",
        f"{s}:3: speaker 'x' is not in utt2spk",
        f"{t}:2: utterance 'q_1' is not in utt2spk",
    ]


def test_validate_reports_missing_and_empty_files(tmp_path: Path) -> None:
    d = make_dir(tmp_path / "d", utt2spk="", text="\n")
    assert [str(p) for p in validate_data_dir(d)] == [
        f"{d}/wav.scp: file not found (a data dir needs wav.scp and utt2spk)",
        f"{d}/utt2spk: file is empty",
        f"{d}/text: file is empty",
    ]
    assert [str(p) for p in validate_data_dir(tmp_path / "none")] == [f"{tmp_path}/none: not a directory"]


def test_validate_reports_only_the_first_unsorted_line(tmp_path: Path) -> None:
    d = make_dir(tmp_path, wav_scp="c x |\nb x |\na x |\n", utt2spk="a s\nb s\nc s\n")
    assert validate_data_dir(d) == [
        Problem(f"{d}/wav.scp", 2, "not sorted: 'b' comes after 'c' (sort with LC_ALL=C sort)")
    ]


def test_validate_segments(tmp_path: Path) -> None:
    d = make_dir(
        tmp_path,
        wav_scp="r1 x |\n",
        utt2spk="s_1 s\ns_2 s\ns_3 s\ns_4 s\ns_5 s\ns_6 s\ns_7 s\n",
        segments="s_1 r1 0 -1\ns_2 r1 2.5 2.5\ns_3 r1 a b\ns_4 r9 0 1\ns_5 r1 -1 2\ns_6 r1 0 -2\ns_8 r1 0 1\n",
    )
    seg, utt = f"{d}/segments", f"{d}/utt2spk"
    assert [str(p) for p in validate_data_dir(d)] == [
        f"{utt}:7: utterance 's_7' has no entry in segments",
        f"{seg}:2: start time 2.5 is not before end time 2.5",
        f"{seg}:3: start time 'a' is not a number",
        f"{seg}:3: end time 'b' is not a number",
        f"{seg}:4: recording 'r9' is not in wav.scp",
        f"{seg}:5: start time -1 is negative",
        f"{seg}:6: end time -2 is negative (only -1, meaning to the end, is allowed)",
        f"{seg}:7: utterance 's_8' is not in utt2spk",
    ]


def test_validate_spk2utt_missing_speaker_and_grouping(tmp_path: Path) -> None:
    d = make_dir(tmp_path, wav_scp="u1 x |\nu2 x |\nu3 x |\n", utt2spk="u1 a\nu2 b\nu3 a\n", spk2utt="a u1 u3\n")
    assert [str(p) for p in validate_data_dir(d)] == [
        f"{d}/utt2spk:3: utterances are not grouped by speaker: 'u3' of speaker 'a' sorts after "
        "utterances of speaker 'b' (make speaker ids prefixes of utterance ids)",
        f"{d}/spk2utt: speaker 'b' is missing (utt2spk:2 gives it)",
    ]


def test_validate_resolves_relative_paths_against_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wav(tmp_path / "here.wav")
    make_dir(tmp_path / "data", wav_scp="u here.wav\nv gone.wav\n", utt2spk="u s\nv s\n")
    monkeypatch.chdir(tmp_path)
    assert [str(p) for p in validate_data_dir("data")] == ["data/wav.scp:2: audio file not found: gone.wav"]
    assert validate_data_dir("data", check_files=False) == []


# --- load_utterance --------------------------------------------------------------------


def test_load_utterance_from_a_path_resamples(corpus: Path) -> None:
    wav = load_utterance(DataDir.read(corpus), "spkA_1", 8000)
    assert wav.dtype == np.float32 and wav.shape == (4000,)


def test_load_utterance_cuts_segments(tmp_path: Path) -> None:
    full = make_wav(tmp_path / "rec.wav", seconds=1.0)
    d = make_dir(
        tmp_path / "d",
        wav_scp=f"rec {tmp_path}/rec.wav\n",
        utt2spk="s_1 s\ns_2 s\ns_3 s\ns_4 s\n",
        segments="s_1 rec 0.25 0.5\ns_2 rec 0.75 -1\ns_3 rec 0.5 1.3\ns_4 rec 0.9 1.6\n",
    )
    data = DataDir.read(d)
    np.testing.assert_allclose(load_utterance(data, "s_1", SR), full[4000:8000], atol=1e-6)
    np.testing.assert_allclose(load_utterance(data, "s_2", SR), full[12000:], atol=1e-6)
    # Up to 0.5 s past the end is truncated, as Kaldi's extract-segments does.
    assert load_utterance(data, "s_3", SR).shape == (8000,)
    with pytest.raises(DataError) as info:
        load_utterance(data, "s_4", SR)
    assert str(info.value) == (
        f"{d}/segments:4 (utt s_4): segment [0.9, 1.6] s is out of range for recording 'rec' (1.000 s long)"
    )
    with pytest.raises(VCError, match=r"segments:1 \(utt s_1\): too short \(4000 samples; at least 5000"):
        load_utterance(data, "s_1", SR, min_samples=5000)


def test_load_utterance_refuses_pipes_unless_allowed(tmp_path: Path) -> None:
    expected = make_wav(tmp_path / "a.wav")
    d = make_dir(tmp_path / "d", wav_scp=f"s_1 cat {tmp_path}/a.wav |\n", utt2spk="s_1 s\n")
    data = DataDir.read(d)
    with pytest.raises(DataError) as info:
        load_utterance(data, "s_1", SR)
    assert str(info.value) == (
        f"{d}/wav.scp:1 (utt s_1): is a command pipe ('cat {tmp_path}/a.wav |'); "
        "running commands from wav.scp needs --allow-pipes"
    )
    np.testing.assert_allclose(load_utterance(data, "s_1", SR, allow_pipes=True), expected, atol=1e-6)


def test_load_utterance_reports_a_failing_pipe(tmp_path: Path) -> None:
    d = make_dir(tmp_path, wav_scp="s_1 echo oops >&2; echo more >&2; exit 3 |\n", utt2spk="s_1 s\n")
    with pytest.raises(DataError) as info:
        load_utterance(DataDir.read(d), "s_1", SR, allow_pipes=True)
    assert str(info.value) == f"{d}/wav.scp:1 (utt s_1): command failed with exit code 3: oops"


def test_load_utterance_labels_missing_files_and_unknown_utts(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "a2.wav").unlink()
    data = DataDir.read(corpus)
    with pytest.raises(DataError) as info:
        load_utterance(data, "spkA_2", SR, name_prefix="source set: ")
    assert str(info.value) == f"source set: {corpus}/wav.scp:2 (utt spkA_2): audio file not found: {tmp_path}/a2.wav"
    with pytest.raises(DataError, match=r"train: unknown utterance 'nope'$"):
        load_utterance(data, "nope", SR)


def test_load_utterance_passes_audio_errors_through_with_the_label(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"")
    d = make_dir(tmp_path / "d", wav_scp=f"u {tmp_path}/bad.wav\n", utt2spk="u s\n")
    with pytest.raises(VCError) as info:
        load_utterance(DataDir.read(d), "u", SR)
    assert str(info.value) == f"{d}/wav.scp:1 (utt u): empty file (0 bytes)"


# --- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def vc_main(monkeypatch: pytest.MonkeyPatch):
    # Only the `data` verb: the test must not depend on the other verbs' modules.
    monkeypatch.setattr(cli, "VERB_MODULES", ["data"])
    return cli.main


def test_cli_validate_ok_and_problems(corpus: Path, tmp_path: Path, vc_main, capsys: pytest.CaptureFixture) -> None:
    assert vc_main(["data", "validate", str(corpus)]) == 0
    assert capsys.readouterr().out == f"{corpus}: ok (3 utterances, 2 speakers)\n"

    (tmp_path / "b1.wav").unlink()
    (corpus / "text").write_text("spkA_1 hi\nspkZ_1 boo\n")
    assert vc_main(["data", "validate", str(corpus)]) == 1
    assert capsys.readouterr().out == (
        f"{corpus}/wav.scp:3: audio file not found: {tmp_path}/b1.wav\n"
        f"{corpus}/text:2: utterance 'spkZ_1' is not in utt2spk\n"
        f"{corpus}: 2 problem(s)\n"
    )
    assert vc_main(["data", "validate", str(corpus), "--no-check-files"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"{corpus}: 1 problem(s)"


def test_cli_subset_by_list_and_speakers(corpus: Path, tmp_path: Path, vc_main, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "keep").write_text("spkB_1 spkB\nspkA_1\n\n")
    assert vc_main(["data", "subset", str(corpus), str(tmp_path / "sub"), "--utts", str(tmp_path / "keep")]) == 0
    assert (tmp_path / "sub" / "utt2spk").read_text() == "spkA_1 spkA\nspkB_1 spkB\n"
    assert vc_main(["data", "subset", str(corpus), str(tmp_path / "b"), "--speakers", "spkB"]) == 0
    assert DataDir.read(tmp_path / "b").utts == ["spkB_1"]
    assert capsys.readouterr().out.splitlines()[-1] == f"{tmp_path}/b: 1 utterances, 1 speakers"

    assert vc_main(["data", "subset", str(corpus), str(tmp_path / "c"), "--speakers", "spkA,spkZ"]) == 1
    assert capsys.readouterr().err == f"vc data: error: {corpus}: unknown speaker 'spkZ'\n"
    assert not (tmp_path / "c").exists()


def test_cli_split_writes_kaldi_job_dirs(corpus: Path, tmp_path: Path, vc_main, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "split2"
    assert vc_main(["data", "split", str(corpus), "--parts", "2", "--by", "spk", "--out", str(out)]) == 0
    assert (out / "1" / "spk2utt").read_text() == "spkA spkA_1 spkA_2\n"
    assert (out / "2" / "text").read_text() == "spkB_1\n"
    assert capsys.readouterr().out == f"{out}: 2 parts (2, 1 utterances)\n"
    assert vc_main(["data", "split", str(corpus), "--parts", "5", "--out", str(out)]) == 1
    assert "cannot split 3 utterances into 5 parts" in capsys.readouterr().err
