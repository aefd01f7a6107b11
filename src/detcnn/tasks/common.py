"""What the task modules share: the train statistics a task may fit (:class:`TargetStats`), the validation
score of its :class:`~detcnn.training.plugin.Plugin` (:func:`validation_score`), the torch-free
:class:`Target` every model of a task is judged against, and argument checks (the
bootstrap is :mod:`detcnn.evaluation.bootstrap`).

Torch-free at import (the rules import the task table): torch appears only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detcnn.errors import ConfigError
from detcnn.evaluation.bootstrap import Metrics, no_resamples, values
from detcnn.training.plugin import Score


def validation_score(
    metrics: Callable[..., Metrics], prediction: Callable[[np.ndarray, Mapping[str, Any]], dict[str, np.ndarray]],
    names: Sequence[str], attrs: Mapping[str, Any],
) -> Score:  # fmt: skip
    """A task's validation score (``Plugin.score``): ``{name: value}`` of its test ``metrics`` ``names`` (its
    ``VALIDATION``) of the ``prediction`` made from a network's output, without resamples, so ``val/x`` and
    ``test/x`` are one function. ``metrics`` and ``prediction`` are the task module's own functions."""

    def score(truth: np.ndarray, out: np.ndarray) -> dict[str, float]:
        return values(metrics(truth, prediction(out, attrs), attrs, {}, no_resamples(len(truth))), names)

    return score


def no_working_points(
    truth: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, float]:
    """A task whose metrics set no threshold (``working_points`` of the task contract): none."""
    return {}


def _same(values: np.ndarray) -> np.ndarray:
    return values


@dataclass(frozen=True)
class Target:
    """What a model of a task is judged against, torch-free (a baseline's evaluation needs no more):
    ``dataset``: the image-file dataset (``y``, ``y_pix``, ``e_pix``, ``truth/<name>``, ``emitters``, or ``X``
    for a target made from the image); ``classes``: the event classes used (None: all); ``truth(stored)``: what
    predictions are compared with, from the stored dataset's rows."""

    dataset: str
    classes: list[int] | None = None
    truth: Callable[[np.ndarray], np.ndarray] = _same


@dataclass
class TargetStats:
    """What a task may need to know about the train split: pixel-class frequencies ``(K,)`` (segmentation),
    and the typical value and spread of a regression target (``shift``, ``scale``)."""

    frequencies: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shift: float = 0.0
    scale: float = 1.0


def check_args(task: str, args: Mapping[str, Any], valid: Sequence[str]) -> None:
    """A ConfigError for ``task_args`` keys the task does not know, listing the valid ones."""
    unknown = set(args) - set(valid)
    if unknown:
        raise ConfigError(f"unknown task_args {sorted(unknown)} for task '{task}'; valid: {sorted(valid)}",
                          key="task_args")  # fmt: skip


def class_indices(attrs: Mapping[str, Any], names: Sequence[str] | None, key: str) -> list[int] | None:
    """Indices of the event classes ``names`` of a dataset (None: all); a ConfigError naming the valid names."""
    if not names:
        return None
    valid = list(attrs["class_names"])
    unknown = [c for c in names if c not in valid]
    if unknown:
        raise ConfigError(f"classes {unknown} are not classes of this dataset; valid: {valid}", key=key)
    return [valid.index(c) for c in names]


def charge_empty(x: Any, n_views: int) -> Any:
    """``(N, V, H, W)`` True where a view's pixel has no signal in any of its channels (``x``: ``(N, V*c, H, W)``)."""
    n, c, h, w = x.shape
    return (x.reshape(n, n_views, c // n_views, h, w) == 0).all(dim=2)
