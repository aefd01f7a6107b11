"""Name -> constructor registry (as in timm): configs name models, ``create_model`` builds them.

Every model is registered with its :class:`~detcnn.kinds.NetworkKind`, because the kinds differ in their
output: a classifier maps ``(N, C, H, W)`` images to ``(N, num_classes)`` logits, a segmenter to per-pixel
logits ``(N, num_classes, n_views, H, W)``, a localiser to maps on a grid ``upsampling`` times finer,
``(N, num_classes, upsampling * H, upsampling * W)``. ``list_models(kind)`` picks the names of one kind.

Every constructor takes ``in_channels``, ``num_classes`` and ``image_size``; the registration names which of
the dataset's further arguments (:data:`DATASET_ARGS`) it takes as well, so the train stage passes them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, TypeVar

from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind

#: The constructor arguments a dataset may give beyond ``in_channels``, ``num_classes`` and ``image_size``:
#: the number of detector views, and a localisation's finer grid.
DATASET_ARGS: tuple[str, ...] = ("n_views", "upsampling")

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_KIND_OF: dict[str, NetworkKind] = {}
_TAKES: dict[str, frozenset[str]] = {}
F = TypeVar("F", bound=Callable[..., nn.Module])


def register_model(name: str, *, kind: NetworkKind | str, takes: Collection[str] = ()) -> Callable[[F], F]:
    """Decorator: register a model constructor under ``name`` as a network of ``kind``; ``takes``: the
    arguments of :data:`DATASET_ARGS` the constructor takes (``n_views``, ``upsampling``).

    A duplicate name, an unknown kind or an unknown argument in ``takes`` is a ValueError.
    """
    kind = _kind(kind)
    unknown = set(takes) - set(DATASET_ARGS)
    if unknown:
        raise ValueError(f"model '{name}': unknown dataset argument(s) {sorted(unknown)}; valid: {DATASET_ARGS}")

    def decorator(fn: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"model '{name}' is already registered (by {_REGISTRY[name].__module__})")
        _REGISTRY[name] = fn
        _KIND_OF[name] = kind
        _TAKES[name] = frozenset(takes)
        return fn

    return decorator


def _kind(kind: NetworkKind | str) -> NetworkKind:
    """``kind`` as a NetworkKind; a ValueError listing the kinds for an unknown one."""
    try:
        return NetworkKind(kind)
    except ValueError:
        raise ValueError(f"unknown model kind '{kind}'; valid: {', '.join(NetworkKind)}") from None


def _known(name: str) -> None:
    """A ConfigError (key ``arch``) listing the registered models when ``name`` is not one."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model '{name}'; registered models: {', '.join(list_models())}", key="arch")


def list_models(kind: NetworkKind | str | None = None) -> list[str]:
    """Names of the registered models, sorted: all of them, or those of one :class:`NetworkKind` (a ValueError
    for an unknown kind)."""
    if kind is None:
        return sorted(_REGISTRY)
    kind = _kind(kind)
    return sorted(name for name, of in _KIND_OF.items() if of is kind)


def model_kind(name: str) -> NetworkKind:
    """The kind of network the model ``name`` was registered as."""
    _known(name)
    return _KIND_OF[name]


def model_takes(name: str, argument: str) -> bool:
    """Whether the constructor of model ``name`` takes the dataset argument ``argument`` (one of
    :data:`DATASET_ARGS`), as its registration says."""
    _known(name)
    return argument in _TAKES[name]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the model registered as ``name`` with keyword arguments ``kwargs``."""
    _known(name)
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as exc:
        if "argument" not in str(exc):  # not a keyword the constructor refuses: a bug, keep its traceback
            raise
        raise ConfigError(f"bad arguments for model '{name}': {exc}", key="args") from exc
