"""Kaldi data directories: read, write, subset, split, validate, and load an utterance.

A data dir holds ``wav.scp`` (key -> path or ``cmd |``), ``utt2spk`` (utt -> speaker),
and optionally ``spk2utt``, ``text`` (utt -> transcript) and ``segments`` (utt ->
recording, start, end). With ``segments`` the keys of ``wav.scp`` are recording ids.
"""

from __future__ import annotations

import bisect
import io
import itertools
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from vc.audio.io import check_signal, load_wav
from vc.errors import DataError
from vc.utils import atomic_path

# Kaldi's extract-segments truncates a segment that runs past its recording by up to
# this many seconds (its --max-overshoot default); anything further is an error.
MAX_OVERSHOOT = 0.5

REQUIRED_FILES = ("wav.scp", "utt2spk")


@dataclass(frozen=True)
class _Format:
    min_fields: int
    max_fields: int | None
    usage: str


# The order here is the order files are read and problems are reported.
_FORMATS = {
    "wav.scp": _Format(2, None, "<key> <path or command |>"),
    "utt2spk": _Format(2, 2, "<utt> <speaker>"),
    "spk2utt": _Format(2, None, "<speaker> <utt> [<utt> ...]"),
    "text": _Format(1, None, "<utt> <transcript>"),
    "segments": _Format(4, 4, "<utt> <recording> <start> <end>"),
}


@dataclass
class Segment:
    recording: str
    start: float  # seconds
    end: float  # seconds; -1 means to the end of the recording


@dataclass
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


@dataclass
class _Table:
    """One parsed file: the first value of each key, with where each key was read."""

    file: str  # as shown in messages: "<dir>/<name>"
    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)  # malformed or duplicate: read() refuses
    notes: list[Problem] = field(default_factory=list)  # empty or unsorted: validation only

    def problem(self, key: str, message: str) -> Problem:
        return Problem(self.file, self.lines.get(key), message)


