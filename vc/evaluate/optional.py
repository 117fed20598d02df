"""The evaluators' optional packages: imported only when their metric is asked for, and when
missing, one line that says which package and how to install it."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from vc.errors import ConfigError

# module -> (what needs it, how to install it)
_INSTALL = {
    "resemblyzer": ("speaker similarity (--metrics speaker)",
                    "pip install --no-deps resemblyzer && pip install 'vc[eval]'"),
    "webrtcvad": ("speaker similarity (--metrics speaker)", "pip install 'vc[eval]'"),
    "pocketsphinx": ("word and character error (--metrics asr)", "pip install 'vc[eval]'"),
    "jiwer": ("word and character error (--metrics asr)", "pip install 'vc[eval]'"),
    "speechmos": ("predicted MOS (--metrics mos)", "pip install 'vc[eval]'"),
    "onnxruntime": ("predicted MOS (--metrics mos)", "pip install 'vc[eval]'"),
}


def require(module: str) -> ModuleType:
    """Import ``module``, or say what needs it and what to install ('make install' does it all)."""
    try:
        with warnings.catch_warnings():
            # webrtcvad and resemblyzer warn, on import, about their own use of pkg_resources and
            # scipy.ndimage.morphology: nothing a user can act on, and noise in every recipe log.
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            return importlib.import_module(module)
    except ImportError as e:
        purpose, command = _INSTALL[module]
        raise ConfigError(f"{purpose} needs the '{module}' package, which is not installed ({e}); "
                          f"install it with: {command}, or leave that metric out of --metrics") from None
