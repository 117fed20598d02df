"""Device choice shared by training, conversion and vocoding."""

from __future__ import annotations

import torch

from vc.errors import ConfigError


def resolve_device(device: str | torch.device, local_rank: int = 0) -> torch.device:
    """``auto``: CUDA when available (GPU ``local_rank`` modulo the count, for DDP), else CPU.

    An unparseable or unavailable device is a ConfigError.
    """
    if str(device) == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ConfigError(f"device: {device!r} is not a device (auto, cpu, cuda or cuda:N)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r}: no CUDA device is available")
    return resolved


def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16/AMX); elsewhere it is emulated, slower than fp32."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
