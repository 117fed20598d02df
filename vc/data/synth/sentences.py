"""Where the corpus's sentences come from: the seeded grammar or a user's text file."""

from __future__ import annotations

import random
from pathlib import Path

from vc.data.synth.grammar import generate_sentences
from vc.errors import VCError


def corpus_sentences(count: int, seed: int, text_file: str | Path | None = None, *, need: str = "") -> list[str]:
    """``count`` distinct sentences for ``seed``: from the grammar, or drawn from ``text_file``.

    ``need`` explains the count in the error raised when the file holds too few.
    """
    if text_file is None:
        return generate_sentences(count, seed)
    pool = read_text_file(text_file)
    if len(pool) < count:
        raise VCError(
            f"{text_file}: only {len(pool)} distinct sentences, but {need or count} "
            f"need {count}; add sentences or ask for fewer utterances"
        )
    # A seeded shuffle, so different seeds give speakers different sentences from one file.
    random.Random(seed).shuffle(pool)
    return pool[:count]


def read_text_file(path: str | Path) -> list[str]:
    """One sentence per line; blank lines are skipped, whitespace collapsed, repeats dropped."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VCError(f"{path}: text file not found") from None
    except UnicodeDecodeError:
        raise VCError(f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise VCError(f"{path}: cannot read text file ({e.strerror})") from None
    lines = (" ".join(line.split()) for line in raw.splitlines())
    return list(dict.fromkeys(line for line in lines if line))
