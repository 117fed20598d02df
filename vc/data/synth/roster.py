"""The speakers a synthetic corpus draws from, in order: the canonical voices
(:mod:`vc.data.synth.voices`), then the generated ones (:mod:`vc.data.synth.generated`).
Its own module, so that neither of those two imports the other both ways."""

from __future__ import annotations

from typing import Sequence

from vc.data.synth.generated import generated_speakers
from vc.data.synth.voices import SPEAKERS, Speaker
from vc.errors import VCError

DEFAULT_NUM_SPEAKERS = 4


def all_speakers() -> tuple[Speaker, ...]:
    """Every available speaker in order: the canonical ones, then the generated ones."""
    return SPEAKERS + generated_speakers()


def select_speakers(num_speakers: int | None = None, voices: Sequence[str] | None = None) -> list[Speaker]:
    """The first ``num_speakers`` speakers of ``all_speakers()``, or those named in ``voices``, in that order.

    Up to 14 that is the canonical list; more adds generated speakers after it.
    """
    if num_speakers is not None and voices is not None:
        raise VCError("give either a number of speakers or a list of voices, not both")
    if voices is not None:
        return _by_id(voices)
    n = DEFAULT_NUM_SPEAKERS if num_speakers is None else num_speakers
    available = all_speakers()
    if not 1 <= n <= len(available):
        raise VCError(
            f"number of speakers must be between 1 and {len(available)} (the {len(SPEAKERS)} canonical "
            f"voices and {len(available) - len(SPEAKERS)} generated ones), got {n}"
        )
    return list(available[:n])


def _by_id(voices: Sequence[str]) -> list[Speaker]:
    known = {speaker.id: speaker for speaker in all_speakers()}
    if not voices:
        raise VCError("the list of voices is empty")
    unknown = [v for v in voices if v not in known]
    if unknown:
        canonical = ", ".join(s.id for s in SPEAKERS)
        raise VCError(
            f"unknown voice '{unknown[0]}' (known voices: {canonical}, and {len(known) - len(SPEAKERS)} "
            "generated ones that 'vc corpus voices' lists)"
        )
    duplicates = sorted({v for v in voices if list(voices).count(v) > 1})
    if duplicates:
        raise VCError(f"voice '{duplicates[0]}' is listed more than once")
    return [known[v] for v in voices]
