"""Generated speakers: hundreds of distinct voices after the 14 canonical ones.

Two families, both drawn from fixed tables with a fixed seed, so a generated id always
means the same recipe (on every machine, for every corpus seed):

- ``es_<accent>_<variant>_p<pitch>_s<speed>``: an espeak-ng English accent with a voice
  variant (its own formant scaling and pitch range), pitch level and speed, e.g.
  ``es_rp_klatt3_p35_s170``. Every (variant, pitch level) cell is used once, so no two
  generated espeak-ng speakers share both timbre and pitch; accent and speed are drawn.
  Cells next to a canonical espeak-ng speaker (same variant, pitch within 10) are left out.
- ``wd_<base>_f<F0 scale x 100>_w<m|p><alpha x 1000>``: a flite or festival voice (``base``
  is its canonical id) resynthesized by WORLD with its F0 scaled and its spectral envelope
  warped (``vc.data.synth.perturb``), e.g. ``wd_flite_awb_f080_wp050`` (F0 x 0.8, formants
  up by alpha 0.050); ``w000`` is no warp. Each (base, F0 scale, alpha) cell on a 5 x 5 grid
  but the unchanged voice is one speaker, taken farthest-first.

The order interleaves espeak-ng and WORLD-derived voices and alternates female and male (the
first 130 generated are half female, half WORLD-derived; then the female espeak-ng cells are
used up and most of the rest are male), and each family covers all its variants (or bases)
before it repeats one, so the first few dozen generated speakers already spread over the space.

Ids are lowercase [a-z0-9_]; all ids of a family have the same number of fields, and the
family prefixes ``es_`` and ``wd_`` are no canonical id's prefix, so no id is a prefix of
another and utterance ids ``<spk>_NNNN`` sort like their speakers (Kaldi).
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Literal

from vc.data.synth.voices import SPEAKERS, Speaker

Gender = Literal["female", "male"]

# The seed of the generated list. Changing it (or a table below) changes what every
# generated id after the change means: don't, unless old corpora may be rebuilt.
VOICE_SEED = 16

# espeak-ng's English accents (Debian's espeak-ng-data, language voices in gmw/), id code first.
# Not en-gb: "en-gb+<variant>" ignores the variant (it always sounds like plain en-gb).
ESPEAK_ACCENTS: tuple[tuple[str, str], ...] = (
    ("us", "en-us"),
    ("sco", "en-gb-scotland"),
    ("rp", "en-gb-x-rp"),
    ("lan", "en-gb-x-gbclan"),
    ("wmd", "en-gb-x-gbcwmd"),
    ("car", "en-029"),
    ("nyc", "en-us-nyc"),
)
# espeak-ng variants (files in espeak-ng-data/voices/!v; the name is case-sensitive). Chosen
# from the installed ones by speaker embedding (resemblyzer): each is below cosine 0.93 to the
# others at the same pitch (m1-m8, f1-f5 and klatt-klatt4 kept regardless); left out: robotic,
# whispered, creaky or clipping ones, and exact copies (klatt6, caleb, adam = klatt).
ESPEAK_VARIANTS: tuple[tuple[str, Gender], ...] = (
    ("m1", "male"), ("m2", "male"), ("m3", "male"), ("m4", "male"), ("m5", "male"), ("m6", "male"),
    ("m7", "male"), ("m8", "male"), ("klatt", "male"), ("klatt2", "male"), ("klatt3", "male"),
    ("klatt4", "male"), ("Andy", "male"), ("Gene", "male"), ("Hugo", "male"), ("Lee", "male"),
    ("Michael", "male"), ("Mike", "male"), ("boris", "male"), ("edward", "male"), ("iven", "male"),
    ("john", "male"), ("max", "male"), ("norbert", "male"), ("paul", "male"), ("quincy", "male"),
    ("travis", "male"), ("victor", "male"),
    ("f1", "female"), ("f2", "female"), ("f3", "female"), ("f4", "female"), ("f5", "female"),
    ("Alicia", "female"), ("Annie", "female"), ("belinda", "female"), ("grandma", "female"),
    ("linda", "female"), ("shelby", "female"), ("steph", "female"),
)  # fmt: skip
# espeak-ng -p levels, about 2.5-3.5 semitones apart: median F0 about 75/90/110/130 Hz for
# m3 and 155/185/220/260 Hz for f2 (female levels start higher: -p 15 puts f1 at 128 Hz).
ESPEAK_PITCHES: dict[Gender, tuple[int, ...]] = {"male": (15, 35, 55, 75), "female": (35, 50, 65, 80)}
# A generated cell this close in pitch to a canonical speaker with the same variant is skipped.
_CANONICAL_PITCH_MARGIN = 10
ESPEAK_SPEEDS = (140, 150, 160, 170, 180, 190)
# Generated espeak-ng voices are synthesized at this amplitude (-a; 100 is the default),
# which keeps the loudest variants from clipping before loudness normalisation.
ESPEAK_AMPLITUDE = 60

# The WORLD-derived family: canonical flite/festival voices on a 5 x 5 grid of F0 scale
# (about 2 semitones apart) and warp alpha (0.025 moves low formants by about 5%).
# Base voices (canonical ids) and the recorded person behind each. Not flite_kal16: it is
# the same diphone speaker as fest_kal (speaker cosine 0.96).
WORLD_BASES = (
    ("flite_awb", "awb"),
    ("flite_rms", "rms"),
    ("fest_kal", "kal"),
    ("fest_ked", "ked"),
    ("flite_slt", "slt"),
    ("fest_slt", "slt"),
)
F0_SCALES = (0.8, 0.89, 1.0, 1.12, 1.25)
# Warps that keep a voice inside adult vocal tracts. Measured with pocketsphinx on five
# sentences resynthesized at each alpha (word error): the four male bases score 21-50% at
# alpha -0.05..+0.05 (21-39% unwarped) but 66-97% at -0.1; slt's two voices score 11-39%
# warped down to -0.1 (34-47% unwarped) and 71-95% at +0.05. F0 scales of 0.8 and 1.25
# cost nothing. So female voices are only warped down, male ones both ways.
WARP_ALPHAS: dict[Gender, tuple[float, ...]] = {
    "male": (-0.05, -0.025, 0.0, 0.025, 0.05),
    "female": (-0.1, -0.075, -0.05, -0.025, 0.0),
}
# One warp step counts as this many F0 steps when ordering cells.
_WARP_WEIGHT = 1.0


def espeak_id(accent: str, variant: str, pitch: int, speed: int) -> str:
    return f"es_{accent}_{variant.lower()}_p{pitch:02d}_s{speed:03d}"


def world_id(base: str, f0_scale: float, warp_alpha: float) -> str:
    alpha = round(warp_alpha * 1000)
    warp = "w000" if alpha == 0 else f"w{'m' if alpha < 0 else 'p'}{abs(alpha):03d}"
    return f"wd_{base}_f{round(f0_scale * 100):03d}_{warp}"


@lru_cache(maxsize=None)
def generated_speakers(seed: int = VOICE_SEED) -> tuple[Speaker, ...]:
    """Every generated speaker, in corpus order, for ``seed`` (the corpus uses VOICE_SEED)."""
    rng = random.Random(seed)
    pools = {
        ("espeak", gender): _spread(_espeak_cells(gender, rng), rng) for gender in ("female", "male")
    }
    pools.update({("world", gender): _spread(_world_cells(gender, rng), rng) for gender in ("female", "male")})
    # Families alternate and so do genders, in threes (F M M F F M): the female WORLD bases
    # are two voices of one recorded speaker (slt), so their pool takes one turn in six.
    order = [
        ("espeak", "female"),
        ("world", "male"),
        ("espeak", "male"),
        ("world", "female"),
        ("espeak", "female"),
        ("world", "male"),
    ]
    streams = {key: iter(pool) for key, pool in pools.items()}
    out: list[Speaker] = []
    while len(out) < sum(len(pool) for pool in pools.values()):
        for key in order:
            speaker = next(streams[key], None)
            if speaker is not None:
                out.append(speaker)
    return tuple(out)


def _espeak_cells(gender: Gender, rng: random.Random) -> dict[str, list[Speaker]]:
    """Per variant, one speaker per pitch level (accent and speed drawn), in a seeded order."""
    canonical = [(s.voice.partition("+")[2], s.pitch) for s in SPEAKERS if s.engine == "espeak"]
    cells: dict[str, list[Speaker]] = {}
    for variant, variant_gender in ESPEAK_VARIANTS:
        if variant_gender != gender:
            continue
        pitches = [
            p
            for p in ESPEAK_PITCHES[gender]
            if not any(v == variant and abs(p - (cp or 50)) < _CANONICAL_PITCH_MARGIN for v, cp in canonical)
        ]
        rng.shuffle(pitches)
        speakers = []
        for pitch in pitches:
            code, language = rng.choice(ESPEAK_ACCENTS)
            speed = rng.choice(ESPEAK_SPEEDS)
            speakers.append(
                Speaker(
                    espeak_id(code, variant, pitch, speed),
                    "espeak",
                    f"{language}+{variant}",
                    gender,
                    pitch=pitch,
                    speed=speed,
                    amplitude=ESPEAK_AMPLITUDE,
                )
            )
        cells[variant] = speakers
    return cells


def _world_cells(gender: Gender, rng: random.Random) -> dict[str, list[Speaker]]:
    """Per recorded person with base voices of ``gender``, its derived speakers, farthest first.

    The order is farthest-point sampling on the grid: each next cell is the one furthest from
    the base voices and the cells already taken (ties broken by the seeded generator), so the
    first few are far apart. Two engines' voices of one person (flite_slt, fest_slt) share
    one order, so the same cell of both comes late.
    """
    canonical = {speaker.id: speaker for speaker in SPEAKERS}
    persons: dict[str, list[str]] = {}
    for base_id, person in WORLD_BASES:
        if canonical[base_id].gender == gender:
            persons.setdefault(person, []).append(base_id)
    cells: dict[str, list[Speaker]] = {}
    for person, bases in persons.items():
        alphas = WARP_ALPHAS[gender]
        identity = (F0_SCALES.index(1.0), alphas.index(0.0))
        candidates = [
            (base, (i, j))
            for base in bases
            for i in range(len(F0_SCALES))
            for j in range(len(alphas))
            if (i, j) != identity
        ]
        tie_break = {c: rng.random() for c in candidates}
        taken = [(base, identity) for base in bases]
        order = []
        while candidates:
            best = max(candidates, key=lambda c: (min(_grid_distance(c, t) for t in taken), tie_break[c]))
            candidates.remove(best)
            taken.append(best)
            order.append(best)
        cells[person] = [
            Speaker(
                world_id(base, F0_SCALES[i], alphas[j]),
                canonical[base].engine,
                canonical[base].voice,
                gender,
                f0_scale=F0_SCALES[i],
                warp_alpha=alphas[j],
            )
            for base, (i, j) in order
        ]
    return cells


def _grid_distance(a: tuple[str, tuple[int, int]], b: tuple[str, tuple[int, int]]) -> float:
    """Squared distance of two cells: F0 steps, warp steps (weighted: they change timbre
    more), and one step more between two engines' voices of one person."""
    (base_a, (i_a, j_a)), (base_b, (i_b, j_b)) = a, b
    return (i_a - i_b) ** 2 + (_WARP_WEIGHT * (j_a - j_b)) ** 2 + (base_a != base_b)


def _spread(cells: dict[str, list[Speaker]], rng: random.Random) -> list[Speaker]:
    """Round-robin over the groups (variants or bases) in a seeded order: each once before any twice."""
    groups = list(cells)
    rng.shuffle(groups)
    depth = max(len(cells[g]) for g in groups)
    return [cells[g][i] for i in range(depth) for g in groups if i < len(cells[g])]
