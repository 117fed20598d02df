"""Driving the Debian synthesizers (espeak-ng, flite, festival) and checking they are installed.

Each engine writes one raw wav per (text, path) item at its own native rate: espeak-ng
22.05 kHz, flite 16 kHz, festival 16 kHz (diphone voices) or 32 kHz (the HTS voice).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

from vc.data.synth.voices import Engine, Speaker
from vc.errors import VCError

PROGRAMS: dict[Engine, str] = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
# The Debian package that provides each voice, for the message when one is missing.
VOICE_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}
_ENGINE_VOICE_PACKAGE: dict[Engine, str] = {"espeak": "espeak-ng-data", "flite": "flite", "festival": "festival"}

# Seconds one espeak-ng/flite call, or festival per sentence, may take before it counts as hung.
_CALL_TIMEOUT = 60
_FESTIVAL_PER_SENTENCE = 10

Item = tuple[str, Path]  # (text, raw wav to write)


def check_available(speakers: Sequence[Speaker]) -> None:
    """Raise VCError naming the first missing synthesizer or voice and the package to install."""
    for engine in _engines(speakers):
        if shutil.which(PROGRAMS[engine]) is None:
            program = PROGRAMS[engine]
            raise VCError(
                f"synthesizer '{program}' not found (needed for {_speaker_list(speakers, engine)}): "
                f"install it with 'apt-get install {program}'"
            )
    for engine in _engines(speakers):
        installed = _installed_voices(engine)
        for speaker in speakers:
            if speaker.engine == engine and not _voice_installed(speaker, installed):
                package = VOICE_PACKAGES.get(speaker.voice, _ENGINE_VOICE_PACKAGE[engine])
                raise VCError(
                    f"{PROGRAMS[engine]} voice '{speaker.voice}' not installed (needed for speaker "
                    f"{speaker.id}): install it with 'apt-get install {package}'"
                )


def engine_version(engine: Engine) -> str:
    """The synthesizer's version number, recorded in corpus.yaml because audio depends on it."""
    # flite prints its version and exits with status 1, so the status is not checked.
    try:
        done = subprocess.run([_program(engine), "--version"], capture_output=True, text=True, timeout=_CALL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    found = re.search(r"\d+\.\d+(\.\d+)?", done.stdout + done.stderr)
    return found.group(0) if found else "unknown"


def synthesize(speaker: Speaker, items: Sequence[Item]) -> None:
    """Write each item's text, spoken by ``speaker``, to its raw wav path."""
    if speaker.engine == "festival":
        _festival(speaker, items)
        return
    for text, path in items:
        what = f"{PROGRAMS[speaker.engine]} (speaker {speaker.id}, file {path.name})"
        if speaker.engine == "espeak":
            # Text on stdin: a sentence starting with '-' is not taken for an option.
            _run(_espeak_command(speaker, path), what, stdin=text)
        else:
            _run([_program("flite"), "-voice", speaker.voice, "-t", text, "-o", str(path)], what)
        _check_written(path, what)


def _espeak_command(speaker: Speaker, path: Path) -> list[str]:
    command = [_program("espeak"), "-v", speaker.voice]
    if speaker.pitch is not None:
        command += ["-p", str(speaker.pitch)]
    if speaker.speed is not None:
        command += ["-s", str(speaker.speed)]
    if speaker.amplitude is not None:
        command += ["-a", str(speaker.amplitude)]
    return command + ["-w", str(path), "--stdin"]


def _festival(speaker: Speaker, items: Sequence[Item]) -> None:
    """One festival process per speaker: loading a voice costs more than a sentence does."""
    if not items:
        return
    lines = [f"({_festival_voice_function(speaker.voice)})"]
    for text, path in items:
        lines.append(f"(set! utt (Utterance Text {_scheme_string(text)}))")
        lines.append("(utt.synth utt)")
        lines.append(f"(utt.save.wave utt {_scheme_string(str(path))} 'riff)")
    script = items[0][1].parent / f"{speaker.id}.scm"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    what = f"festival (speaker {speaker.id})"
    _run([_program("festival"), "-b", str(script)], what, timeout=_CALL_TIMEOUT + _FESTIVAL_PER_SENTENCE * len(items))
    for _, path in items:
        _check_written(path, what)


def _festival_voice_function(voice: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_]+", voice):
        raise VCError(f"festival voice name '{voice}' is not a plain identifier")
    return f"voice_{voice}"


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _installed_voices(engine: Engine) -> set[str]:
    """Voice names the engine reports; for espeak-ng both languages and '+variant' names."""
    if engine == "flite":
        out = _run([_program("flite"), "-lv"], "flite -lv")
        return set(out.split(":", 1)[-1].split())
    if engine == "festival":
        out = _run([_program("festival"), "-b", "(print (voice.list))"], "festival voice list")
        return set(out.replace("(", " ").replace(")", " ").split())
    languages = _espeak_column(_run([_program("espeak"), "--voices"], "espeak-ng --voices"), 1)
    variants = _espeak_column(_run([_program("espeak"), "--voices=variant"], "espeak-ng --voices=variant"), 4)
    return languages | {"+" + v.rsplit("/", 1)[-1] for v in variants}


def _espeak_column(listing: str, column: int) -> set[str]:
    rows = [line.split() for line in listing.splitlines()[1:]]
    return {row[column] for row in rows if len(row) > column}


def _voice_installed(speaker: Speaker, installed: set[str]) -> bool:
    if speaker.engine != "espeak":
        return speaker.voice in installed
    language, _, variant = speaker.voice.partition("+")
    return language in installed and (not variant or "+" + variant in installed)


def _run(command: list[str], what: str, *, stdin: str | None = None, timeout: float = _CALL_TIMEOUT) -> str:
    """Run a synthesizer; a failure becomes one VCError line with the last line it printed."""
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise VCError(f"{what}: did not finish within {timeout:.0f} s") from None
    except OSError as e:
        raise VCError(f"{what}: cannot run {command[0]} ({e.strerror})") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise VCError(f"{what}: failed with exit status {done.returncode}" + (f": {said[-1]}" if said else ""))
    return done.stdout


def _check_written(path: Path, what: str) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        raise VCError(f"{what}: wrote no audio to {path}")


def _program(engine: Engine) -> str:
    path = shutil.which(PROGRAMS[engine])
    if path is None:
        program = PROGRAMS[engine]
        raise VCError(f"synthesizer '{program}' not found: install it with 'apt-get install {program}'")
    return path


def _engines(speakers: Iterable[Speaker]) -> list[Engine]:
    """Engines in first-use order, each once."""
    return list(dict.fromkeys(speaker.engine for speaker in speakers))


def _speaker_list(speakers: Sequence[Speaker], engine: Engine) -> str:
    ids = [speaker.id for speaker in speakers if speaker.engine == engine]
    return ("speaker " if len(ids) == 1 else "speakers ") + ", ".join(ids)
