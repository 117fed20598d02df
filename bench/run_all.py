"""`make bench`: run every bench/bench_*.py in turn on the CPU; each prints its own table.

Scripts are found by name, so a new bench_*.py needs no list here; each one's docstring
names its baseline (an ANCHORS.md figure, or a reference run side by side). On a GPU, run
those that take --device (all but bench_extract.py) with --device cuda directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    failed = []
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"\n=== {script.name}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(script.name)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")
