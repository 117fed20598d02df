"""Decode the packaged recordings to 16 kHz wavs, drop those with too little speech, write the tables.

Written under DB_ROOT (each table sorted by utterance, tab-separated with a header line)::

    wav/<spk>/<utt>.wav  16 kHz mono 16-bit PCM, as recorded (not trimmed or normalised)
    recordings.tsv       utt spk language path seconds   (path relative to DB_ROOT)
    text                 utt line   (Kaldi style, no header: the fillets lines only; the
                         Asterisk prompts ship no transcript and none is guessed)
    dropped.tsv          utt spk reason speech_seconds source
    spk2gender           spk m|f

A rerun decodes only what is neither in wav/ nor in dropped.tsv, and keeps the other
speakers' rows of an earlier run, so speakers can be added one at a time.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

from vc.audio.io import resample, save_wav
from vc.data.realvoices.fetch import fetch_packages
from vc.data.realvoices.speakers import Recording, Speaker, list_recordings, select_speakers
from vc.errors import AudioError, DataError, VCError
from vc.utils import atomic_write_text

SAMPLE_RATE = 16000
# A prompt with less speech than this teaches little and cannot be scored (single digits, letters).
MIN_SPEECH_S = 1.0
# Speech frames: within SPEECH_RANGE_DB of the loudest frame and above SILENCE_DBFS (so the faint
# noise of a silence prompt never counts, however loud it is relative to itself).
SPEECH_RANGE_DB = 35.0
SILENCE_DBFS = -50.0
_FRAME_S, _HOP_S = 0.025, 0.010
# Why a recording is dropped, and how the summary says it.
DROP_REASONS = {"empty": "empty", "silent": "silent", "short": f"with under {MIN_SPEECH_S:g} s of speech"}
_MANIFEST, _DROPPED, _TEXT, _GENDERS = "recordings.tsv", "dropped.tsv", "text", "spk2gender"
_MANIFEST_HEADER = ("utt", "spk", "language", "path", "seconds")
_DROPPED_HEADER = ("utt", "spk", "reason", "speech_seconds", "source")


@dataclass(frozen=True)
class Outcome:
    recording: Recording
    seconds: float  # of the whole wav when kept; of its speech when dropped
    dropped: str = ""  # why: one of DROP_REASONS
    decoded: bool = True  # False: taken from an earlier run


@dataclass
class SpeakerCount:
    kept: int = 0
    seconds: float = 0.0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))


@dataclass(frozen=True)
class RealVoicesSummary:
    db_root: Path
    counts: dict[str, SpeakerCount]
    decoded: int
    reused: int
    fetched: tuple[str, ...]
    elapsed_s: float

    def __str__(self) -> str:
        lines = [f"fetched and unpacked: {', '.join(self.fetched)}"] if self.fetched else []
        for spk, c in self.counts.items():
            why = ", ".join(f"{n} {DROP_REASONS[reason]}" for reason, n in c.dropped.items() if n)
            dropped = sum(c.dropped.values())
            line = f"{spk}: {c.kept} kept, {c.seconds / 3600:.2f} h; {dropped} dropped"
            lines.append(f"{line} ({why})" if why else line)
        kept = sum(c.kept for c in self.counts.values())
        hours = sum(c.seconds for c in self.counts.values()) / 3600
        dropped = sum(sum(c.dropped.values()) for c in self.counts.values())
        lines.append(
            f"{self.db_root}: {kept} recordings kept ({hours:.2f} h), {dropped} dropped; "
            f"{self.decoded} decoded, {self.reused} from an earlier run, in {self.elapsed_s:.0f} s"
        )
        return "\n".join(lines)


def build_realvoices(
    db_root: str | Path, speakers: Sequence[str] | None = None, *, fetch: bool = False, nj: int = 2
) -> RealVoicesSummary:
    """Fetch (optionally), decode and list the recordings of ``speakers`` (default: all) under ``db_root``."""
    if nj < 1:
        raise VCError(f"--nj must be at least 1, got {nj}")
    start = time.perf_counter()
    chosen = select_speakers(speakers)
    db_root = Path(db_root).resolve()
    fetched = fetch_packages(_packages(chosen), db_root) if fetch else []
    if not db_root.is_dir():
        raise DataError(f"{db_root} not found: run with --fetch, or pass the --db-root holding the unpacked packages")
    recordings = [r for speaker in chosen for r in list_recordings(speaker, db_root)]
    earlier = {row[0]: row for row in _read_table(db_root / _DROPPED, _DROPPED_HEADER)}
    todo = [r for r in recordings if not (_wav_path(db_root, r).exists() or r.utt in earlier)]
    ffmpeg = find_ffmpeg() if any(r.source.suffix == ".g722" for r in todo) else ""
    with ThreadPoolExecutor(max_workers=nj) as pool:
        outcomes = list(pool.map(lambda r: _prepare(r, db_root, earlier, ffmpeg), recordings))
    _write_tables(db_root, chosen, outcomes)
    return RealVoicesSummary(
        db_root, _count(chosen, outcomes), len(todo), len(recordings) - len(todo), tuple(fetched),
        time.perf_counter() - start,
    )


def find_ffmpeg() -> str:
    """A system ffmpeg, else the static one of the imageio-ffmpeg package (the `realvoices` extra)."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError:
        raise VCError(
            "ffmpeg not found, needed to decode the G.722 prompts: pip install -e '.[realvoices]' "
            "(a static ffmpeg) or apt-get install ffmpeg"
        ) from None
    return imageio_ffmpeg.get_ffmpeg_exe()


