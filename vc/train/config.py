"""The ``train:`` section of an experiment config: loop length, logging, optimisers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from vc.config import from_dict
from vc.errors import ConfigError

Schedule = Literal["constant", "linear_decay"]


@dataclass
class OptimizerConfig:
    """One Adam(W) optimiser and its learning-rate schedule.

    ``linear_decay`` keeps ``lr`` until step ``decay_start`` and then lowers it linearly
    to 0 over ``decay_steps`` steps (default: until ``max_steps``), as CycleGAN-VC does.
    """

    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0  # > 0 selects AdamW (decoupled decay)
    schedule: Schedule = "constant"
    decay_start: int | None = None  # None: never decay
    decay_steps: int | None = None  # None: max_steps - decay_start

    def check(self, where: str, max_steps: int) -> None:
        if self.lr <= 0:
            raise ConfigError(f"{where}.lr: must be > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"{where}.betas: expected two values in [0, 1), got {list(self.betas)}")
        if self.weight_decay < 0:
            raise ConfigError(f"{where}.weight_decay: must be >= 0, got {self.weight_decay}")
        if self.schedule == "constant":
            for key in ("decay_start", "decay_steps"):
                if getattr(self, key) is not None:
                    raise ConfigError(f"{where}.{key}: set, but schedule is 'constant' (use 'linear_decay')")
            return
        if self.decay_start is not None and self.decay_start < 0:
            raise ConfigError(f"{where}.decay_start: must be >= 0, got {self.decay_start}")
        if self.decay_start is not None and self.total_decay_steps(max_steps) < 1:
            key = "decay_steps" if self.decay_steps is not None else "decay_start"
            raise ConfigError(f"{where}.{key}: the decay would last no step "
                              f"(decay_start {self.decay_start}, max_steps {max_steps})")

    def total_decay_steps(self, max_steps: int) -> int:
        assert self.decay_start is not None
        return self.decay_steps if self.decay_steps is not None else max_steps - self.decay_start

    def lr_factor(self, step: int, max_steps: int) -> float:
        """The multiplier of ``lr`` at (0-based) ``step``."""
        if self.schedule == "constant" or self.decay_start is None or step < self.decay_start:
            return 1.0
        return max(0.0, 1.0 - (step - self.decay_start) / self.total_decay_steps(max_steps))


@dataclass
class TrainConfig:
    """The generic loop. ``batch_size`` and ``num_workers`` are read by whoever builds the
    loaders; the trainer itself iterates the loader it is given."""

    max_steps: int
    batch_size: int = 1
    num_workers: int = 0
    seed: int = 0
    grad_clip: float | None = None  # max global L2 norm per optimiser group
    amp: bool = True  # CUDA only: bf16 where supported, else fp16 with a GradScaler
    # bf16 autocast on CPU: about 2.5x faster convs on CPUs with AMX/AVX512-BF16, at bf16
    # precision; ignored (fp32) on CPUs without native bf16, where it would be slower.
    cpu_bf16: bool = False
    ema_decay: float | None = None
    log_interval: int = 50
    eval_interval: int = 1000
    eval_batches: int = 4
    save_interval: int = 1000
    keep_last: int = 3
    optim: dict[str, OptimizerConfig] = field(default_factory=dict)

    def check(self, where: str = "train") -> None:
        positive = ("max_steps", "batch_size", "log_interval", "eval_interval", "eval_batches",
                    "save_interval", "keep_last")
        for key in positive:
            if getattr(self, key) < 1:
                raise ConfigError(f"{where}.{key}: must be >= 1, got {getattr(self, key)}")
        for key in ("num_workers", "seed"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{where}.{key}: must be >= 0, got {getattr(self, key)}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"{where}.grad_clip: must be > 0, got {self.grad_clip}")
        if self.ema_decay is not None and not 0 <= self.ema_decay < 1:
            raise ConfigError(f"{where}.ema_decay: must be in [0, 1), got {self.ema_decay}")
        for name, opt in self.optim.items():
            opt.check(f"{where}.optim.{name}", self.max_steps)

    def optimizers_for(self, groups: list[str], where: str = "train") -> dict[str, OptimizerConfig]:
        """One config per model group, in the model's order; defaults for groups not configured."""
        unknown = sorted(set(self.optim) - set(groups))
        if unknown:
            raise ConfigError(f"{where}.optim.{unknown[0]}: the model has no optimizer group "
                              f"'{unknown[0]}' (it has: {', '.join(groups)})")
        return {name: self.optim.get(name, OptimizerConfig()) for name in groups}


def parse_train_config(data: Mapping[str, Any] | None, where: str = "train") -> TrainConfig:
    """Parse and range-check a ``train:`` mapping; errors name the key."""
    config = from_dict(TrainConfig, data, where)
    config.check(where)
    return config
