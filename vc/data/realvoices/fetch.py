"""Fetch the Debian packages that hold the recordings: `apt-get download` into a cache, then
`dpkg-deb -x` into DB_ROOT. Nothing is installed on the system, so no root is needed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from vc.errors import VCError

CACHE_DIR = "debs"  # under DB_ROOT: the downloaded .debs and a marker per unpacked one
_TIMEOUT_S = 1800


def fetch_packages(packages: Sequence[str], db_root: Path) -> list[str]:
    """Download and unpack each of ``packages`` not yet unpacked under ``db_root``; returns those it unpacked."""
    cache = db_root / CACHE_DIR
    todo = [p for p in packages if not _marker(cache, p).exists()]
    if not todo:
        return []
    for program in ("apt-get", "dpkg-deb"):
        if shutil.which(program) is None:
            raise VCError(
                f"'{program}' not found, needed to fetch package(s) {', '.join(todo)}: on a non-Debian system, "
                f"unpack the .deb files into {db_root} yourself"
            )
    cache.mkdir(parents=True, exist_ok=True)
    for package in todo:
        deb = _cached_deb(cache, package) or _download(package, cache)
        _run(["dpkg-deb", "-x", str(deb), str(db_root)], f"cannot unpack package {package} ({deb})")
        _marker(cache, package).touch()
    return todo


def _download(package: str, cache: Path) -> Path:
    _run(["apt-get", "download", package], f"cannot download package {package} with apt-get "
         "(offline, or no package lists: try 'apt-get update')", cwd=cache)
    deb = _cached_deb(cache, package)
    if deb is None:
        raise VCError(f"apt-get download {package} left no {package}_*.deb in {cache}")
    return deb


def _cached_deb(cache: Path, package: str) -> Path | None:
    debs = sorted(cache.glob(f"{package}_*.deb"))
    return debs[-1] if debs else None


def _marker(cache: Path, package: str) -> Path:
    return cache / f"{package}.unpacked"


def _run(cmd: list[str], failure: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VCError(f"{failure}: '{' '.join(cmd)}' took over {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise VCError(f"{failure}: {lines[-1] if lines else f'exit status {done.returncode}'}")