def speech_seconds(wav: np.ndarray, sample_rate: int) -> float:
    """How long ``wav`` holds speech, by frame energy (see SPEECH_RANGE_DB and SILENCE_DBFS)."""
    frame, hop = int(_FRAME_S * sample_rate), int(_HOP_S * sample_rate)
    if wav.size < frame:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(wav, frame)[::hop]
    db = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    threshold = max(float(db.max()) - SPEECH_RANGE_DB, SILENCE_DBFS)
    return float(np.count_nonzero(db > threshold)) * hop / sample_rate


def _prepare(rec: Recording, db_root: Path, earlier: dict[str, tuple[str, ...]], ffmpeg: str) -> Outcome:
    wav_path = _wav_path(db_root, rec)
    if wav_path.exists():
        return Outcome(rec, sf.info(str(wav_path)).duration, decoded=False)
    if rec.utt in earlier:
        _, _, reason, speech, _ = earlier[rec.utt]
        return Outcome(rec, float(speech), reason, decoded=False)
    wav = _decode(rec.source, ffmpeg)
    if wav.size == 0:
        return Outcome(rec, 0.0, "empty")
    speech = speech_seconds(wav, SAMPLE_RATE)
    if speech == 0.0:
        return Outcome(rec, speech, "silent")
    if speech < MIN_SPEECH_S:
        return Outcome(rec, speech, "short")
    save_wav(wav_path, wav, SAMPLE_RATE)
    return Outcome(rec, wav.size / SAMPLE_RATE)


def _decode(source: Path, ffmpeg: str) -> np.ndarray:
    """Mono float32 at SAMPLE_RATE: G.722 through ffmpeg, anything else through libsndfile."""
    if source.suffix == ".g722":
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "g722", "-i", str(source),
               "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"]
        done = subprocess.run(cmd, capture_output=True, timeout=120)
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {done.returncode}"]
            raise AudioError(f"{source}: ffmpeg cannot decode it as G.722 ({reason[-1]})")
        return np.frombuffer(done.stdout, dtype="<i2").astype(np.float32) / 32768.0
    try:
        wav, sr = sf.read(str(source), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"{source}: not a readable audio file ({e})") from None
    return resample(wav.mean(axis=1), sr, SAMPLE_RATE) if sr != SAMPLE_RATE else wav.mean(axis=1)


def _wav_path(db_root: Path, rec: Recording) -> Path:
    return db_root / "wav" / rec.speaker.id / f"{rec.utt}.wav"


def _packages(speakers: Sequence[Speaker]) -> list[str]:
    return list(dict.fromkeys(p for s in speakers for p in s.packages))


def _count(speakers: Sequence[Speaker], outcomes: Sequence[Outcome]) -> dict[str, SpeakerCount]:
    counts = {s.id: SpeakerCount() for s in speakers}
    for o in outcomes:
        c = counts[o.recording.speaker.id]
        if o.dropped:
            c.dropped[o.dropped] += 1
        else:
            c.kept += 1
            c.seconds += o.seconds
    return counts


def _write_tables(db_root: Path, speakers: Sequence[Speaker], outcomes: Sequence[Outcome]) -> None:
    """The tables of ``outcomes``, plus the rows of other speakers from an earlier run."""
    redone = {s.id for s in speakers}
    manifest = [r for r in _read_table(db_root / _MANIFEST, _MANIFEST_HEADER) if r[1] not in redone]
    dropped = [r for r in _read_table(db_root / _DROPPED, _DROPPED_HEADER) if r[1] not in redone]
    kept_before = {r[0] for r in manifest}
    text = [line for line in _read_lines(db_root / _TEXT) if line.split(" ", 1)[0] in kept_before]
    genders = {spk: g for spk, g in (line.split() for line in _read_lines(db_root / _GENDERS)) if spk not in redone}
    genders.update({s.id: s.gender for s in speakers})
    for o in outcomes:
        rec = o.recording
        if o.dropped:
            source = rec.source.relative_to(db_root)
            dropped.append((rec.utt, rec.speaker.id, o.dropped, f"{o.seconds:.2f}", str(source)))
            continue
        path = _wav_path(db_root, rec).relative_to(db_root)
        manifest.append((rec.utt, rec.speaker.id, rec.language, str(path), f"{o.seconds:.3f}"))
        if rec.text:
            text.append(f"{rec.utt} {rec.text}")
    _write_table(db_root / _MANIFEST, _MANIFEST_HEADER, manifest)
    _write_table(db_root / _DROPPED, _DROPPED_HEADER, dropped)
    _write_lines(db_root / _TEXT, sorted(text))
    _write_lines(db_root / _GENDERS, [f"{spk} {g}" for spk, g in sorted(genders.items())])


def _write_table(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    _write_lines(path, ["\t".join(header)] + ["\t".join(row) for row in sorted(rows)])


def _write_lines(path: Path, lines: list[str]) -> None:
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def _read_table(path: Path, header: tuple[str, ...]) -> list[tuple[str, ...]]:
    lines = _read_lines(path)
    if lines and tuple(lines[0].split("\t")) != header:
        raise DataError(f"{path}: not a table this version writes (header {lines[0]!r}): remove it and rerun")
    return [tuple(line.split("\t")) for line in lines[1:]]


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
