"""Models by name: ``model: cyclegan_vc`` in a config builds CycleGANVC (one file per family)."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from torch import nn

from vc.config import from_dict
from vc.errors import ConfigError

T = TypeVar("T")
M = TypeVar("M", bound=nn.Module)
MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[type[T]], type[T]]:
    def register(cls: type[T]) -> type[T]:
        MODELS[name] = cls
        return cls

    return register


def build_model(name: str, dim: int, params: dict[str, Any] | None = None, where: str = "model_params"):
    """The model registered as ``name`` for features of width ``dim``; ``params`` are typed by its Params."""
    if name not in MODELS:
        raise ConfigError(f"model: unknown model {name!r} (available: {', '.join(sorted(MODELS))})")
    cls = MODELS[name]
    return cls(dim, from_dict(cls.Params, params or {}, where))


def build_network(where: str, make: Callable[..., M], *args: Any, **kwargs: Any) -> M:
    """Construct a network from config keywords; a bad keyword or value names ``model_params.<where>``."""
    try:
        return make(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model_params.{where}: {e}") from None
