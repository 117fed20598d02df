"""What a result of `vc evaluate` is (its ``kind``), in the order a report lists a comparison's
rows: the unconverted source (lower bound), the source copy-synthesised through a vocoder
(the bound that vocoder sets), the converted systems, the target copy-synthesised, and the
target's real recordings (upper bound). Every kind but ``converted`` is a reference."""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal["source", "copysynth-source", "converted", "copysynth-target", "target"]
KINDS: tuple[Kind, ...] = get_args(Kind)
REFERENCES: tuple[Kind, ...] = tuple(k for k in KINDS if k != "converted")
