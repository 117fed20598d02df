"""Digits typeset in the TrueType fonts that ship with matplotlib (available offline).

Each image is one digit, white on black like the handwritten digits, drawn at a
supersampled resolution and box-averaged down (anti-aliasing), with seeded jitter of
height, position and rotation so a domain is a font's style, not one fixed bitmap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vc.errors import ConfigError, DataError

# Domain name -> font file in matplotlib's mpl-data/fonts/ttf.
FONT_FILES = {
    "dejavu_sans": "DejaVuSans.ttf",
    "dejavu_serif": "DejaVuSerif.ttf",
    "dejavu_mono": "DejaVuSansMono.ttf",
    "cm_serif": "cmr10.ttf",
    "cm_sans": "cmss10.ttf",
    "cm_mono": "cmtt10.ttf",
    "stix": "STIXGeneral.ttf",
}
SUPERSAMPLE = 4
_REFERENCE_PX = 100  # font size at which a font's digit height is measured


@dataclass(frozen=True)
class Jitter:
    """Random variation of each rendering, drawn uniformly."""

    height: tuple[float, float] = (0.6, 0.85)  # digit height, as a fraction of the image size
    shift: float = 0.08  # largest offset of the digit's centre, as a fraction of the image size
    rotation: float = 10.0  # largest rotation, degrees


def font_path(name: str) -> Path:
    if name not in FONT_FILES:
        raise ConfigError(f"font: unknown {name!r} (known: {', '.join(FONT_FILES)})")
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILES[name]
    if not path.is_file():
        raise DataError(f"{path}: font file of {name!r} not found (is matplotlib complete?)")
    return path


def render_digits(labels: np.ndarray, fonts: list[str], size: int, rng: np.random.Generator,
                  jitter: Jitter = Jitter()) -> np.ndarray:
    """Digit ``labels[i]`` in a font drawn from ``fonts`` for each i: uint8 [N, 1, size, size]."""
    n = len(labels)
    font = rng.integers(0, len(fonts), size=n)
    height = rng.uniform(*jitter.height, size=n)
    shift = rng.uniform(-jitter.shift, jitter.shift, size=(n, 2))
    angle = rng.uniform(-jitter.rotation, jitter.rotation, size=n)
    out = np.empty((n, 1, size, size), dtype=np.uint8)
    for i in range(n):
        out[i, 0] = _render(str(int(labels[i])), fonts[font[i]], size, height[i], shift[i], angle[i])
    return out


def _render(text: str, font_name: str, size: int, height: float, shift: np.ndarray, angle: float) -> np.ndarray:
    canvas = size * SUPERSAMPLE
    path = font_path(font_name)
    px = max(1, round(_REFERENCE_PX * height * canvas / _digit_height(path)))
    font = _font(path, px)
    x0, y0, x1, y1 = font.getbbox(text)
    # Centre the ink (not the advance box), then shift.
    x = (canvas - (x0 + x1)) / 2 + shift[0] * canvas
    y = (canvas - (y0 + y1)) / 2 + shift[1] * canvas
    image = Image.new("L", (canvas, canvas), 0)
    ImageDraw.Draw(image).text((x, y), text, fill=255, font=font)
    image = image.rotate(angle, resample=Image.BILINEAR)
    return np.asarray(image.reduce(SUPERSAMPLE))


@functools.cache
def _digit_height(path: Path) -> int:
    """Height of the tallest digit's ink at the reference size: fonts differ in how big "0" is at one size."""
    font = _font(path, _REFERENCE_PX)
    return max(font.getbbox(d)[3] - font.getbbox(d)[1] for d in "0123456789")


@functools.cache
def _font(path: Path, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), px)
