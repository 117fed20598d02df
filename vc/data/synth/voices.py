"""The synthetic speakers: 14 canonical named voices, then generated ones, and how to pick some.

The canonical list never changes (recipes and tests name its speakers). After it come the
generated speakers of ``vc.data.synth.generated``: espeak-ng accent x variant x pitch x
speed, and flite/festival voices made into new speakers by WORLD resynthesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


Engine = Literal["espeak", "flite", "festival"]


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: a synthesizer voice, plus pitch/speed/amplitude for espeak-ng
    variants, or an F0 scale and envelope warp applied by WORLD resynthesis (a derived voice)."""

    id: str
    engine: Engine
    voice: str
    gender: Literal["female", "male"]
    pitch: int | None = None  # espeak-ng -p: 0..99, default 50
    speed: int | None = None  # espeak-ng -s: words per minute, default 175
    amplitude: int | None = None  # espeak-ng -a: 0..200, default 100
    f0_scale: float | None = None  # WORLD resynthesis: F0 multiplied by this
    warp_alpha: float | None = None  # WORLD resynthesis: all-pass warp of the envelope

    def __post_init__(self) -> None:
        if self.engine != "espeak" and (self.pitch, self.speed, self.amplitude) != (None, None, None):
            raise ValueError(f"speaker {self.id}: pitch, speed and amplitude are espeak-ng options")

    @property
    def prosody(self) -> dict[str, int] | None:
        if self.pitch is None and self.speed is None and self.amplitude is None:
            return None
        values = (("pitch", self.pitch), ("speed", self.speed), ("amplitude", self.amplitude))
        return {k: v for k, v in values if v is not None}

    @property
    def perturbed(self) -> bool:
        """Whether WORLD resynthesis makes this speaker out of its synthesizer voice."""
        return self.f0_scale is not None or self.warp_alpha is not None

    @property
    def world(self) -> dict[str, float] | None:
        if not self.perturbed:
            return None
        return {"f0_scale": self.f0_scale or 1.0, "warp_alpha": self.warp_alpha or 0.0}

    def describe(self) -> dict[str, Any]:
        """What corpus.yaml records about this speaker: its whole recipe."""
        return {
            "id": self.id,
            "engine": self.engine,
            "voice": self.voice,
            "gender": self.gender,
            "prosody": self.prosody,
            "world": self.world,
        }


# The first four alternate engine and gender and are all quick to synthesize, so a
# 4-speaker demo gets four clearly different voices. fest_slt and flite_slt are built from
# the same recorded speaker (CMU ARCTIC slt), so they are kept apart in the order.
# No id is a prefix of another, which keeps utterance ids (<spk>_NNNN) in the same C
# sort order as their speakers, as Kaldi requires.
SPEAKERS: tuple[Speaker, ...] = (
    Speaker("flite_awb", "flite", "awb", "male"),
    Speaker("espeak_f1", "espeak", "en-us+f2", "female", pitch=60, speed=160),
    Speaker("fest_kal", "festival", "kal_diphone", "male"),
    Speaker("flite_slt", "flite", "slt", "female"),
    Speaker("espeak_m1", "espeak", "en-gb+m3", "male", pitch=35, speed=165),
    Speaker("fest_slt", "festival", "cmu_us_slt_arctic_hts", "female"),
    Speaker("flite_rms", "flite", "rms", "male"),
    Speaker("espeak_f2", "espeak", "en-us+f4", "female", pitch=80, speed=150),
    Speaker("fest_ked", "festival", "ked_diphone", "male"),
    Speaker("espeak_f3", "espeak", "en-gb-x-rp+f3", "female", pitch=35, speed=180),
    Speaker("flite_kal16", "flite", "kal16", "male"),
    Speaker("espeak_m2", "espeak", "en-us+m7", "male", pitch=15, speed=150),
    Speaker("espeak_f4", "espeak", "en-us+f5", "female", pitch=50, speed=190),
    Speaker("espeak_m3", "espeak", "en-gb-scotland+m1", "male", pitch=70, speed=185),
)
