"""recipes/utils/run.pl: local parallel jobs with the Kaldi queue.pl interface."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

RUN_PL = Path(__file__).resolve().parents[1] / "recipes" / "utils" / "run.pl"

DATE = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}"


def run_pl(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["perl", str(RUN_PL), *args], cwd=cwd, capture_output=True, text=True, timeout=20)


def test_job_range_writes_one_log_per_job_with_substitution(tmp_path: Path) -> None:
    result = run_pl(tmp_path, "JOB=1:3", "exp/log/echo.JOB.log", "echo", "job", "JOB", "of", "split3/JOB")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert sorted(p.name for p in (tmp_path / "exp" / "log").iterdir()) == ["echo.1.log", "echo.2.log", "echo.3.log"]
    log = (tmp_path / "exp" / "log" / "echo.2.log").read_text()
    assert re.fullmatch(
        rf"# echo job 2 of split3/2\n# Started at {DATE}\n#\njob 2 of split3/2\n"
        rf"# Accounting: time=\d+ threads=1\n# Ended \(code 0\) at {DATE}, elapsed time \d+ seconds\n",
        log,
    ), log


def test_any_variable_name_and_start_offset(tmp_path: Path) -> None:
    assert run_pl(tmp_path, "SPLIT=2:3", "log.SPLIT", "echo", "SPLIT").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.2", "log.3"]
    assert "\n3\n" in (tmp_path / "log.3").read_text()


def test_stderr_goes_to_the_log_and_bare_words_are_shell_syntax(tmp_path: Path) -> None:
    # As in Kaldi: a word without spaces is passed as is (so | and >&2 work), one with spaces stays one word.
    result = run_pl(tmp_path, "x.log", "echo", "to err", ">&2", ";", "echo", "it's  spaced", "|", "tr", "a-z", "A-Z")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "x.log").read_text().splitlines()
    assert lines[0] == "# echo 'to err' >&2 ; echo 'it'\\''s  spaced' | tr a-z A-Z"
    assert lines[3:5] == ["to err", "IT'S  SPACED"]


def test_failures_are_counted_and_point_at_the_first_failed_log(tmp_path: Path) -> None:
    result = run_pl(tmp_path, "JOB=1:4", "log/f.JOB.log", "sh", "-c", "echo trying JOB; exit $((JOB % 2))")
    assert result.returncode == 1
    assert result.stderr == "run.pl: 2 / 4 failed, log is in log/f.1.log\n"
    failed = (tmp_path / "log" / "f.3.log").read_text()
    assert "trying 3\n" in failed
    assert re.search(rf"# Ended \(code 1\) at {DATE}, elapsed time \d+ seconds\n$", failed)
    assert "# Ended (code 0)" in (tmp_path / "log" / "f.2.log").read_text()


def test_single_job_without_a_range(tmp_path: Path) -> None:
    assert run_pl(tmp_path, "one.log", "true").returncode == 0
    result = run_pl(tmp_path, "one.log", "exit", "3")
    assert result.returncode == 1
    assert result.stderr == "run.pl: 1 / 1 failed, log is in one.log\n"
    assert "# Ended (code 3) at " in (tmp_path / "one.log").read_text()


def test_queue_options_are_accepted_and_threads_reported(tmp_path: Path) -> None:
    args = ["--mem", "4G", "--gpu", "1", "-V", "JOB=1:2", "--num-threads", "3", "-pe", "smp", "3", "q.JOB.log", "true"]
    result = run_pl(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^# Accounting: time=\d+ threads=3$", (tmp_path / "q.2.log").read_text(), re.M)


def test_max_jobs_run_limits_concurrency(tmp_path: Path) -> None:
    # Each job counts the jobs running beside it (itself included) while it sleeps.
    job = "mkdir running.JOB && ls -d running.* | wc -l >> counts && sleep 0.4 && rmdir running.JOB"
    result = run_pl(tmp_path, "--max-jobs-run", "2", "JOB=1:4", "log/JOB.log", "sh", "-c", job)
    assert result.returncode == 0, result.stderr
    counts = [int(n) for n in (tmp_path / "counts").read_text().split()]
    assert len(counts) == 4 and max(counts) == 2


def test_usage_errors(tmp_path: Path) -> None:
    assert run_pl(tmp_path, "JOB=3:1", "l.JOB", "true").stderr == (
        "run.pl: invalid job range 'JOB=3:1': the start is after the end\n"
    )
    same_log = run_pl(tmp_path, "JOB=1:2", "one.log", "true")
    assert same_log.returncode == 1
    assert same_log.stderr == "run.pl: JOB=1:2 runs several jobs but the log file 'one.log' does not contain JOB\n"
    assert run_pl(tmp_path, "--max-jobs-run", "0", "l", "true").stderr == (
        "run.pl: --max-jobs-run expects a positive integer, got '0'\n"
    )
    no_command = run_pl(tmp_path, "only.log")
    assert no_command.returncode == 1
    assert no_command.stderr.startswith("run.pl: expected a log file and a command\nUsage: run.pl ")
    assert not any(tmp_path.iterdir())


def test_single_value_range(tmp_path: Path) -> None:
    result = run_pl(tmp_path, "JOB=2", "one.JOB.log", "echo", "JOB")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["one.2.log"]
    assert "\n2\n" in (tmp_path / "one.2.log").read_text()


def test_a_failed_job_does_not_stop_the_others(tmp_path: Path) -> None:
    # One job at a time, the first failing: the rest still run, and each log is complete.
    result = run_pl(tmp_path, "--max-jobs-run", "1", "JOB=1:3", "log/JOB.log", "test", "JOB", "-ne", "1")
    assert result.returncode == 1
    assert result.stderr == "run.pl: 1 / 3 failed, log is in log/1.log\n"
    for job, code in ((1, 1), (2, 0), (3, 0)):
        log = (tmp_path / "log" / f"{job}.log").read_text()
        assert re.fullmatch(
            rf"# test {job} -ne 1\n# Started at {DATE}\n#\n"
            rf"# Accounting: time=\d+ threads=1\n# Ended \(code {code}\) at {DATE}, elapsed time \d+ seconds\n",
            log,
        ), log


def test_a_job_killed_by_a_signal_fails_and_the_log_says_so(tmp_path: Path) -> None:
    result = run_pl(tmp_path, "k.log", "kill", "-9", "$$")
    assert result.returncode == 1
    assert result.stderr == "run.pl: 1 / 1 failed, log is in k.log\n"
    assert re.search(
        rf"^# Ended \(code 0; signal 9\) at {DATE}, elapsed time \d+ seconds$", (tmp_path / "k.log").read_text(), re.M
    )


def test_jobs_read_no_stdin(tmp_path: Path) -> None:
    # A job reading stdin gets /dev/null at once instead of hanging on (or eating) run.pl's input.
    result = subprocess.run(
        ["perl", str(RUN_PL), "cat.log", "cat"],
        cwd=tmp_path,
        input="secret\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert "secret" not in (tmp_path / "cat.log").read_text()
