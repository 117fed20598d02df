"""recipes/utils/parse_options.sh: Kaldi/ESPnet option parsing for recipe scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PARSE_OPTIONS = Path(__file__).resolve().parents[1] / "recipes" / "utils" / "parse_options.sh"

DEFAULTS = """\
stage=1
foo_bar=default
use_gpu=false
empty=
help_message="Usage: run.sh [options] <data-dir>"
"""

REPORT = 'echo "stage=$stage foo_bar=$foo_bar use_gpu=$use_gpu empty=$empty"; printf "arg=%s\\n" "$@"\n'


def run(tmp_path: Path, *args: str, body: str = REPORT) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "run.sh"
    script.write_text(f"set -euo pipefail\n{DEFAULTS}. {PARSE_OPTIONS}\n{body}")
    return subprocess.run(["bash", str(script), *args], cwd=tmp_path, capture_output=True, text=True, timeout=10)


def test_defaults_survive_when_no_options_are_given(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stage=1 foo_bar=default use_gpu=false empty=\narg=\n"


def test_options_set_declared_variables_in_every_form(tmp_path: Path) -> None:
    result = run(tmp_path, "--stage", "3", "--foo-bar", "two words", "--use_gpu", "true", "--empty=x=y")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "stage=3 foo_bar=two words use_gpu=true empty=x=y"
    assert run(tmp_path, "--foo_bar=under").stdout.startswith("stage=1 foo_bar=under ")


@pytest.mark.parametrize("option", ["--nope", "--foo.bar", "--STAGE"])
def test_unknown_option_is_rejected(tmp_path: Path, option: str) -> None:
    result = run(tmp_path, "--stage", "2", option, "1")
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'run.sh'}: invalid option {option}\n"
    assert result.stdout == ""


def test_boolean_variables_only_take_true_or_false(tmp_path: Path) -> None:
    result = run(tmp_path, "--use-gpu", "yes")
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'run.sh'}: option --use-gpu expects true or false, got 'yes'\n"
    last_wins = run(tmp_path, "--use-gpu", "true", "--use-gpu", "false")
    assert last_wins.stdout.startswith("stage=1 foo_bar=default use_gpu=false")
    # Only variables whose current value is a boolean are checked.
    assert run(tmp_path, "--stage", "yes").stdout.startswith("stage=yes ")


def test_missing_value_is_an_error(tmp_path: Path) -> None:
    result = run(tmp_path, "--stage")
    assert result.returncode == 1
    assert result.stderr == f"{tmp_path / 'run.sh'}: option --stage needs a value\n"


def test_config_file_is_sourced_and_command_line_wins(tmp_path: Path) -> None:
    (tmp_path / "my.conf").write_text("stage=7\nfoo_bar=from_config\nuse_gpu=true\n")
    result = run(tmp_path, "--stage", "2", "--config", "my.conf", "--use-gpu", "false", "data")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stage=2 foo_bar=from_config use_gpu=false empty=\narg=data\n"
    assert run(tmp_path, "--config=my.conf").stdout.startswith("stage=7 foo_bar=from_config use_gpu=true")

    missing = run(tmp_path, "--config", "nope.conf")
    assert missing.returncode == 1
    assert missing.stderr == f"{tmp_path / 'run.sh'}: cannot read config file 'nope.conf'\n"


def test_parsing_stops_at_the_first_positional_argument_or_double_dash(tmp_path: Path) -> None:
    result = run(tmp_path, "--stage", "2", "data/train", "--stage", "5")
    assert result.stdout == "stage=2 foo_bar=default use_gpu=false empty=\narg=data/train\narg=--stage\narg=5\n"
    result = run(tmp_path, "--", "--stage", "5")
    assert result.stdout == "stage=1 foo_bar=default use_gpu=false empty=\narg=--stage\narg=5\n"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_help_message_and_exits_zero(tmp_path: Path, flag: str) -> None:
    result = run(tmp_path, "--stage", "2", flag, "--nope")
    assert result.returncode == 0
    assert result.stdout == "Usage: run.sh [options] <data-dir>\n"


def test_leaves_no_helper_names_behind(tmp_path: Path) -> None:
    body = 'compgen -v _po_ || true; declare -F _po_fail _po_variable || true; echo "stage=$stage"\n'
    result = run(tmp_path, "--stage", "4", body=body)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "stage=4\n"
