"""Transcripts as phone sequences: espeak-ng's offline phonemizer and the ``phones`` file.

``vc phonemize`` writes ``<data dir>/phones`` beside ``text``, one utterance a line in
Kaldi's key-value form (``<utt> <phone> <phone> ...``); ``vc extract`` copies it into the
feature dump, where the phone recogniser (:mod:`vc.models.phone_recognizer`) trains on it.

Phones are espeak-ng's ASCII (Kirshenbaum) symbols (``espeak-ng -q -x --sep=_``) without
stress marks: ``"the quick fox"`` -> ``D @ k w I k f 0 k s``. A word boundary is not a phone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from vc.data.datadir import read_kaldi_map
from vc.errors import DataError, VCError
from vc.utils import atomic_write_text

PHONES = "phones"
# CTC's blank is class 0, so phone i of a recogniser's inventory is class i + 1.
BLANK = 0


def phone_classes(inventory: Sequence[str]) -> dict[str, int]:
    """Each phone of ``inventory`` to its class id (from 1: class 0 is CTC's blank)."""
    return {phone: i + BLANK + 1 for i, phone in enumerate(inventory)}
# Stress and syllable marks of espeak-ng's -x output: prosody, not phones.
_MARKS = re.compile(r"[',%=]")
# Pauses and clause marks espeak-ng writes between phones.
_PAUSE = re.compile(r"[:!|]+")
_PUNCTUATION = re.compile(r"[^\w\s'$%&@+-]")
# espeak-ng reads text line by line; one process for many lines is far cheaper than one each.
_TIMEOUT_PER_LINE = 2.0


def phonemize(texts: Sequence[str], language: str = "en-us") -> list[list[str]]:
    """Each text's phone sequence, by one espeak-ng process for all of them."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise VCError("espeak-ng not found (it phonemizes transcripts): install it with 'apt-get install espeak-ng'")
    # One line in, one line out: espeak-ng ends an output line at every clause (punctuation
    # or newline), so punctuation goes; a text that still spans lines is redone alone.
    lines = [" ".join(_PUNCTUATION.sub(" ", text).split()) for text in texts]
    try:
        done = subprocess.run([program, "-q", "-x", "--sep=_", "-v", language], input="\n".join(lines) + "\n",
                              capture_output=True, text=True, timeout=10 + _TIMEOUT_PER_LINE * len(lines))
    except subprocess.TimeoutExpired:
        raise VCError(f"espeak-ng did not finish phonemizing {len(lines)} transcripts") from None
    if done.returncode != 0 or "Unknown" in done.stderr or "not found" in done.stderr:
        said = (done.stderr.strip() or "no message").splitlines()[-1]
        raise VCError(f"espeak-ng -v {language}: failed ({said})")
    out = done.stdout.splitlines()
    if len(out) == len(lines):
        return [_tokens(line) for line in out]
    if len(lines) == 1:
        return [_tokens(" ".join(out))]
    return [phones for text in texts for phones in phonemize([text], language)]


def _tokens(line: str) -> list[str]:
    return [phone for word in _MARKS.sub("", line).split() for phone in word.split("_")
            if phone and not _PAUSE.fullmatch(phone)]


def write_phones(path: str | Path, phones: dict[str, list[str]]) -> None:
    atomic_write_text(path, "".join(f"{utt} {' '.join(seq)}\n" for utt, seq in sorted(phones.items())))


def read_phones(path: str | Path) -> dict[str, list[str]]:
    """utt -> phones of a ``phones`` file; an utterance without phones is a DataError naming it."""
    table = read_kaldi_map(path)
    phones = {utt: value.split() for utt, value in table.items()}
    empty = [utt for utt, seq in phones.items() if not seq]
    if empty:
        raise DataError(f"{path}: utterance {empty[0]!r} has no phones")
    return phones


def phonemize_data_dir(data_dir: str | Path, language: str = "en-us") -> Path:
    """Write ``<data_dir>/phones`` from its ``text``; returns the path written."""
    root = Path(data_dir)
    text_path = root / "text"
    if not text_path.is_file():
        raise DataError(f"{text_path}: not found (phonemizing needs the transcripts)")
    text = read_kaldi_map(text_path)
    if not text:
        raise DataError(f"{text_path}: no transcripts")
    utts = sorted(text)
    sequences = phonemize([text[utt] for utt in utts], language)
    empty = [utt for utt, seq in zip(utts, sequences) if not seq]
    if empty:
        raise DataError(f"{text_path}: utterance {empty[0]!r}: espeak-ng found no phones in {text[empty[0]]!r}")
    out = root / PHONES
    write_phones(out, dict(zip(utts, sequences)))
    return out


def phone_inventory(phones: dict[str, list[str]]) -> list[str]:
    """Every phone used, sorted: the recogniser's output classes (after CTC's blank)."""
    return sorted({phone for seq in phones.values() for phone in seq})