@dataclass
class DataDir:
    wav_scp: dict[str, str]  # key -> path or "cmd |"; key = recording id when segments exist
    utt2spk: dict[str, str]
    text: dict[str, str] | None = None
    segments: dict[str, Segment] | None = None
    # Where the dir was read from, kept through subset/split so messages can point at lines.
    _dir: Path | None = field(default=None, init=False, repr=False, compare=False)
    _lines: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def utts(self) -> list[str]:
        return sorted(self.utt2spk)

    @property
    def speakers(self) -> list[str]:
        return sorted(set(self.utt2spk.values()))

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {spk: [] for spk in self.speakers}
        for utt in self.utts:
            grouped[self.utt2spk[utt]].append(utt)
        return grouped

    @classmethod
    def read(cls, path: str | Path) -> DataDir:
        """Read a data dir; the first malformed line, duplicate key or missing file is a DataError."""
        root = Path(path)
        if not root.is_dir():
            raise DataError(f"{root}: not a directory")
        tables = {name: _read_table(root, name) for name in ("wav.scp", "utt2spk", "text", "segments")}
        for name in REQUIRED_FILES:
            if tables[name] is None:
                raise DataError(str(_missing_problem(root, name)))
        for table in tables.values():
            if table is not None and table.errors:
                raise DataError(str(table.errors[0]))
        segments = None
        if tables["segments"] is not None:
            segments, problems = _parse_segments(tables["segments"])
            if problems:
                raise DataError(str(problems[0]))
        text = tables["text"].values if tables["text"] is not None else None
        data = cls(tables["wav.scp"].values, tables["utt2spk"].values, text, segments)
        data._dir = root
        data._lines = {name: t.lines for name, t in tables.items() if t is not None}
        return data

    def write(self, path: str | Path) -> None:
        """Write every file sorted in C-locale order, each atomically; spk2utt is derived.

        A ``text`` or ``segments`` left in ``path`` from before is removed when this dir
        has none, so the written dir is always consistent.
        """
        root = Path(path)
        files = {
            "wav.scp": _key_value_lines(self.wav_scp),
            "utt2spk": _key_value_lines(self.utt2spk),
            "spk2utt": [f"{spk} {' '.join(utts)}" for spk, utts in self.spk2utt.items()],
        }
        if self.text is not None:
            files["text"] = _key_value_lines(self.text)
        if self.segments is not None:
            files["segments"] = [
                f"{utt} {seg.recording} {_format_time(seg.start)} {_format_time(seg.end)}"
                for utt, seg in sorted(self.segments.items())
            ]
        _check_writable(root, self)
        root.mkdir(parents=True, exist_ok=True)
        for name, lines in files.items():
            with atomic_path(root / name) as tmp:
                tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for stale in ("text", "segments"):
            if stale not in files:
                (root / stale).unlink(missing_ok=True)

    def subset(self, utts: Iterable[str] | None = None, speakers: Iterable[str] | None = None) -> DataDir:
        """The utterances listed in ``utts`` and/or spoken by ``speakers`` (both: the intersection)."""
        keep = set(self.utt2spk)
        if utts is not None:
            wanted = list(utts)
            self._check_known("utterance", wanted, self.utt2spk.keys())
            keep &= set(wanted)
        if speakers is not None:
            wanted_spk = set(speakers)
            self._check_known("speaker", sorted(wanted_spk), set(self.utt2spk.values()))
            keep = {utt for utt in keep if self.utt2spk[utt] in wanted_spk}
        return self._restrict(keep)

    def split(self, n: int, by: Literal["utt", "spk"] = "utt") -> list[DataDir]:
        """``n`` contiguous parts of the sorted utterances (or speakers), balanced by utterance count.

        With ``by="spk"`` every speaker's utterances stay in one part, as Kaldi's
        split_data.sh does so that per-speaker statistics can be computed per job.
        """
        if by == "utt":
            units = [[utt] for utt in self.utts]
        elif by == "spk":
            units = list(self.spk2utt.values())
        else:
            raise DataError(f"split: 'by' must be 'utt' or 'spk', got {by!r}")
        unit_name = "utterances" if by == "utt" else "speakers"
        if n < 1 or n > len(units):
            raise DataError(f"{self._where()}: cannot split {len(units)} {unit_name} into {n} parts")
        bounds = _balanced_bounds([len(unit) for unit in units], n)
        return [
            self._restrict({utt for unit in units[a:b] for utt in unit}) for a, b in zip(bounds, bounds[1:])
        ]

    def source_line(self, file: str, key: str) -> int | None:
        """The line of ``file`` (e.g. "wav.scp") that ``key`` was read from, if read from disk."""
        return self._lines.get(file, {}).get(key)

    def _where(self, file: str | None = None, key: str | None = None) -> str:
        """ "data/train/wav.scp:12" when known, else as much of it as is known."""
        if file is None:
            return str(self._dir) if self._dir is not None else "data dir"
        name = str(self._dir / file) if self._dir is not None else file
        line = self.source_line(file, key) if key is not None else None
        return name if line is None else f"{name}:{line}"

    def _check_known(self, kind: str, wanted: list[str], known: Iterable[str]) -> None:
        known_set = set(known)
        unknown = [name for name in wanted if name not in known_set]
        if unknown:
            raise DataError(f"{self._where()}: unknown {kind} {_quoted_list(unknown)}")

    def _restrict(self, keep: set[str]) -> DataDir:
        """A copy holding only the utterances in ``keep`` (and the recordings they need)."""
        segments = None
        if self.segments is not None:
            segments = {utt: seg for utt, seg in self.segments.items() if utt in keep}
            recordings = {seg.recording for seg in segments.values()}
            wav_scp = {key: value for key, value in self.wav_scp.items() if key in recordings}
        else:
            wav_scp = {key: value for key, value in self.wav_scp.items() if key in keep}
        text = {utt: t for utt, t in self.text.items() if utt in keep} if self.text is not None else None
        part = DataDir(wav_scp, {utt: spk for utt, spk in self.utt2spk.items() if utt in keep}, text, segments)
        part._dir, part._lines = self._dir, self._lines
        return part


def load_utterance(
    data: DataDir,
    utt: str,
    sample_rate: int,
    *,
    min_samples: int = 1,
    allow_pipes: bool = False,
    name_prefix: str = "",
) -> np.ndarray:
    """Load ``utt`` as mono float32 at ``sample_rate``, cut to its segment when there is one.

    Errors name the entry, e.g. "data/train/wav.scp:12 (utt spk1_0003): ...";
    ``name_prefix`` is put in front of that label (e.g. "source set: ").
    """
    if utt not in data.utt2spk:
        raise DataError(f"{name_prefix}{data._where()}: unknown utterance '{utt}'")
    segment = None
    key = utt
    if data.segments is not None:
        segment = data.segments.get(utt)
        if segment is None:
            raise DataError(f"{name_prefix}{data._where('segments')}: no segment for utterance '{utt}'")
        key = segment.recording
    label = f"{name_prefix}{data._where('wav.scp', key)} (utt {utt})"
    if key not in data.wav_scp:
        what = "recording" if segment is not None else "utterance"
        raise DataError(f"{label}: {what} '{key}' is not in wav.scp")
    if segment is None:
        return _load_entry(data.wav_scp[key], label, sample_rate, min_samples, allow_pipes)
    wav = _load_entry(data.wav_scp[key], label, sample_rate, 1, allow_pipes)
    segment_label = f"{name_prefix}{data._where('segments', utt)} (utt {utt})"
    cut = _cut_segment(wav, sample_rate, segment, segment_label)
    check_signal(cut, segment_label, min_samples=min_samples)
    return cut


