"""The shift of a task's metrics under a systematic variation, against the variation's nominal twin, with a
paired bootstrap error.

Every dataset with variations has a nominal twin: a test-only sample made with the nominal settings, of the
same size and with the same seeds as every variation sample. For a detector or read-out variation the twin and
the variation hold the same simulated interactions in the same order (a read-out threshold may drop a few
events without a pixel left); for a generator variation the events differ.

Pairing: where the evaluated events of the two files have the same event classes in the same order (the files
hold one sample after another, so equal counts per class in the same order), event ``i`` of the variation is
paired with event ``i`` of the twin and resample ``b`` takes the same indices ``idx_b`` for both
(:func:`~detcnn.evaluation.bootstrap.bootstrap_indices` of the event count and ``seed``, the resamples of the
variation's own errors): fluctuations common to both, the same interactions, cancel in the difference. Pairing
different events row by row (a generator variation) is still a bootstrap of the difference (the pairs are
i.i.d.), it just gains nothing. Otherwise (the counts differ) the twin gets an independent draw
(:func:`independent_indices`) and the entry says ``paired: false``: the error is then about
``sqrt(err_variation² + err_twin²)``.

The value of a metric on a resample is the task's own ``metrics`` on the resampled events alone (per-event
arrays of ``settings``, e.g. ``event_classes``, resampled too; thresholds as they are: the working points set
on the nominal validation split), so every task and metric works unchanged; that costs one call of the task's
``metrics`` per resample and file. The shift is ``value(variation) - value(twin)`` on all events, its error the
standard deviation (``ddof=1``) of the finite per-resample differences, non-finite ones counted
(:mod:`detcnn.evaluation.bootstrap`'s conventions, a :class:`~detcnn.evaluation.bootstrap.Difference`).

Torch-free (numpy only).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from detcnn.evaluation.binned import MetricsFn, subset_settings
from detcnn.evaluation.bootstrap import Difference, bootstrap_indices, estimate, no_resamples, significance

#: One entry of ``metrics.json['shift']``: ``{value, err, significance, n_bootstrap, n_nonfinite, paired,
#: n_variation, n_nominal}``.
Shift = dict[str, Any]


@dataclass(frozen=True)
class Evaluated:
    """One evaluated file as the task's ``metrics`` takes it: ``truth`` ``(n, ...)``, ``prediction``
    ``{name: (n, ...)}``, the file's ``attrs``, ``settings`` (``event_classes`` ``(n,)`` among them: the event
    classes of the evaluated rows, file order)."""

    truth: np.ndarray
    prediction: Mapping[str, np.ndarray]
    attrs: Mapping[str, Any]
    settings: Mapping[str, Any]

    @property
    def classes(self) -> np.ndarray:
        """The event classes ``(n,)`` of the evaluated events."""
        return np.asarray(self.settings["event_classes"])

    def __len__(self) -> int:
        return len(self.truth)


def same_events(classes_a: np.ndarray, classes_b: np.ndarray) -> bool:
    """Whether two evaluated files can be paired event by event: the same event classes in the same order."""
    return bool(np.array_equal(np.asarray(classes_a), np.asarray(classes_b)))


def independent_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)`` resampled indices drawn from ``seed`` independently of ``bootstrap_indices(n, n_boot,
    seed)`` (another stream of the same seed: the twin of an unpaired shift)."""
    return np.random.default_rng([seed, 1]).integers(0, n, size=(n_boot, n))


def resampled_values(metrics_fn: MetricsFn, sample: Evaluated, indices: np.ndarray) -> dict[str, np.ndarray]:
    """``{metric: (n_boot,)}``: the value of every metric of ``metrics_fn`` on each resample ``indices``
    ``(n_boot, m)`` of ``sample`` (NaN where a resample lacks a metric)."""
    out: dict[str, np.ndarray] = {}
    n = len(sample)
    for b, rows in enumerate(indices):
        with warnings.catch_warnings():  # a class missing from a resample: NaN is the answer, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            found = metrics_fn(sample.truth[rows], {k: v[rows] for k, v in sample.prediction.items()}, sample.attrs,
                               subset_settings(sample.settings, n, rows), no_resamples(len(rows)))  # fmt: skip
        for name, m in found.items():
            out.setdefault(name, np.full(len(indices), np.nan))[b] = np.nan if m["value"] is None else m["value"]
    return out


def values(metrics_fn: MetricsFn, sample: Evaluated) -> dict[str, float]:
    """``{metric: value}`` of every metric of ``metrics_fn`` on all events of ``sample``."""
    found = metrics_fn(sample.truth, sample.prediction, sample.attrs, sample.settings, no_resamples(len(sample)))
    return {k: float("nan") if m["value"] is None else float(m["value"]) for k, m in found.items()}


def difference(value: float, samples: np.ndarray) -> Difference:
    """The :class:`Difference` of ``value`` (variation - twin on all events) from its per-resample differences
    ``samples`` ``(n_boot,)``."""
    e = estimate(value, samples)
    return Difference(e.value, e.err, significance(e.value, e.err), e.n_bootstrap, e.n_nonfinite)


def paired_shifts(
    metrics_fn: MetricsFn, variation: Evaluated, twin: Evaluated, *, n_bootstrap: int, seed: int
) -> dict[str, Shift]:
    """``{metric: Shift}`` (the metric names of ``metrics_fn``, those both files have) of ``variation`` against
    its nominal ``twin``, with ``n_bootstrap`` resamples from ``seed``, paired where :func:`same_events`
    (module doc)."""
    paired = same_events(variation.classes, twin.classes)
    idx_variation = bootstrap_indices(len(variation), n_bootstrap, seed)
    idx_twin = idx_variation if paired else independent_indices(len(twin), n_bootstrap, seed)
    on_variation, on_twin = values(metrics_fn, variation), values(metrics_fn, twin)
    resampled_variation = resampled_values(metrics_fn, variation, idx_variation)
    resampled_twin = resampled_values(metrics_fn, twin, idx_twin)
    out: dict[str, Shift] = {}
    none = np.full(n_bootstrap, np.nan)  # a metric no resample gave
    for name, value in on_variation.items():
        if name not in on_twin:
            continue
        with np.errstate(invalid="ignore"):  # inf - inf (a rejection without background on both): NaN
            spread = resampled_variation.get(name, none) - resampled_twin.get(name, none)
            d = difference(value - on_twin[name], spread)
        out[name] = {**d.as_dict(), "paired": paired, "n_variation": len(variation), "n_nominal": len(twin)}
    return out
