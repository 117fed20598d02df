"""`vc image report`: one self-contained HTML page from the result dirs of `vc image evaluate`.

The page holds the metrics table (as printed), then per system and source domain a grid of
the first test images: the source row, its translation into each target domain and, on a
paired test set, the true translation; then each system's training curves. PNGs are
embedded as data URIs and the CSS is vc.report's, so the page opens anywhere.
"""

from __future__ import annotations

import html
import io
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vc.errors import ConfigError
from vc.image.evaluate import HEADERS, Block, format_score, format_table, load_results, present_metrics, table_blocks
from vc.image.imageset import ImageSet, imageset_path
from vc.image.translate import Translations
from vc.report.curves import parse_train_log
from vc.report.figures import curves_png
from vc.report.media import png_uri
from vc.report.page import CSS
from vc.utils import atomic_path

DEFAULT_TITLE = "Image translation report"
STRIP_HEIGHT = 64  # pixels each image is shown at (upscaled by a whole factor, nearest neighbour)
GAP = 2  # white pixels between the images of a strip
IMAGE_CSS = """
.strip{display:flex;align-items:center;gap:14px;padding:3px 0;border-top:1px solid #f0f0f0}
.strip .who{width:230px;flex:none;font-size:13px}
.strip img{image-rendering:pixelated;flex:none}
"""
ABOUT = {
    "domain rate (target)": "the share of images a CNN trained on held-out real images of every domain (the "
                            "valid split) calls the target domain: does it look like the target domain? ↑",
    "content acc.": "the share of images a CNN trained on the target domain's own training images gives the "
                    "source image's label: did the digit or garment survive the translation? ↑",
    "L1": "mean absolute difference to the true translation, intensities in [0, 1] (paired test sets only) ↓",
    "SSIM": "structural similarity to the true translation (Gaussian window, σ 1.5; paired test sets only) ↑",
}


@dataclass(frozen=True)
class ImageReport:
    path: Path  # OUT/index.html
    size: int  # bytes
    text: str  # the plain-text table


def write_image_report(result_dirs: list[str | Path], out_dir: str | Path, examples: int = 8,
                       title: str | None = None) -> ImageReport:
    if examples < 1:
        raise ConfigError(f"--examples must be 1 or more, got {examples}")
    if not result_dirs:
        raise ConfigError("no result directories given")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    results = [load_results(d) for d in result_dirs]
    text = format_table(results)
    command = shlex.join(["vc", "image", "report", *map(str, result_dirs), "--out", str(out),
                          "--examples", str(examples), *(["--title", title] if title else [])])
    title = title or DEFAULT_TITLE
    meta = (f'<p class="meta">{len(results)} system{"s" if len(results) != 1 else ""} &middot; generated '
            f'{_e(time.strftime("%Y-%m-%d %H:%M"))}</p>')
    note = ('<p class="muted">source: the untranslated test images scored as if they were translations (the '
            "baseline); target (real): the target domain's own test images (what the classifiers reach on the "
            "real thing). - : undefined (no true translation on an unpaired test set).</p>")
    body = [f"<h1>{_e(title)}</h1>", meta, '<h2 id="metrics">Metrics</h2>',
            *(_table(b) for b in table_blocks(results)), note]
    for r in results:
        body.append(_system(r, examples))
    body.append(_footer(command))
    page = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{_e(title)}</title>\n"
            f"<style>{CSS}{IMAGE_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
    data = page.encode("utf-8")
    path = out / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return ImageReport(path, len(data), text)


def strip_png(images: np.ndarray) -> bytes:
    """uint8 [N, C, H, W] images side by side (C = 1 grey, 3 RGB), upscaled to about STRIP_HEIGHT."""
    n, c, h, w = images.shape
    scale = max(1, STRIP_HEIGHT // h)
    tiles = images.repeat(scale, axis=2).repeat(scale, axis=3).transpose(0, 2, 3, 1)  # [N, H', W', C]
    canvas = np.full((h * scale, n * w * scale + (n - 1) * GAP, c), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        x = i * (w * scale + GAP)
        canvas[:, x:x + w * scale] = tile
    buffer = io.BytesIO()
    Image.fromarray(canvas[..., 0] if c == 1 else canvas).save(buffer, format="PNG")
    return buffer.getvalue()


def _table(block: Block) -> str:
    metrics = present_metrics(block.rows)
    head = '<th class="label">direction</th><th class="label">images</th>' + "".join(
        f"<th>{_e(HEADERS[m])}</th>" for m in metrics)
    rows = []
    for row in block.rows:
        kind = "ref" if row.images in ("source", "target (real)") else "sys"
        cells = "".join(f"<td>{_e(format_score(row.scores.get(m)))}</td>" for m in metrics)
        rows.append(f'<tr class="{kind}"><td class="label">{_e(row.direction)}</td>'
                    f'<td class="label">{_e(row.images)}</td>{cells}</tr>')
    return (f"<h3>{_e(block.title)}</h3>"
            f'<div class="scroll"><table class="metrics">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
            + "\n".join(rows) + "\n</tbody></table></div>")


def _system(results: dict[str, Any], examples: int) -> str:
    """The grids of one system's translations, per source domain, and its training curves."""
    translated = Path(results["translated"])
    t = Translations.read(translated)
    weights = ", EMA weights" if results.get("using_ema") else ""
    parts = [(f'<h2>{_e(results["label"])} <span class="muted"><code>{_e(results["model"])}</code>, step '
              f'{results["step"]}{weights}</span></h2>')]
    for source in t.domains:
        images = ImageSet.load(imageset_path(results["data"], t.split, source)).images[:examples]
        rows = [(f"source: {source}", images)]
        truth = None
        for d in (d for d in t.directions if d.source == source):
            out = ImageSet.load(t.path(translated, d))
            rows.append((f"translated → {d.target}", out.images[:examples]))
            truth = out.targets if out.targets is not None else truth
        if truth is not None:
            rows.append(("true translation", truth[:examples]))
        parts.append(f"<h3>from {_e(source)}</h3>" + "".join(
            f'<div class="strip"><div class="who">{_e(label)}</div>'
            f'<img alt="{_e(label)}" src="{png_uri(strip_png(row))}"></div>' for label, row in rows))
    parts.append(_curves(Path(results["model"])))
    return "\n".join(parts)


def _curves(model: Path) -> str:
    log_path = model / "log" / "train.log"
    log = parse_train_log(log_path) if log_path.is_file() else None
    if log is None or log.empty:
        return f'<p class="muted">No training curves: no loss lines in {_e(str(log_path))}.</p>'
    return f'<h3>Training curves</h3><figure><img alt="training curves" src="{png_uri(curves_png(log))}"></figure>'


def _footer(command: str) -> str:
    terms = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in ABOUT.items())
    return (f'<footer id="about"><h3>What the metrics mean</h3><dl>{terms}</dl>'
            f"<p>Command: <code>{_e(command)}</code></p></footer>")


def _e(text: str) -> str:
    return html.escape(text, quote=True)
