"""Checkpoints: atomic ``checkpoints/step_<8-digit step>.pt`` files that load with weights_only=True.

Everything saved is a tensor or plain Python (dict, list, tuple, str, int, float, bool,
None): numpy arrays become tensors and numpy scalars Python numbers on the way in, so
``torch.load(..., weights_only=True)`` reads any checkpoint and no pickle runs code.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vc.errors import DataError, WriteError
from vc.utils import atomic_path

_NAME = re.compile(r"^step_(\d{8,})\.pt$")


def checkpoint_path(directory: str | Path, step: int) -> Path:
    return Path(directory) / f"step_{step:08d}.pt"


def list_checkpoints(directory: str | Path) -> list[Path]:
    """The checkpoints in ``directory``, oldest step first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint with the highest step in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def save_checkpoint(directory: str | Path, step: int, state: dict[str, Any], keep_last: int) -> Path:
    """Write ``state`` as ``step_{step:08d}.pt`` atomically, then delete all but the newest
    ``keep_last`` checkpoints."""
    path = checkpoint_path(directory, step)
    plain = to_plain(state, "checkpoint")
    with atomic_path(path) as tmp:
        try:
            torch.save(plain, tmp)
        except RuntimeError as e:
            # torch's zip writer reports a full disk as "unexpected pos ..." or "file write failed".
            free = shutil.disk_usage(path.parent).free
            reason = (str(e).strip().splitlines() or ["RuntimeError"])[0]
            raise WriteError(f"{path}: cannot write the checkpoint ({reason}; {free / 2**20:.1f} MiB free on its "
                             "filesystem); the previous checkpoints are kept") from None
    for old in list_checkpoints(directory)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


# File signatures of what is passed as a checkpoint by mistake.
_NOT_CHECKPOINTS = {b"RIFF": "a WAV audio file", b"fLaC": "a FLAC audio file", b"OggS": "an Ogg audio file",
                    b"ID3": "an MP3 audio file", b"\x93NUMPY": "a NumPy .npy file", b"{": "a JSON file"}


def _what_else(path: Path) -> str | None:
    """What ``path`` is instead of a checkpoint, when its first bytes tell (torch's own error
    for these is unhelpful: 'pop from empty list')."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        return e.strerror
    if not head:
        return "an empty file"
    return next((what for magic, what in _NOT_CHECKPOINTS.items() if head.startswith(magic)), None)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with weights_only=True; anything unreadable is a DataError."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError... by cause
        # What the file is, where it says; else torch's first sentence (it appends paragraphs
        # of generic advice).
        reason = _what_else(path) or (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0]
        raise DataError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise DataError(f"{path}: not a readable checkpoint (no 'step' entry)")
    return state


def to_plain(obj: Any, where: str) -> Any:
    """``obj`` with numpy values turned into tensors/Python numbers; other types are refused."""
    if isinstance(obj, (torch.Tensor, str, int, float, bool, type(None))):
        return obj
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj).copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: to_plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj))
    raise TypeError(f"{where}: {type(obj).__name__} cannot be stored in a weights-only checkpoint")


def get_rng_state(cuda: bool = True) -> dict[str, Any]:
    """Python, numpy, torch CPU (and CUDA when available) generator states, as plain values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if cuda and torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned (CUDA only when both sides have it)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        # a resume on a machine with fewer GPUs restores the devices it has
        for device, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), device)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
