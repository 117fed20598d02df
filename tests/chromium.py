"""Headless Chromium for the browser tests (the report, the `vc serve` page), or a skip.

Needs Debian's chromium and chromium-driver (the Makefile installs them) and selenium (the
dev extra). The flags keep Chromium from reaching for a network the test machines lack.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900")


@contextmanager
def headless_chromium(profile: Path, script_timeout_s: float, *flags: str) -> Iterator[object]:
    """A selenium driver of a fresh Chromium with its profile in ``profile`` and ``flags`` added;
    the test is skipped when selenium, chromium or chromium-driver is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            pytest.skip(f"{binary} not found (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, *flags, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_script_timeout(script_timeout_s)
        yield driver
    finally:
        driver.quit()
