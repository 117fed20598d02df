"""Intelligibility: word and character error of an offline recogniser (pocketsphinx's bundled
en-us acoustic model, dictionary and trigram language model) against the data dir's text,
or against other transcripts: for a non-parallel corpus without text, the recogniser's own
reading of the source's copy synthesis (``vc evaluate transcribe``).

The absolute error of this small recogniser is high on any speech; the figure to read is a
converted system's error beside the same recogniser's error on the unconverted source.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from vc.errors import DataError
from vc.evaluate.optional import require
from vc.utils import atomic_write_text

SAMPLE_RATE = 16000


def normalize_text(text: str) -> str:
    """Lower case, words of letters, digits and apostrophes, single spaces: how both sides compare."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


@dataclass(frozen=True)
class Errors:
    word_edits: int
    words: int
    char_edits: int
    chars: int

    @property
    def wer(self) -> float:
        return self.word_edits / self.words

    @property
    def cer(self) -> float:
        return self.char_edits / self.chars


def error_counts(reference: str, hypothesis: str) -> Errors:
    """Levenshtein word and character edits of ``hypothesis`` against a non-empty ``reference``."""
    jiwer = require("jiwer")
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    if not ref:
        raise ValueError("empty reference transcript")
    words = jiwer.process_words(ref, hyp) if hyp else None
    chars = jiwer.process_characters(ref, hyp) if hyp else None
    n_words, n_chars = len(ref.split()), len(ref)
    word_edits = n_words if words is None else words.substitutions + words.deletions + words.insertions
    char_edits = n_chars if chars is None else chars.substitutions + chars.deletions + chars.insertions
    return Errors(word_edits, n_words, char_edits, n_chars)


class Recognizer:
    def __init__(self) -> None:
        pocketsphinx = require("pocketsphinx")
        require("jiwer")
        self._decoder = pocketsphinx.Decoder(samprate=SAMPLE_RATE, logfn=os.devnull)

    def transcribe(self, wav: np.ndarray) -> str:
        """Best hypothesis for a 16 kHz float waveform ("" when nothing is recognised)."""
        pcm = (np.clip(wav, -1.0, 1.0) * 32767).astype(np.int16)
        self._decoder.start_utt()
        self._decoder.process_raw(pcm.tobytes(), full_utt=True)
        self._decoder.end_utt()
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def read_transcripts(path: str | Path) -> dict[str, str]:
    """A Kaldi ``text`` file (``<utt> <words...>``); a line with the id alone is an empty
    transcript (the recogniser heard no word), which word error leaves unscored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read transcripts ({e})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        utt, _, words = line.strip().partition(" ")
        if utt in out:
            raise DataError(f"{path}:{n}: utterance {utt!r} listed twice")
        out[utt] = words.strip()
    if not out:
        raise DataError(f"{path}: no transcripts")
    return out


def transcribe_scp(wav_scp: dict[str, str], out: str | Path, progress: Callable[[str], None] = lambda _: None) -> int:
    """The recogniser's reading of every wav of ``wav_scp`` (utt -> path) as a Kaldi ``text``
    file at ``out``, written atomically; returns how many read as no word at all."""
    from vc.audio.io import load_wav

    recognizer = Recognizer()
    lines, empty = [], 0
    for k, (utt, wav_path) in enumerate(sorted(wav_scp.items()), 1):
        hyp = normalize_text(recognizer.transcribe(load_wav(wav_path, SAMPLE_RATE, name=f"{utt} ({wav_path})")[0]))
        empty += not hyp
        lines.append(f"{utt} {hyp}".rstrip())
        progress(f"{k}/{len(wav_scp)} {utt}: {hyp}")
    atomic_write_text(Path(out), "\n".join(lines) + "\n")
    return empty