def validate_data_dir(path: str | Path, *, check_files: bool = True) -> list[Problem]:
    """Every problem in the data dir at ``path``, ordered by file and line; [] when it is fine.

    Checks each file's format, duplicates and C-locale sorting, that the files agree with
    each other, that segment times make sense, and (``check_files``) that audio files exist.
    """
    root = Path(path)
    if not root.is_dir():
        return [Problem(str(root), None, "not a directory")]
    tables = {name: _read_table(root, name) for name in _FORMATS}
    problems = [_missing_problem(root, name) for name in REQUIRED_FILES if tables[name] is None]
    for table in tables.values():
        if table is not None:
            problems += table.errors + table.notes
    wav, utt2spk, spk2utt, text, segs = (tables[name] for name in _FORMATS)
    if segs is not None:
        segments, segment_problems = _parse_segments(segs)
        problems += segment_problems + _segment_time_problems(segs, segments)
        if wav is not None:
            problems += [
                segs.problem(utt, f"recording '{seg.recording}' is not in wav.scp")
                for utt, seg in segments.items()
                if seg.recording not in wav.values
            ]
    if utt2spk is not None:
        problems += _coverage_problems(utt2spk, segs if segs is not None else wav)
        problems += _grouping_problems(utt2spk)
        if text is not None:
            problems += _not_in_utt2spk(text, utt2spk)
        if spk2utt is not None:
            problems += _spk2utt_problems(spk2utt, utt2spk)
    if check_files and wav is not None:
        problems += _missing_audio(wav)
    order = {name: i for i, name in enumerate(_FORMATS)}
    return sorted(problems, key=lambda p: (order.get(Path(p.file).name, -1), p.line or 0))


# --- reading -------------------------------------------------------------------------


def _missing_problem(root: Path, name: str) -> Problem:
    return Problem(str(root / name), None, "file not found (a data dir needs wav.scp and utt2spk)")


def _read_table(root: Path, name: str) -> _Table | None:
    """Parse one file, or None when it does not exist. Never raises for its content."""
    path = root / name
    table = _Table(str(path))
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        table.errors.append(Problem(table.file, None, f"cannot read ({e.strerror})"))
        return table
    if not data.strip():
        table.notes.append(Problem(table.file, None, "file is empty"))
        return table
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line
    fmt = _FORMATS[name]
    previous: str | None = None
    unsorted_seen = False
    for number, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            table.errors.append(Problem(table.file, number, "not valid UTF-8 text"))
            continue
        fields = line.split()
        if len(fields) < fmt.min_fields or (fmt.max_fields is not None and len(fields) > fmt.max_fields):
            table.errors.append(
                Problem(
                    table.file,
                    number,
                    f"malformed line: expected '{fmt.usage}', found {_count(len(fields), 'field')}",
                )
            )
            continue
        key = fields[0]
        if key in table.values:
            first = table.lines[key]
            table.errors.append(Problem(table.file, number, f"duplicate key '{key}' (first on line {first})"))
            continue
        if previous is not None and key < previous and not unsorted_seen:
            unsorted_seen = True  # only the first out-of-order line: one sort fixes them all
            table.notes.append(
                Problem(table.file, number, f"not sorted: '{key}' comes after '{previous}' (sort with LC_ALL=C sort)")
            )
        previous = key
        table.values[key] = line.strip()[len(key) :].strip()
        table.lines[key] = number
    return table


def _parse_segments(table: _Table) -> tuple[dict[str, Segment], list[Problem]]:
    segments: dict[str, Segment] = {}
    problems: list[Problem] = []
    for utt, value in table.values.items():
        recording, start_text, end_text = value.split()
        start, end = _parse_time(start_text), _parse_time(end_text)
        for name, text, parsed in (("start", start_text, start), ("end", end_text, end)):
            if parsed is None:
                problems.append(table.problem(utt, f"{name} time '{text}' is not a number"))
        if start is not None and end is not None:
            segments[utt] = Segment(recording, start, end)
    return segments, problems


