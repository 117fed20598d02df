"""Intelligibility: word and character error of an offline recogniser (pocketsphinx's bundled
en-us acoustic model, dictionary and trigram language model) against the data dir's text.

The absolute error of this small recogniser is high on any speech; the figure to read is a
converted system's error beside the same recogniser's error on the unconverted source.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from vc.evaluate.optional import require

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
