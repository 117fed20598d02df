"""recipes/utils: slurm.pl, split_scp.pl, filter_scp.pl, the utt2spk/spk2utt converters and the data dir scripts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[1] / "recipes" / "utils"
SLURM_CONF = Path(__file__).resolve().parents[1] / "recipes" / "conf" / "slurm.conf"
DATE = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}"
VENV_PATH = f"{Path(sys.executable).parent}:{os.environ['PATH']}"


def run(cwd: Path, script: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(UTILS / script), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": VENV_PATH, **(env or {})},
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_scripts_are_executable() -> None:
    for name in [
        "run.pl",
        "slurm.pl",
        "split_scp.pl",
        "filter_scp.pl",
        "utt2spk_to_spk2utt.pl",
        "spk2utt_to_utt2spk.pl",
        "validate_data_dir.sh",
        "subset_data_dir.sh",
        "fix_data_dir.sh",
        "parse_options.sh",
    ]:
        assert os.access(UTILS / name, os.X_OK), name


# --- filter_scp.pl -----------------------------------------------------------------------


def test_filter_scp_keeps_or_drops_listed_ids(tmp_path: Path) -> None:
    write(tmp_path / "list", "b extra fields ignored\nc\n")
    write(tmp_path / "in.scp", "a 1\nb 2\nc 3\nd 4\n")
    assert run(tmp_path, "filter_scp.pl", "list", "in.scp").stdout == "b 2\nc 3\n"
    assert run(tmp_path, "filter_scp.pl", "--exclude", "list", "in.scp").stdout == "a 1\nd 4\n"
    # Field 2 from stdin: utt2spk filtered by speaker.
    result = run(tmp_path, "filter_scp.pl", "-f", "2", "list", stdin="u1 a\nu2 b\nu3 c\nu4 b\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "u2 b\nu3 c\nu4 b\n"


def test_filter_scp_errors(tmp_path: Path) -> None:
    write(tmp_path / "list", "a\n")
    write(tmp_path / "in.scp", "a 1\nb\n")
    missing = run(tmp_path, "filter_scp.pl", "nope", "in.scp")
    assert (missing.returncode, missing.stderr) == (
        1,
        "filter_scp.pl: cannot read id list nope: No such file or directory\n",
    )
    short = run(tmp_path, "filter_scp.pl", "-f", "2", "list", "in.scp")
    assert (short.returncode, short.stderr) == (
        1,
        "filter_scp.pl: in.scp:2: line has 1 field(s), -f 2 needs at least 2\n",
    )
    assert run(tmp_path, "filter_scp.pl", "-f", "0", "list").stderr == (
        "filter_scp.pl: -f expects a positive field number, got '0'\n"
    )
    usage = run(tmp_path, "filter_scp.pl")
    assert usage.returncode == 1
    assert usage.stderr.startswith(
        "filter_scp.pl: expected an id list and at most one input file\nUsage: filter_scp.pl "
    )
    assert run(tmp_path, "filter_scp.pl", "--bogus", "list").stderr.startswith(
        "filter_scp.pl: unknown option '--bogus'\n"
    )


# --- utt2spk_to_spk2utt.pl / spk2utt_to_utt2spk.pl ---------------------------------------


def test_utt2spk_and_spk2utt_round_trip_in_order_of_first_appearance(tmp_path: Path) -> None:
    utt2spk = "u3 zed\nu1 amy\nu2 zed\nu4 amy\n"
    write(tmp_path / "utt2spk", utt2spk)
    result = run(tmp_path, "utt2spk_to_spk2utt.pl", "utt2spk")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "zed u3 u2\namy u1 u4\n"
    back = run(tmp_path, "spk2utt_to_utt2spk.pl", stdin=result.stdout)
    assert back.stdout == "u3 zed\nu2 zed\nu1 amy\nu4 amy\n"
    assert run(tmp_path, "utt2spk_to_spk2utt.pl", stdin=utt2spk).stdout == result.stdout


def test_utt2spk_and_spk2utt_errors(tmp_path: Path) -> None:
    bad = run(tmp_path, "utt2spk_to_spk2utt.pl", stdin="u1 a\nu2 a extra\n")
    assert (bad.returncode, bad.stderr) == (
        1,
        "utt2spk_to_spk2utt.pl: stdin:2: expected '<utt> <speaker>', found 3 field(s)\n",
    )
    lonely = run(tmp_path, "spk2utt_to_utt2spk.pl", stdin="a u1\nb\n")
    assert (lonely.returncode, lonely.stderr) == (
        1,
        "spk2utt_to_utt2spk.pl: stdin:2: expected '<speaker> <utt> [<utt> ...]'\n",
    )
    missing = run(tmp_path, "spk2utt_to_utt2spk.pl", "nope")
    assert missing.stderr == "spk2utt_to_utt2spk.pl: cannot read nope: No such file or directory\n"
    assert (
        run(tmp_path, "utt2spk_to_spk2utt.pl", "a", "b").stderr == "Usage: utt2spk_to_spk2utt.pl [UTT2SPK] > SPK2UTT\n"
    )


# --- split_scp.pl ------------------------------------------------------------------------


def test_split_scp_makes_contiguous_parts_larger_first(tmp_path: Path) -> None:
    lines = [f"u{i:02d} /w/{i}.wav\n" for i in range(10)]
    write(tmp_path / "wav.scp", "".join(lines))
    result = run(tmp_path, "split_scp.pl", "wav.scp", "a", "b", "c")
    assert result.returncode == 0, result.stderr
    parts = [(tmp_path / name).read_text() for name in "abc"]
    assert [p.count("\n") for p in parts] == [4, 3, 3]
    assert "".join(parts) == "".join(lines)


def test_split_scp_with_utt2spk_keeps_speakers_whole_and_balances(tmp_path: Path) -> None:
    # Speakers A..D with 5, 1, 2, 2 utterances; 3 parts: A | B C | D is the most even split.
    speakers = ["A"] * 5 + ["B"] + ["C"] * 2 + ["D"] * 2
    write(tmp_path / "utt2spk", "".join(f"u{i:02d} {s}\n" for i, s in enumerate(speakers)))
    result = run(tmp_path, "split_scp.pl", "--utt2spk=utt2spk", "utt2spk", "1", "2", "3")
    assert result.returncode == 0, result.stderr
    assert [sorted({line.split()[1] for line in (tmp_path / n).read_text().splitlines()}) for n in "123"] == [
        ["A"],
        ["B", "C"],
        ["D"],
    ]


def test_split_scp_with_utt2spk_groups_a_speakers_lines(tmp_path: Path) -> None:
    write(tmp_path / "utt2spk", "x1 x\ny1 y\nx2 x\ny2 y\nz1 z\n")
    write(tmp_path / "text", "x1 one\ny1 two\nx2 three\ny2 four\nz1 five\n")
    assert run(tmp_path, "split_scp.pl", "--utt2spk", "utt2spk", "text", "p1", "p2").returncode == 0
    assert (tmp_path / "p1").read_text() == "x1 one\nx2 three\n"
    assert (tmp_path / "p2").read_text() == "y1 two\ny2 four\nz1 five\n"


def test_split_scp_errors(tmp_path: Path) -> None:
    write(tmp_path / "wav.scp", "a 1\nb 2\n")
    write(tmp_path / "utt2spk", "a s\n")
    too_many = run(tmp_path, "split_scp.pl", "wav.scp", "1", "2", "3")
    assert (too_many.returncode, too_many.stderr) == (
        1,
        "split_scp.pl: cannot split the 2 line(s) of wav.scp into 3 parts (reduce the number of jobs)\n",
    )
    assert not (tmp_path / "1").exists()
    unknown = run(tmp_path, "split_scp.pl", "--utt2spk=utt2spk", "wav.scp", "1")
    assert unknown.stderr == "split_scp.pl: wav.scp:2: utterance 'b' is not in utt2spk\n"
    write(tmp_path / "utt2spk", "a s\nb s\n")
    speakers = run(tmp_path, "split_scp.pl", "--utt2spk=utt2spk", "wav.scp", "1", "2")
    assert speakers.stderr == (
        "split_scp.pl: cannot split the 1 speaker(s) of wav.scp into 2 parts (reduce the number of jobs)\n"
    )
    usage = run(tmp_path, "split_scp.pl", "wav.scp")
    assert usage.returncode == 1
    assert usage.stderr.startswith("split_scp.pl: expected an input file and at least one output file\nUsage: ")
    write(tmp_path / "empty", "")
    assert run(tmp_path, "split_scp.pl", "empty", "1").stderr == "split_scp.pl: empty is empty\n"


# --- data dirs ---------------------------------------------------------------------------


def make_data_dir(root: Path, utts: dict[str, str], *, text: bool = True) -> Path:
    """A data dir whose wav.scp points at (empty) files that exist; utts maps utt -> speaker."""
    root.mkdir(parents=True, exist_ok=True)
    lines = sorted(utts.items())
    for utt, _ in lines:
        write(root / "wav" / f"{utt}.wav", "")
    write(root / "wav.scp", "".join(f"{u} {root}/wav/{u}.wav\n" for u, _ in lines))
    write(root / "utt2spk", "".join(f"{u} {s}\n" for u, s in lines))
    spk2utt: dict[str, list[str]] = {}
    for utt, spk in lines:
        spk2utt.setdefault(spk, []).append(utt)
    write(root / "spk2utt", "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    if text:
        write(root / "text", "".join(f"{u} words of {u}\n" for u, _ in lines))
    return root


UTTS = {"a_1": "a", "a_2": "a", "b_1": "b", "b_2": "b", "b_3": "b", "c_1": "c"}


def test_validate_data_dir_wraps_vc_data_validate(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", UTTS)
    ok = run(tmp_path, "validate_data_dir.sh", "--no-text", "--no-feats", "data")
    assert (ok.returncode, ok.stdout) == (0, "data: ok (6 utterances, 3 speakers)\n"), ok.stderr
    (data / "wav" / "b_2.wav").unlink()
    write(data / "text", "a_1 x\nzz y\n")
    bad = run(tmp_path, "validate_data_dir.sh", "data")
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == [
        f"data/wav.scp:4: audio file not found: {data}/wav/b_2.wav",
        "data/text:2: utterance 'zz' is not in utt2spk",
        "data: 2 problem(s)",
    ]
    unchecked = run(tmp_path, "validate_data_dir.sh", "--no-check-files", "data")
    assert unchecked.stdout.splitlines() == ["data/text:2: utterance 'zz' is not in utt2spk", "data: 1 problem(s)"]


def test_validate_data_dir_usage_and_missing_vc(tmp_path: Path) -> None:
    usage = run(tmp_path, "validate_data_dir.sh")
    assert (usage.returncode, usage.stderr) == (
        1,
        "Usage: validate_data_dir.sh [--no-text] [--no-feats] [--no-check-files] DATA_DIR\n",
    )
    assert run(tmp_path, "validate_data_dir.sh", "--nope", "data").stderr.startswith(
        "validate_data_dir.sh: unknown option --nope\nUsage: "
    )
    no_vc = subprocess.run(
        [str(UTILS / "validate_data_dir.sh"), "data"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
    )
    assert no_vc.returncode == 1
    assert no_vc.stderr.startswith("validate_data_dir.sh: 'vc' not found on PATH")
    assert no_vc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "value", "kept"),
    [
        ("--utt-list", "a_2 anything\nb_3\nnot_there\n", ["a_2", "b_3"]),
        ("--spk-list", "b\nnobody\n", ["b_1", "b_2", "b_3"]),
        ("--first", "2", ["a_1", "a_2"]),
        ("--last", "3", ["b_2", "b_3", "c_1"]),
        ("--shortest", "3", ["a_2", "b_1", "c_1"]),
    ],
)
def test_subset_data_dir_keeps_every_file_consistent(tmp_path: Path, option: str, value: str, kept: list[str]) -> None:
    src = make_data_dir(tmp_path / "src", UTTS)
    write(src / "utt2num_frames", "a_1 90\na_2 10\nb_1 30\nb_2 40\nb_3 50\nc_1 30\n")
    write(src / "spk2gender", "a f\nb m\nc f\n")
    if option in ("--utt-list", "--spk-list"):
        value = str(write(tmp_path / "list", value))
    result = run(tmp_path, "subset_data_dir.sh", option, value, "src", "dest")
    assert result.returncode == 0, result.stderr
    dest = tmp_path / "dest"
    speakers = sorted({UTTS[u] for u in kept})
    assert result.stdout == f"dest: {len(kept)} utterances, {len(speakers)} speakers\n"
    assert (dest / "utt2spk").read_text() == "".join(f"{u} {UTTS[u]}\n" for u in kept)
    assert [line.split()[0] for line in (dest / "wav.scp").read_text().splitlines()] == kept
    assert [line.split()[0] for line in (dest / "text").read_text().splitlines()] == kept
    assert [line.split()[0] for line in (dest / "utt2num_frames").read_text().splitlines()] == kept
    assert [line.split()[0] for line in (dest / "spk2utt").read_text().splitlines()] == speakers
    assert [line.split()[0] for line in (dest / "spk2gender").read_text().splitlines()] == speakers
    assert run(tmp_path, "validate_data_dir.sh", "dest").returncode == 0


def test_subset_data_dir_with_segments_keeps_the_recordings_needed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "wav.scp", "r1 /r1.wav\nr2 /r2.wav\n")
    write(src / "segments", "s_1 r1 0 1\ns_2 r1 1 2\ns_3 r2 0 1\n")
    write(src / "utt2spk", "s_1 s\ns_2 s\ns_3 s\n")
    write(src / "reco2dur", "r1 2.0\nr2 1.0\n")
    result = run(tmp_path, "subset_data_dir.sh", "--first", "2", "src", "dest")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dest" / "wav.scp").read_text() == "r1 /r1.wav\n"
    assert (tmp_path / "dest" / "reco2dur").read_text() == "r1 2.0\n"
    assert (tmp_path / "dest" / "segments").read_text() == "s_1 r1 0 1\ns_2 r1 1 2\n"


def test_subset_data_dir_errors(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "src", UTTS)
    write(tmp_path / "list", "nobody\n")
    cases = [
        (["--first", "7", "src", "d"], "subset_data_dir.sh: --first 7: src has only 6 utterances\n"),
        (
            ["--first", "0", "src", "d"],
            "subset_data_dir.sh: --first expects a positive number of utterances, got '0'\n",
        ),
        (["--shortest", "2", "src", "d"], "subset_data_dir.sh: --shortest needs src/utt2num_frames or src/utt2dur\n"),
        (["--spk-list", "list", "src", "d"], "subset_data_dir.sh: no utterance of src is in --spk-list list\n"),
        (["--utt-list", "nope", "src", "d"], "subset_data_dir.sh: cannot read --utt-list file 'nope'\n"),
        (
            ["--first", "1", "--last", "1", "src", "d"],
            ("subset_data_dir.sh: give only one of --utt-list, --spk-list, --first, --last, --shortest\n"),
        ),
        (
            ["src", "d"],
            ("subset_data_dir.sh: choose the subset with --utt-list, --spk-list, --first, --last or --shortest\n"),
        ),
        (["--first", "1", "nodir", "d"], "subset_data_dir.sh: nodir/utt2spk: file not found\n"),
        (["--first", "1", "src", "src/"], "subset_data_dir.sh: SRC_DIR and DEST_DIR are the same directory (src)\n"),
    ]
    for args, message in cases:
        result = run(tmp_path, "subset_data_dir.sh", *args)
        assert (result.returncode, result.stderr) == (1, message), args
    assert not (tmp_path / "d").exists()
    usage = run(tmp_path, "subset_data_dir.sh", "--first", "1", "src")
    assert usage.returncode == 1 and usage.stderr.startswith("Usage: subset_data_dir.sh ")


def test_fix_data_dir_sorts_drops_and_regenerates_spk2utt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data / "utt2spk", "b_2 b\na_1 a\na_2 a\nb_1 b\nc_1 c\n")  # c_1 has no audio
    write(data / "wav.scp", "b_1 /b1.wav\na_1 /a1.wav\na_2 /a2.wav\nb_2 /b2.wav\nd_1 /d1.wav\na_1 /dup.wav\n")
    write(data / "text", "a_1 hello\nb_1 hi\nb_2 yo\nc_1 x\n")  # a_2 has no text
    write(data / "spk2utt", "stale line\n")
    write(data / "spk2gender", "c f\nb m\na f\n")
    write(data / "utt2num_frames", "a_2 5\nb_1 6\nb_2 7\n")
    original = (data / "wav.scp").read_text()
    result = run(tmp_path, "fix_data_dir.sh", "data")
    assert result.returncode == 0, result.stderr
    # a_1 a_2 b_1 b_2 c_1 d_1 seen; a_2, c_1, d_1 dropped.
    assert result.stdout == (
        "fix_data_dir.sh: data: kept 3 of 6 utterances; dropped 3 not in all of utt2spk, wav.scp, text "
        "(old files in data/.backup)\n"
    )
    assert (data / "utt2spk").read_text() == "a_1 a\nb_1 b\nb_2 b\n"
    assert (data / "wav.scp").read_text() == "a_1 /a1.wav\nb_1 /b1.wav\nb_2 /b2.wav\n"
    assert (data / "text").read_text() == "a_1 hello\nb_1 hi\nb_2 yo\n"
    assert (data / "spk2utt").read_text() == "a a_1\nb b_1 b_2\n"
    assert (data / "spk2gender").read_text() == "a f\nb m\n"
    assert (data / "utt2num_frames").read_text() == "b_1 6\nb_2 7\n"
    assert (data / ".backup" / "wav.scp").read_text() == original
    assert run(tmp_path, "validate_data_dir.sh", "--no-check-files", "data").returncode == 0
    again = run(tmp_path, "fix_data_dir.sh", "data/")
    assert again.stdout == "fix_data_dir.sh: data: kept all 3 utterances\n"


def test_fix_data_dir_with_segments_and_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data / "wav.scp", "r1 /r1.wav\nr3 /r3.wav\n")
    write(data / "segments", "s_1 r1 0 1\ns_2 r2 0 1\ns_3 r3 0 1\n")  # r2 is not in wav.scp
    write(data / "utt2spk", "s_1 s\ns_2 s\n")  # s_3 has no speaker
    result = run(tmp_path, "fix_data_dir.sh", "data")
    assert result.returncode == 0, result.stderr
    assert "kept 1 of 3 utterances; dropped 2 not in all of utt2spk, segments (with its recording in wav.scp)" in (
        result.stdout
    )
    assert (data / "segments").read_text() == "s_1 r1 0 1\n"
    assert (data / "wav.scp").read_text() == "r1 /r1.wav\n"

    empty = tmp_path / "empty"
    write(empty / "wav.scp", "x /x.wav\n")
    write(empty / "utt2spk", "y s\n")
    nothing = run(tmp_path, "fix_data_dir.sh", "empty")
    assert (nothing.returncode, nothing.stderr) == (
        1,
        "fix_data_dir.sh: empty: no utterance is in all of utt2spk, wav.scp; nothing changed\n",
    )
    assert (empty / "utt2spk").read_text() == "y s\n" and not (empty / ".backup").exists()
    missing = run(tmp_path, "fix_data_dir.sh", "nodir")
    assert (missing.returncode, missing.stderr) == (1, "fix_data_dir.sh: nodir: not a directory\n")
    assert run(tmp_path, "fix_data_dir.sh").stderr == "Usage: fix_data_dir.sh DATA_DIR\n"


# --- slurm.pl ----------------------------------------------------------------------------

# Runs the array's tasks here, after sbatch has returned (as Slurm would), and records its
# arguments one a line in $FAKE_ARGS. FAKE_SKIP names a task it never runs (a killed task).
FAKE_SBATCH = r"""#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_ARGS"
script=${!#}
tasks=
for arg in "$@"; do
  case $arg in --array=*) range=${arg#--array=}; range=${range%%\%*}; tasks=$(seq "${range%-*}" "${range#*-}") ;; esac
done
(
  sleep 0.3
  if [ -z "$tasks" ]; then bash "$script"; fi
  for t in $tasks; do
    [ "$t" = "${FAKE_SKIP:-}" ] || SLURM_ARRAY_TASK_ID=$t bash "$script"
  done
) >> "$FAKE_ARGS.out" 2>&1 &
echo "Submitted batch job 123"
"""


def slurm_env(tmp_path: Path, sbatch: str = FAKE_SBATCH, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    (bin_dir / "sbatch").parent.mkdir(exist_ok=True)
    (bin_dir / "sbatch").write_text(sbatch)
    (bin_dir / "sbatch").chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_ARGS": str(tmp_path / "args"), **extra}


def slurm_pl(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, "slurm.pl", *args, env=env)


def sbatch_args(tmp_path: Path) -> list[str]:
    return (tmp_path / "args").read_text().splitlines()


def log_format(command: str, output: str, code: int, threads: int = 1) -> str:
    return (
        rf"# {re.escape(command)}\n# Started at {DATE}\n#\n{re.escape(output)}"
        rf"# Accounting: time=\d+ threads={threads}\n# Ended \(code {code}\) at {DATE}, elapsed time \d+ seconds\n"
    )


def test_slurm_array_failure_names_the_failed_log_and_logs_have_run_pl_format(tmp_path: Path) -> None:
    env = slurm_env(tmp_path)
    result = slurm_pl(tmp_path, env, "JOB=1:3", "exp/log/t.JOB.log", "sh", "-c", "echo task JOB; exit $((JOB == 2))")
    assert result.returncode == 1
    assert result.stderr == "slurm.pl: 1 / 3 failed, log is in exp/log/t.2.log\n"
    for task in (1, 2, 3):
        log = (tmp_path / "exp" / "log" / f"t.{task}.log").read_text()
        command = f"sh -c 'echo task {task}; exit $(({task} == 2))'"
        assert re.fullmatch(log_format(command, f"task {task}\n", int(task == 2)), log), log
    args = sbatch_args(tmp_path)
    q = tmp_path / "exp" / "log" / "q"
    assert args[-6:] == ["-o", f"{q}/t.log", "-e", f"{q}/t.log", "--array=1-3", f"{q}/t.sh"]
    assert sorted(p.name for p in q.iterdir()) == ["t.log", "t.sh"]  # the status files are cleaned up
    assert "Submitted batch job 123" in (q / "t.log").read_text()


def test_slurm_success_single_job_and_path_sh(tmp_path: Path) -> None:
    env = slurm_env(tmp_path)
    write(tmp_path / "path.sh", "export FROM_PATH_SH=yes\n")
    result = slurm_pl(tmp_path, env, "one.log", "echo", "$FROM_PATH_SH", "|", "tr", "a-z", "A-Z")
    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(log_format("echo $FROM_PATH_SH | tr a-z A-Z", "YES\n", 0), (tmp_path / "one.log").read_text())
    assert not any(a.startswith("--array") for a in sbatch_args(tmp_path))
    # A start other than 1 and a single-value range.
    assert slurm_pl(tmp_path, env, "SPLIT=4", "x.SPLIT.log", "echo", "SPLIT").returncode == 0
    assert "--array=4-4" in sbatch_args(tmp_path)
    assert "\n4\n" in (tmp_path / "x.4.log").read_text()


def test_slurm_builtin_config_turns_options_into_sbatch_arguments(tmp_path: Path) -> None:
    env = slurm_env(tmp_path)
    args = ["--gpu", "1", "--mem", "2G", "-V", "-p", "short", "--max-jobs-run", "2", "--num-threads", "4"]
    result = slurm_pl(tmp_path, env, *args, "JOB=1:3", "log/x.JOB.log", "true")
    assert result.returncode == 0, result.stderr
    assert sbatch_args(tmp_path)[:15] == [
        "--export=ALL",
        "--ntasks-per-node=1",
        "-p",
        "gpu",
        "--gres=gpu:1",
        "--time",
        "4:0:0",
        "--mem-per-cpu",
        "2G",
        "--cpus-per-task",
        "4",
        "-p",
        "short",
        "--open-mode=append",
        "-o",
    ]
    assert "--array=1-3%2" in sbatch_args(tmp_path)
    assert re.search(r"^# Accounting: time=\d+ threads=4$", (tmp_path / "log" / "x.3.log").read_text(), re.M)
    # --gpu 0 (the default) and --mem 0 add nothing; an explicit --time wins over --gpu's.
    assert slurm_pl(tmp_path, env, "--mem", "0", "y.log", "true").returncode == 0
    assert sbatch_args(tmp_path)[:3] == ["--export=ALL", "--ntasks-per-node=1", "--open-mode=append"]
    assert slurm_pl(tmp_path, env, "--gpu", "2", "--time", "1:00:00", "z.log", "true").returncode == 0
    assert sbatch_args(tmp_path)[2:9] == ["-p", "gpu", "--gres=gpu:2", "--time", "4:0:0", "--time", "1:00:00"]
    # recipes/vc.sh --num_nodes 2: an allocation of two nodes.
    assert slurm_pl(tmp_path, env, "--gpu", "2", "--num-nodes", "2", "n.log", "true").returncode == 0
    assert sbatch_args(tmp_path)[2:9] == ["-p", "gpu", "--gres=gpu:2", "--time", "4:0:0", "--nodes", "2"]


def test_slurm_reads_conf_slurm_conf_or_config_and_sbatch_override(tmp_path: Path) -> None:
    env = slurm_env(tmp_path)
    write(
        tmp_path / "conf" / "slurm.conf",
        "# site config\ncommand sbatch --export=ALL  # comment\noption mem=* --mem $0\n"
        "default gpu=0\noption gpu=0 -p cpu\noption gpu=* -p gpu --gres=gpu:$0\n",
    )
    assert slurm_pl(tmp_path, env, "--mem", "3G", "a.log", "true").returncode == 0
    assert sbatch_args(tmp_path)[:6] == ["--export=ALL", "-p", "cpu", "--mem", "3G", "--open-mode=append"]
    # The recipes' template parses, and the same --gpu 1 --mem 2G means the same as built in.
    assert (
        slurm_pl(tmp_path, env, "--config", str(SLURM_CONF), "--gpu", "1", "--mem", "2G", "b.log", "true").returncode
        == 0
    )
    assert sbatch_args(tmp_path)[:9] == [
        "--export=ALL",
        "--ntasks-per-node=1",
        "-p",
        "gpu",
        "--gres=gpu:1",
        "--time",
        "4:0:0",
        "--mem-per-cpu",
        "2G",
    ]
    # $SBATCH replaces the command's program: here one that is not on PATH.
    (tmp_path / "bin" / "sbatch").rename(tmp_path / "my-sbatch")
    result = slurm_pl(tmp_path, {**env, "SBATCH": str(tmp_path / "my-sbatch")}, "c.log", "echo", "hi")
    assert result.returncode == 0, result.stderr
    assert "\nhi\n" in (tmp_path / "c.log").read_text()


def test_slurm_config_and_option_errors(tmp_path: Path) -> None:
    env = slurm_env(tmp_path)
    write(tmp_path / "bad.conf", "command sbatch\nbogus line\n")
    write(tmp_path / "nocommand.conf", "option mem=* --mem $0\n")
    cases = [
        (
            ["--foo", "3", "l", "true"],
            ("slurm.pl: --foo 3 is not described in the built-in config (no 'option foo=3' or 'option foo=*' line)\n"),
        ),
        (
            ["--config", "nope.conf", "l", "true"],
            "slurm.pl: cannot read config file nope.conf: No such file or directory\n",
        ),
        (
            ["--config", "bad.conf", "l", "true"],
            (
                "slurm.pl: bad.conf:2: cannot parse 'bogus line' (expected 'command ...', 'option NAME=VALUE ...', "
                "'option NAME=* ...' or 'default NAME=VALUE')\n"
            ),
        ),
        (["--config", "nocommand.conf", "l", "true"], "slurm.pl: nocommand.conf has no 'command sbatch ...' line\n"),
        (["--num-threads", "0", "l", "true"], "slurm.pl: --num-threads expects a positive integer, got '0'\n"),
        (["JOB=3:1", "l.JOB", "true"], "slurm.pl: invalid job range 'JOB=3:1': the start is after the end\n"),
        (["JOB=1:2", "l", "true"], "slurm.pl: JOB=1:2 runs several jobs but the log file 'l' does not contain JOB\n"),
    ]
    for args, message in cases:
        result = slurm_pl(tmp_path, env, *args)
        assert (result.returncode, result.stderr) == (1, message), args
    usage = slurm_pl(tmp_path, env, "only.log")
    assert usage.returncode == 1
    assert usage.stderr.startswith("slurm.pl: expected a log file and a command\nUsage: slurm.pl ")
    assert not (tmp_path / "args").exists()  # nothing was submitted


def test_slurm_reports_a_failed_submission(tmp_path: Path) -> None:
    env = slurm_env(tmp_path, sbatch="#!/bin/sh\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n")
    result = slurm_pl(tmp_path, env, "--gpu", "1", "JOB=1:2", "log/t.JOB.log", "true")
    assert (result.returncode, result.stderr) == (
        1,
        (
            "slurm.pl: submitting with sbatch failed (exit code 1): sbatch: error: invalid partition specified: gpu; "
            "see log/q/t.log\n"
        ),
    )
    # With --parsable sbatch prints only "<id>[;cluster]".
    env = slurm_env(tmp_path, sbatch=FAKE_SBATCH.replace('echo "Submitted batch job 123"', 'echo "456;main"'))
    assert slurm_pl(tmp_path, env, "p.log", "true").returncode == 0
    assert "# Ended (code 0)" in (tmp_path / "p.log").read_text()
    env = slurm_env(tmp_path, sbatch="#!/bin/sh\necho queued\n")
    assert slurm_pl(tmp_path, env, "l.log", "true").stderr == (
        "slurm.pl: sbatch did not print 'Submitted batch job <id>'; see ./q/l.log\n"
    )


def test_slurm_notices_a_task_that_left_the_queue_without_a_status(tmp_path: Path) -> None:
    # squeue no longer lists the job, and task 2 never ran (as when Slurm kills it).
    env = slurm_env(tmp_path, FAKE_SKIP="2", SLURM_PL_CHECK_SECONDS="0.5")
    write(tmp_path / "bin" / "squeue", "#!/bin/sh\nexit 0\n").chmod(0o755)
    result = slurm_pl(tmp_path, env, "JOB=1:2", "log/t.JOB.log", "true")
    assert result.returncode == 1
    assert result.stderr == (
        "slurm.pl: job 123 left the queue but task 2 wrote no exit status (killed, or over its time limit?); "
        "see log/t.2.log and log/q/t.log\n"
        "slurm.pl: 1 / 2 failed, log is in log/t.2.log\n"
    )
    assert "# Ended (code 0)" in (tmp_path / "log" / "t.1.log").read_text()


def test_slurm_cancels_the_job_when_interrupted(tmp_path: Path) -> None:
    env = slurm_env(tmp_path, sbatch='#!/bin/sh\nprintf "%s\\n" "$@" > "$FAKE_ARGS"\necho "Submitted batch job 77"\n')
    write(tmp_path / "bin" / "scancel", '#!/bin/sh\necho "$@" > "$FAKE_ARGS.scancel"\n').chmod(0o755)
    proc = subprocess.Popen(
        [str(UTILS / "slurm.pl"), "JOB=1:2", "log/t.JOB.log", "sleep", "100"],
        cwd=tmp_path,
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not (tmp_path / "args").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # slurm.pl reads the job id right after sbatch returns
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert (proc.returncode, stderr) == (1, "slurm.pl: interrupted; cancelled job 77\n")
    assert (tmp_path / "args.scancel").read_text() == "77\n"


def test_cpu_training_gets_every_core_although_path_sh_sets_one_thread(tmp_path: Path) -> None:
    """launch_vc: a CPU training job gets all cores by default, $train_threads when set,
    even though path.sh exports OMP_NUM_THREADS=1 (which plain nproc would report)."""
    stub = write(tmp_path / "show_threads.sh", '#!/bin/sh\necho "$OMP_NUM_THREADS"\n')
    stub.chmod(0o755)
    common = UTILS.parent / "common.sh"
    script = f'source "{common}"; train_cmd="{stub}"; launch_vc log.txt train --conf x.yaml'

    def threads(**env: str) -> str:
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "OMP_NUM_THREADS": "1", **env})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert threads() == str(len(os.sched_getaffinity(0)))
    assert threads(train_threads="3") == "3"


def test_slurm_requeues_a_preempted_task(tmp_path: Path) -> None:
    """Exit status 75 (vc train preempted, checkpoint written): the job script asks scontrol to
    requeue the job and writes no status, so slurm.pl waits for the requeued run's."""
    sbatch = FAKE_SBATCH.replace('bash "$script"; fi', 'SLURM_JOB_ID=123 bash "$script"; fi')
    env = slurm_env(tmp_path, sbatch)
    scontrol = tmp_path / "bin" / "scontrol"
    # Slurm runs the requeued job's script again; the fake does so at once.
    scontrol.write_text('#!/usr/bin/env bash\necho "$@" >> "$FAKE_ARGS.scontrol"\n'
                        f'SLURM_JOB_ID=$2 bash {tmp_path}/log/q/t.sh &\n')
    scontrol.chmod(0o755)
    command = f"if [ -f {tmp_path}/ran ]; then echo resumed; else touch {tmp_path}/ran; exit 75; fi"
    result = slurm_pl(tmp_path, env, "log/t.log", "bash", "-c", command)
    assert (result.returncode, result.stderr) == (0, "")
    assert (tmp_path / "args.scontrol").read_text() == "requeue 123\n"
    assert "resumed\n" in (tmp_path / "log" / "t.log").read_text()
