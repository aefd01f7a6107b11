"""The one bootstrap of detcnn: resampled test events, a statistic's value and error over them, and the paired
difference of two models on the same resamples.

Resamples draw the test events with replacement (:func:`bootstrap_indices`); they depend only on the number
of events and the seed, so every model evaluated on the same test events sees the same resamples and the
difference of two models is a paired bootstrap: fluctuations common to both cancel.

Conventions, the same for every metric of every task:

- ``value``: the statistic on all events; ``err``: the standard deviation (``ddof=1``) over the resamples
  whose statistic is finite; ``n_bootstrap``: the number of resamples; ``n_nonfinite``: how many gave a
  non-finite statistic (an AUC of a resample without signal, a rejection with no background left, a purity
  with nothing selected). Those are left out of ``err`` and counted, so a table can say so.
- With fewer than two finite resamples ``err`` is NaN (no spread can be measured).
- A paired difference's ``significance`` is ``value / err``; at ``err == 0`` it is 0 for no difference and
  ±inf for a difference without fluctuation; NaN where ``err`` or ``value`` is NaN.

Torch-free (numpy only).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from detcnn.evaluation.metrics import Metric

Metrics = dict[str, dict[str, float]]  # {metric: {value, err, n_bootstrap, n_nonfinite}}, as in metrics.json
Statistic = Callable[[np.ndarray], float]  # rows (n,) int -> a number
Statistics = Callable[[np.ndarray], Mapping[str, float]]  # rows (n,) int -> {name: number}


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)`` resampled event indices; identical for identical ``(n, n_boot, seed)``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n))


def no_resamples(n: int) -> np.ndarray:
    """Bootstrap indices ``(0, n)``: a metric's value alone, as the validation of every epoch needs it."""
    return np.zeros((0, n), dtype=np.int64)


@dataclass(frozen=True)
class Estimate:
    """A statistic on all events (``value``) with its bootstrap error (module doc)."""

    value: float
    err: float
    n_bootstrap: int
    n_nonfinite: int

    def as_dict(self) -> dict[str, float]:
        """``{value, err, n_bootstrap, n_nonfinite}``: a metric of ``metrics.json``."""
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """``a - b`` of two models on the same events, its paired-bootstrap error and significance (module doc)."""

    value: float
    err: float
    significance: float
    n_bootstrap: int
    n_nonfinite: int

    def as_dict(self) -> dict[str, float]:
        """``{value, err, significance, n_bootstrap, n_nonfinite}``, as the report's ``summary.json`` holds it."""
        return asdict(self)


def estimate(value: float, samples: np.ndarray) -> Estimate:
    """The :class:`Estimate` of ``value`` from its resampled values ``samples`` ``(n_boot,)``, computed in any way
    (the vectorised form: e.g. all resamples' confusion matrices at once)."""
    samples = np.asarray(samples, dtype=np.float64)
    ok = np.isfinite(samples)
    finite = samples[ok]
    err = float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")
    return Estimate(float(value), err, len(samples), int(len(samples) - np.count_nonzero(ok)))


def bootstrap(fn: Statistics, n: int, indices: np.ndarray) -> Metrics:
    """``fn(rows)`` on all ``n`` rows (``rows = arange(n)``) and on every resample of ``indices``
    ``(n_boot, n)``: ``{name: {value, err, n_bootstrap, n_nonfinite}}`` in the order of ``fn``'s names."""
    value = fn(np.arange(n))
    samples = [fn(rows) for rows in indices]
    return {k: estimate(v, np.array([s[k] for s in samples], dtype=np.float64)).as_dict() for k, v in value.items()}


def on_rows(metric: Metric, y: np.ndarray, score: np.ndarray) -> Statistic:
    """``metric(y, score)`` as a statistic of rows: ``rows -> metric(y[rows], score[rows])``."""
    return lambda rows: metric(y[rows], score[rows])


def bootstrap_metrics(y: np.ndarray, score: np.ndarray, metrics: Mapping[str, Metric], indices: np.ndarray) -> Metrics:
    """:func:`bootstrap` of metrics ``f(y, score)`` (``y``, ``score``: ``(n, ...)`` resampled by row)."""
    return bootstrap(lambda rows: {k: f(y[rows], score[rows]) for k, f in metrics.items()}, len(y), indices)


def significance(value: float, err: float) -> float:
    """``value / err``; at ``err == 0``: 0 if ``value == 0`` else ±inf; NaN if either is NaN."""
    if math.isnan(err) or math.isnan(value):
        return float("nan")
    if err > 0:
        return value / err
    return 0.0 if value == 0 else math.copysign(math.inf, value)


def paired(fn_a: Statistic, fn_b: Statistic, n: int, indices: np.ndarray) -> Difference:
    """``fn_a(rows) - fn_b(rows)`` on all ``n`` events and on the same resamples ``indices`` ``(n_boot, n)``; the
    error is the spread of the per-resample differences (fewer than two finite ones: NaN)."""
    rows = np.arange(n)
    value = float(fn_a(rows) - fn_b(rows))
    e = estimate(value, np.array([fn_a(i) - fn_b(i) for i in indices], dtype=np.float64))
    return Difference(e.value, e.err, significance(e.value, e.err), e.n_bootstrap, e.n_nonfinite)


def values(metrics: Mapping[str, Mapping[str, float]], names: Sequence[str]) -> dict[str, float]:
    """``{name: value}`` of the metrics ``names``."""
    return {k: float(metrics[k]["value"]) for k in names}
