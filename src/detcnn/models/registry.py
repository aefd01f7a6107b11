"""Name -> constructor registry (as in timm): configs name models, ``create_model`` builds them.

Every model is registered with its task, because the tasks differ in their output: a ``"classifier"`` maps
``(N, C, H, W)`` images to ``(N, num_classes)`` logits, a ``"segmenter"`` to per-pixel logits
``(N, num_classes, n_views, H, W)``, a ``"localiser"`` to maps on a grid ``upsampling`` times finer,
``(N, num_classes, upsampling * H, upsampling * W)``. ``list_models(kind)`` picks the names of one kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from detcnn.errors import ConfigError

TASKS: tuple[str, ...] = ("classifier", "segmenter", "localiser")

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_TASK_OF: dict[str, str] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])


def _check_task(task: str, what: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown {what} '{task}'; valid: {', '.join(TASKS)}")


def register_model(name: str, task: str = "classifier") -> Callable[[F], F]:
    """Decorator: register a model constructor under ``name`` for ``task`` (one of ``TASKS``).

    A duplicate name or an unknown task is an error.
    """
    _check_task(task, "task")

    def decorator(fn: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' is already registered (by {_REGISTRY[name].__module__})")
        _REGISTRY[name] = fn
        _TASK_OF[name] = task
        return fn

    return decorator


def list_models(kind: str | None = None) -> list[str]:
    """Names of the registered models, sorted: all of them, or those of one task (``kind`` in ``TASKS``)."""
    if kind is None:
        return sorted(_REGISTRY)
    _check_task(kind, "model kind")
    return sorted(name for name, task in _TASK_OF.items() if task == kind)


def model_task(name: str) -> str:
    """The task (``"classifier"`` or ``"segmenter"``) the model ``name`` was registered for."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(list_models())}", key="arch")
    return _TASK_OF[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with keyword arguments ``kwargs``."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(list_models())}", key="arch")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as exc:
        if "argument" not in str(exc):  # not a keyword the constructor refuses: a bug, keep its traceback
            raise
        raise ConfigError(f"bad arguments for model '{name}': {exc}", key="args") from exc


def model_accepts(name: str, argument: str) -> bool:
    """Whether the constructor of model ``name`` takes the keyword ``argument`` (e.g. ``n_views``).

    A constructor that forwards ``**kwargs`` to a class is judged by the class's ``__init__`` (its return
    annotation).
    """
    import inspect
    import typing

    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(list_models())}", key="arch")
    fn = _REGISTRY[name]
    params = inspect.signature(fn).parameters
    if argument in params:
        return True
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        cls = typing.get_type_hints(fn).get("return")
        return cls is not None and argument in inspect.signature(cls.__init__).parameters
    return False
