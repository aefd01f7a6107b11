"""A task's metrics in bins of a per-event variable (a truth quantity, an observable), with bootstrap errors.

The events of the evaluated test split are split by the value of one per-event variable into the bins
``[lo, hi)`` of ``edges`` (the last bin closed: ``[lo, hi]``); in every bin the task's own ``metrics`` are
computed on those events alone, with their own resamples (:func:`~detcnn.evaluation.bootstrap.bootstrap_indices`
of the bin's event count and the evaluation's seed, so every model evaluated on the same events sees the same
resamples in a bin too). Events outside every bin are left out.

Working points are not tuned again per bin: the thresholds of ``settings`` (set on the validation split) are
applied as they are, so a bin shows how the one selection behaves there.

A bin without events has ``n = 0`` and no metrics; a bin with too few events for a metric (no signal for an
AUC, no background for a rejection) gives whatever the task's metric gives there: NaN (JSON null), no error.

Torch-free (numpy only).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.bootstrap import Metrics, bootstrap_indices

#: A task's ``metrics(truth, prediction, attrs, settings, indices)`` (:mod:`detcnn.tasks`).
MetricsFn = Callable[[np.ndarray, Mapping[str, np.ndarray], Mapping[str, Any], Mapping[str, Any], np.ndarray], Metrics]
#: One bin of :func:`binned_metrics`: ``{lo, hi, n, metrics: {name: {value, err, n_bootstrap, n_nonfinite}}}``.
Bin = dict[str, Any]


def check_edges(edges: Sequence[float], variable: str) -> np.ndarray:
    """``edges`` as a float64 array ``(n_bins + 1,)``; a ConfigError naming ``variable`` unless they are at least
    two finite, strictly increasing numbers."""
    out = np.asarray(edges, dtype=np.float64)
    if out.ndim != 1 or len(out) < 2 or not np.all(np.isfinite(out)) or np.any(np.diff(out) <= 0):
        raise ConfigError(f"the bin edges of '{variable}' must be two or more increasing numbers, got {list(edges)}",
                          key="bins.edges")  # fmt: skip
    return out


def bin_rows(values: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """The event indices of every bin ``[edges[i], edges[i+1])`` of ``values`` ``(n,)`` (the last bin also
    takes ``values == edges[-1]``); ``len(edges) - 1`` int arrays, each in event order."""
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = len(edges) - 2
    return [np.flatnonzero(index == i) for i in range(len(edges) - 1)]


def subset_settings(settings: Mapping[str, Any], n: int, rows: np.ndarray) -> dict[str, Any]:
    """``settings`` with every per-event array (an ndarray of length ``n``, e.g. ``event_classes``) cut to
    ``rows``; everything else (thresholds, efficiencies) as it is."""
    return {k: v[rows] if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n else v for k, v in settings.items()}


def study(metrics: Mapping[str, Mapping[str, float]], prefixes: Sequence[str]) -> Metrics:
    """The metrics whose name starts with one of ``prefixes`` (a task's ``STUDY_METRICS``), in their order."""
    return {k: dict(v) for k, v in metrics.items() if k.startswith(tuple(prefixes))}


def binned_metrics(
    metrics_fn: MetricsFn, truth: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any],
    settings: Mapping[str, Any], values: np.ndarray, edges: Sequence[float], *, n_bootstrap: int, seed: int,
    prefixes: Sequence[str], variable: str = "values",
) -> list[Bin]:  # fmt: skip
    """The study metrics (names starting with one of ``prefixes``) of ``metrics_fn`` in every bin of ``values``.

    ``truth`` ``(n, ...)`` and ``prediction`` ``{name: (n, ...)}``: the evaluated events, as the task's
    ``metrics`` takes them; ``settings``: its settings, the per-event arrays among them cut to each bin
    (:func:`subset_settings`); ``values`` ``(n,)``: the per-event variable (named ``variable`` in errors);
    ``edges``: the bin edges (module doc); ``n_bootstrap`` resamples of each bin from ``seed``.
    Returns one :data:`Bin` per bin, in the order of ``edges``. An InputError for a NaN among ``values``, a
    ConfigError for bad ``edges``."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(truth),):
        raise ValueError(f"'{variable}' has shape {values.shape}, the events ({len(truth)},)")
    if np.any(np.isnan(values)):
        raise InputError(f"'{variable}' is NaN for {int(np.isnan(values).sum())} of {len(values)} evaluated events",
                         fix=f"bin in a variable defined for every event, or drop '{variable}' from bins")  # fmt: skip
    edges_ = check_edges(edges, variable)
    out = []
    for i, rows in enumerate(bin_rows(values, edges_)):
        found: Metrics = {}
        if len(rows):
            with warnings.catch_warnings():  # an empty class in a small bin: NaN is the answer, not a warning
                warnings.simplefilter("ignore", RuntimeWarning)
                found = metrics_fn(truth[rows], {k: v[rows] for k, v in prediction.items()}, attrs,
                                   subset_settings(settings, len(truth), rows),
                                   bootstrap_indices(len(rows), n_bootstrap, seed))  # fmt: skip
        lo, hi = float(edges_[i]), float(edges_[i + 1])
        out.append({"lo": lo, "hi": hi, "n": len(rows), "metrics": study(found, prefixes)})
    return out
