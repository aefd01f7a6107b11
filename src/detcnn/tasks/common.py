"""What the task modules share: the :class:`Plugin` a task gives the training loop and the evaluate stage,
the train statistics it may fit (:class:`TargetStats`), argument checks and bootstrap helpers.

Torch-free at import (the rules import the task table): torch appears only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detcnn.errors import ConfigError

Metrics = dict[str, dict[str, float]]


def _same(values: np.ndarray) -> np.ndarray:
    return values


@dataclass
class Plugin:
    """One model's task, as the training loop and the evaluate stage use it.

    ``target``: the image-file dataset the task learns from (``y``, ``y_pix``, ``e_pix``, ``truth/<name>``, or
    ``X`` for a target made from the image itself); ``num_outputs``: outputs per event (classifier) or per
    pixel (segmenter); ``loss(raw outputs, stored target)``; ``predict(raw outputs, inputs)``: the stored
    prediction (class probabilities, pixel classes, energies); ``truth(stored target)``: what predictions
    are compared with; ``classes``: the event classes used (None: all); ``output``: ``(shift, scale)`` of a
    regression output in train units; ``info``: resolved settings saved with the model; ``score(truth,
    prediction)``: the validation metrics, which :func:`detcnn.tasks.plugin_of` sets to the task's own test
    metrics of its ``VALIDATION`` names (so ``val/x`` and ``test/x`` are one function).
    """

    target: str
    num_outputs: int
    loss: Any
    predict: Callable[[Any, Any], Any]
    classes: list[int] | None = None
    output: tuple[float, float] | None = None
    truth: Callable[[np.ndarray], np.ndarray] = _same
    info: dict[str, Any] = field(default_factory=dict)
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]] | None = None  # set by tasks.plugin_of


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


def no_resamples(n: int) -> np.ndarray:
    """Bootstrap indices ``(0, n)``: a metric's value alone, as the validation of every epoch needs it."""
    return np.zeros((0, n), dtype=np.int64)


def values(metrics: Metrics, names: Sequence[str]) -> dict[str, float]:
    """``{name: value}`` of the metrics ``names``."""
    return {k: float(metrics[k]["value"]) for k in names}


def bootstrap_values(fn: Callable[[np.ndarray], dict[str, float]], n: int, indices: np.ndarray) -> Metrics:
    """``fn(rows)`` on all ``n`` rows and on every resample: ``{name: {value, err, n_bootstrap}}``."""
    value = fn(np.arange(n))
    samples = [fn(i) for i in indices]
    out = {}
    for k, v in value.items():
        s = np.array([x[k] for x in samples])
        s = s[np.isfinite(s)]
        out[k] = {"value": v, "err": float(np.std(s, ddof=1)) if len(s) > 1 else float("nan"),
                  "n_bootstrap": len(indices)}  # fmt: skip
    return out
