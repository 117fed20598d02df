"""The report in a real browser: headless Chromium loads every embedded player and image.

Needs Debian's chromium and chromium-driver (the Makefile installs them) and selenium (the
dev extra). The flags keep Chromium from reaching for a network the test machines lack.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import headless_chromium
from test_report import make_results

from vc.report import write_report

LOAD_TIMEOUT_S = 30
EXAMPLES = 2
ROWS = 3  # source recording, the system, target recording

# Resolves with per-element states once every <audio> has metadata or an error, or at the timeout.
WAIT_FOR_MEDIA = """
const done = arguments[arguments.length - 1];
const deadline = Date.now() + arguments[0] * 1000;
function state() {
  return {
    audio: Array.from(document.querySelectorAll('audio')).map(a => ({
      ready: a.readyState, error: a.error ? a.error.code : null, duration: a.duration})),
    img: Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth})),
  };
}
(function poll() {
  const s = state();
  const settled = s.audio.every(a => a.ready >= 1 || a.error !== null) && s.img.every(i => i.complete);
  if (settled || Date.now() > deadline) { done(s); } else { setTimeout(poll, 100); }
})();
"""


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[object]:
    with headless_chromium(tmp_path / "chromium-profile", LOAD_TIMEOUT_S + 10) as drv:
        yield drv


def test_every_player_and_image_loads_in_chromium(driver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report = write_report(make_results(tmp_path / "fixture"), tmp_path / "report", examples=EXAMPLES)
    driver.get(report.path.as_uri())
    state = driver.execute_async_script(WAIT_FOR_MEDIA, LOAD_TIMEOUT_S)

    assert len(state["audio"]) == EXAMPLES * ROWS
    for i, audio in enumerate(state["audio"]):
        assert audio["error"] is None, f"<audio> {i}: MediaError code {audio['error']}"
        assert audio["ready"] >= 1, f"<audio> {i}: no metadata after {LOAD_TIMEOUT_S} s"
        assert audio["duration"] > 0.2
    assert len(state["img"]) == EXAMPLES * ROWS + 1  # spectrograms and one training-curve figure
    for i, img in enumerate(state["img"]):
        assert img["complete"] and img["width"] > 0, f"<img> {i} did not decode"

    # A full-page screenshot: grow the window to the page's height first.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 150, 16000))
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    shutil.copyfile(shot, "/tmp/report_screenshot.png")  # to look at by hand
