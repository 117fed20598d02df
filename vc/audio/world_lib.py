"""pyworld and pysptk, imported in one place with their import-time warning silenced, and
the one WORLD fact the feature config needs for its frame width: the number of coded
aperiodicity bands at a sample rate. vc.audio.config asks this module rather than
vc.audio.world, which itself needs the config."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # pyworld and pysptk still import pkg_resources, which warns about its own deprecation.
    warnings.simplefilter("ignore")
    import pysptk
    import pyworld

__all__ = ["aperiodicity_bands", "pysptk", "pyworld"]


def aperiodicity_bands(sample_rate: int) -> int:
    return int(pyworld.get_num_aperiodicities(sample_rate))
