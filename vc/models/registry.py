"""Models by name: ``model: cyclegan_vc`` in a config builds CycleGANVC (one file per family)."""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, TypeVar

from torch import nn

from vc.config import coerce, from_dict
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
    """Construct a network from config keywords, checked against ``make``'s signature first.

    An unknown keyword, a value of the wrong type or outside the ``Range`` its parameter's
    annotation declares is a ConfigError naming ``model_params.<where>.<key>``, before any
    network is built; ``where`` "" is the top level of ``model_params``.
    """
    prefix = f"model_params.{where}" if where else "model_params"
    signature = inspect.signature(make)
    params = signature.parameters
    variadic = {name for name, p in params.items() if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    if not any(params[name].kind is inspect.Parameter.VAR_KEYWORD for name in variadic):
        settable = sorted(set(list(params)[len(args):]) - variadic)  # those not given positionally
        for key in kwargs:
            if key not in params:
                raise ConfigError(f"{prefix}.{key}: unknown key (expected one of: {', '.join(settable)})")
    hints = typing.get_type_hints(make.__init__ if inspect.isclass(make) else make, include_extras=True)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:  # a required argument is missing, or one is given twice
        raise ConfigError(f"{prefix}: {e}") from None
    for name in [n for n in bound.arguments if n not in variadic]:  # in signature order: the first bad one
        bound.arguments[name] = coerce(hints.get(name, Any), bound.arguments[name], f"{prefix}.{name}")
    try:
        return make(*bound.args, **bound.kwargs)
    except (TypeError, ValueError) as e:  # a check across parameters in the constructor
        raise ConfigError(f"{prefix}: {e}") from None
