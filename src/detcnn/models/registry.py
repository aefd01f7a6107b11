"""Name -> constructor registry (as in timm): configs name models, ``create_model`` builds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(name: str) -> Callable[[F], F]:
    """Decorator: register a model constructor under ``name`` (a duplicate name is an error)."""

    def decorator(fn: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' is already registered (by {_REGISTRY[name].__module__})")
        _REGISTRY[name] = fn
        return fn

    return decorator


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with keyword arguments ``kwargs``."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown model '{name}'; registered models: {', '.join(list_models())}")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as exc:
        raise TypeError(f"bad arguments for model '{name}': {exc}") from exc