def _parse_time(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- validation ----------------------------------------------------------------------


def _segment_time_problems(table: _Table, segments: dict[str, Segment]) -> list[Problem]:
    problems = []
    for utt, seg in segments.items():
        if seg.start < 0:
            problems.append(table.problem(utt, f"start time {_format_time(seg.start)} is negative"))
        if seg.end < 0 and seg.end != -1:
            problems.append(
                table.problem(
                    utt, f"end time {_format_time(seg.end)} is negative (only -1, meaning to the end, is allowed)"
                )
            )
        elif seg.end != -1 and seg.start >= seg.end:
            problems.append(
                table.problem(
                    utt, f"start time {_format_time(seg.start)} is not before end time {_format_time(seg.end)}"
                )
            )
    return problems


def _coverage_problems(utt2spk: _Table, audio: _Table | None) -> list[Problem]:
    """Every utterance needs audio (wav.scp, or segments when present) and vice versa."""
    if audio is None:
        return []
    audio_name = Path(audio.file).name
    problems = [
        utt2spk.problem(utt, f"utterance '{utt}' has no entry in {audio_name}")
        for utt in utt2spk.values
        if utt not in audio.values
    ]
    problems += _not_in_utt2spk(audio, utt2spk)
    return problems


def _not_in_utt2spk(table: _Table, utt2spk: _Table) -> list[Problem]:
    return [
        table.problem(utt, f"utterance '{utt}' is not in utt2spk") for utt in table.values if utt not in utt2spk.values
    ]


def _grouping_problems(utt2spk: _Table) -> list[Problem]:
    """Kaldi needs utt2spk sorted by utterance to also be sorted by speaker (spk2utt agrees)."""
    seen: set[str] = set()
    previous: str | None = None
    for utt in sorted(utt2spk.values):
        speaker = utt2spk.values[utt]
        if speaker == previous:
            continue
        if speaker in seen or (previous is not None and speaker < previous):
            return [
                utt2spk.problem(
                    utt,
                    f"utterances are not grouped by speaker: '{utt}' of speaker '{speaker}' sorts after "
                    f"utterances of speaker '{previous}' (make speaker ids prefixes of utterance ids)",
                )
            ]
        seen.add(speaker)
        previous = speaker
    return []


def _spk2utt_problems(spk2utt: _Table, utt2spk: _Table) -> list[Problem]:
    expected: dict[str, list[str]] = {}
    for utt, speaker in sorted(utt2spk.values.items()):
        expected.setdefault(speaker, []).append(utt)
    problems = []
    for speaker, rest in spk2utt.values.items():
        if speaker not in expected:
            problems.append(spk2utt.problem(speaker, f"speaker '{speaker}' is not in utt2spk"))
            continue
        listed = set(rest.split())
        for utt in rest.split():
            owner = utt2spk.values.get(utt)
            if owner is None:
                problems.append(spk2utt.problem(speaker, f"utterance '{utt}' is not in utt2spk"))
            elif owner != speaker:
                problems.append(
                    spk2utt.problem(
                        speaker, f"utterance '{utt}' is listed under speaker '{speaker}' but utt2spk gives '{owner}'"
                    )
                )
        unlisted = [utt for utt in expected[speaker] if utt not in listed]
        if unlisted:
            message = f"speaker '{speaker}' does not list {_quoted_list(unlisted)} from utt2spk"
            problems.append(spk2utt.problem(speaker, message))
    for speaker, utts in expected.items():
        if speaker not in spk2utt.values:
            problems.append(
                Problem(
                    spk2utt.file, None, f"speaker '{speaker}' is missing (utt2spk:{utt2spk.lines[utts[0]]} gives it)"
                )
            )
    return problems


def _missing_audio(wav: _Table) -> list[Problem]:
    """Paths that do not exist; relative ones resolve against the CWD, as in Kaldi. Pipes are skipped."""
    problems = []
    for key, value in wav.values.items():
        if _is_pipe(value):
            continue
        path = Path(value)
        if not path.exists():
            problems.append(wav.problem(key, f"audio file not found: {value}"))
        elif path.is_dir():
            problems.append(wav.problem(key, f"is a directory, not an audio file: {value}"))
    return problems


# --- audio ---------------------------------------------------------------------------


def _is_pipe(value: str) -> bool:
    return value.endswith("|")


def _load_entry(value: str, label: str, sample_rate: int, min_samples: int, allow_pipes: bool) -> np.ndarray:
    if _is_pipe(value):
        if not allow_pipes:
            raise DataError(
                f"{label}: is a command pipe ('{value}'); running commands from wav.scp needs --allow-pipes"
            )
        source: Path | io.BytesIO = io.BytesIO(_run_pipe(value[:-1].strip(), label))
    else:
        source = Path(value)
        if not source.exists():
            raise DataError(f"{label}: audio file not found: {value}")
    wav, _ = load_wav(source, sample_rate, min_samples=min_samples, name=label)
    return wav


def _run_pipe(command: str, label: str) -> bytes:
    """Run a wav.scp command through the shell, as Kaldi does, and return its stdout."""
    result = subprocess.run(command, shell=True, stdin=subprocess.DEVNULL, capture_output=True)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[0] if lines else "no error output"
        raise DataError(f"{label}: command failed with exit code {result.returncode}: {detail}")
    return result.stdout


def _cut_segment(wav: np.ndarray, sample_rate: int, seg: Segment, label: str) -> np.ndarray:
    duration = len(wav) / sample_rate
    end = duration if seg.end == -1 else seg.end
    span = f"segment [{_format_time(seg.start)}, {_format_time(seg.end)}] s"
    if seg.start < 0 or seg.start >= end or seg.start >= duration or end > duration + MAX_OVERSHOOT:
        raise DataError(f"{label}: {span} is out of range for recording '{seg.recording}' ({duration:.3f} s long)")
    first = int(round(seg.start * sample_rate))
    last = min(len(wav), int(round(end * sample_rate)))
    return np.ascontiguousarray(wav[first:last])


# --- writing and small helpers -------------------------------------------------------


def _key_value_lines(table: dict[str, str]) -> list[str]:
    return [f"{key} {value}".rstrip() for key, value in sorted(table.items())]


def _check_writable(root: Path, data: DataDir) -> None:
    """Keys with whitespace or values with line breaks would silently corrupt the files."""
    tables = {"wav.scp": data.wav_scp, "utt2spk": data.utt2spk, "text": data.text or {}}
    tables["segments"] = {utt: seg.recording for utt, seg in (data.segments or {}).items()}
    for name, table in tables.items():
        for key, value in table.items():
            if not _is_word(key):
                raise DataError(f"{root / name}: cannot write key {key!r}: it must be one word")
            if "\n" in value or "\r" in value:
                raise DataError(f"{root / name}: cannot write the value of '{key}': it contains a line break")
            if name in ("utt2spk", "segments") and not _is_word(value):
                raise DataError(f"{root / name}: cannot write {value!r} for '{key}': it must be one word")
            if name == "wav.scp" and not value.strip():
                raise DataError(f"{root / name}: cannot write an empty entry for '{key}'")


def _is_word(text: str) -> bool:
    return text.split() == [text]


def _format_time(seconds: float) -> str:
    """Shortest exact form: 1.5 -> "1.5", 3.0 -> "3", -1.0 -> "-1"."""
    text = repr(float(seconds))
    return text[:-2] if text.endswith(".0") else text


def _balanced_bounds(weights: list[int], n: int) -> list[int]:
    """Boundaries splitting ``weights`` into ``n`` non-empty runs with sums as equal as can be."""
    cumulative = [0, *itertools.accumulate(weights)]
    total = cumulative[-1]
    bounds = [0]
    for i in range(1, n):
        low, high = bounds[-1] + 1, len(weights) - (n - i)  # leave one unit for each later part
        target = total * i / n
        j = bisect.bisect_left(cumulative, target, low, high + 1)
        candidates = [c for c in (j - 1, j) if low <= c <= high]
        bounds.append(min(candidates, key=lambda c: abs(cumulative[c] - target)))
    bounds.append(len(weights))
    return bounds


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quoted_list(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def read_kaldi_map(path: str | Path) -> dict[str, str]:
    """A two-column Kaldi file (``<key> <rest of line>``: feats.scp, wav.scp, utt2spk...) as a dict.

    For files outside a data dir; a data dir itself is read and checked by :meth:`DataDir.read`.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise DataError(f"{path}:{n}: expected '<key> <value>', got {line!r}")
        if parts[0] in out:
            raise DataError(f"{path}:{n}: duplicate key {parts[0]!r}")
        out[parts[0]] = parts[1].strip()
    return out
