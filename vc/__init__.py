"""vc: voice conversion on unpaired speech."""

from __future__ import annotations

from typing import Any

from vc.version import __version__
__all__ = ["Converter", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy: `import vc` (and so the CLI's startup) must not import torch.
    if name == "Converter":
        from vc.convert import Converter

        return Converter
    raise AttributeError(f"module 'vc' has no attribute {name!r}")
