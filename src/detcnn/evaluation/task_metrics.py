"""The test metrics of every task, each with a bootstrap uncertainty, under names shared by networks and baselines.

A prediction is a dict of arrays (see :mod:`detcnn.evaluate`): ``score`` ``(N,)`` and optionally ``proba``
``(N, K)`` and ``selected`` ``(N,)`` for classification; ``pred`` ``(N, V, H, W)`` for the pixel tasks;
``pred`` ``(N,)`` for energy regression. Every resample uses :func:`bootstrap_indices` of ``(N, seed)``, so
two models on the same test events see the same resamples and their differences can be paired.

Names (``test/`` prefix in ``metrics.json`` and MLflow):
- binary classification: ``auc``, ``rej_at_<eff>`` (background rejection 1/eps_b at signal efficiency eff);
- multiclass: ``auc`` (signal class against the rest), ``signal_efficiency`` and ``signal_purity`` of the
  model's own selection (arg max, or the cuts), ``eff_at_purity_<p>``; networks add ``accuracy`` and, per
  class, ``auc_<class>`` (one against the rest), ``efficiency_<class>`` and ``purity_<class>`` (arg max);
- segmentation: ``accuracy`` on non-empty pixels, ``mean_iou``, ``iou_<c>``, ``efficiency_<c>``, ``purity_<c>``;
- pixel regression: ``pixel_rmse`` [MeV] on pixels with deposited energy, ``event_resolution``,
  ``event_core_width`` and ``event_bias`` of the summed energy per event;
- energy regression: ``resolution`` (RMS of (pred - true)/true), ``core_width``, ``bias``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import Metric, evaluate_with_bootstrap, metric_functions
from detcnn.evaluation.multiclass import (
    efficiency_at_purity_metric,
    one_vs_rest_auc_metric,
    selection_metrics,
)
from detcnn.evaluation.regression import resolution
from detcnn.evaluation.segmentation import bootstrap_nonempty_metrics, event_confusions

Metrics = dict[str, dict[str, float]]


def _prefixed(results: Mapping[str, dict[str, float]]) -> Metrics:
    return {f"test/{k}": v for k, v in results.items()}


def _fraction(passed: np.ndarray) -> float:
    return float(np.mean(passed)) if len(passed) else float("nan")


def _signal_auc(signal: int) -> Metric:
    from detcnn.evaluation.metrics import auc

    return lambda y, s: auc(y == signal, s) if 0 < np.sum(y == signal) < len(y) else float("nan")


def classification_metrics(
    y: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Binary (two classes: class 1 is the signal) or multiclass (``attrs['signal_class']``) metrics."""
    names = list(attrs.get("class_names") or ["background", "signal"])
    score = prediction["score"]
    if len(names) == 2:
        return _prefixed(evaluate_with_bootstrap(y, score, metric_functions(settings["efficiencies"]), indices))
    signal = int(attrs.get("signal_class", 0))
    out = evaluate_with_bootstrap(y, score, {"auc": _signal_auc(signal)}, indices)
    selected = prediction["selected"].astype(np.float64)
    chosen = evaluate_with_bootstrap(y, selected, selection_metrics(signal), indices)
    out.update({f"signal_{k}": v for k, v in chosen.items()})
    at = {f"eff_at_purity_{p:g}": efficiency_at_purity_metric(p, signal) for p in settings["purities"]}
    out.update(evaluate_with_bootstrap(y, score, at, indices))
    if "proba" in prediction:
        proba = prediction["proba"]
        per_class = {f"auc_{n}": one_vs_rest_auc_metric(k) for k, n in enumerate(names)}
        out.update(evaluate_with_bootstrap(y, proba, per_class, indices))
        accuracy: Metric = lambda y_, p_: float(np.mean(p_.argmax(axis=1) == y_))
        out.update(evaluate_with_bootstrap(y, proba, {"accuracy": accuracy}, indices))
        per_class: dict[str, Metric] = {}
        for k, n in enumerate(names):  # arg-max selection of every class: efficiency and purity
            per_class[f"efficiency_{n}"] = lambda y_, p_, k=k: _fraction(p_.argmax(axis=1)[y_ == k] == k)
            per_class[f"purity_{n}"] = lambda y_, p_, k=k: _fraction(y_[p_.argmax(axis=1) == k] == k)
        out.update(evaluate_with_bootstrap(y, proba, per_class, indices))
    return _prefixed(out)


def segmentation_metrics(
    y_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Pixel metrics on non-empty truth pixels, bootstrapped over events through per-event confusions."""
    names = list(attrs["pixel_class_names"])
    per_event = event_confusions(y_pix, prediction["pred"], len(names))
    return _prefixed(bootstrap_nonempty_metrics(per_event, indices, class_names=names))


def _bootstrap_values(fn: Callable[[np.ndarray], dict[str, float]], n: int, indices: np.ndarray) -> Metrics:
    """``fn(rows)`` on all rows and on every resample: ``{name: {value, err, n_bootstrap}}``."""
    value = fn(np.arange(n))
    samples = [fn(i) for i in indices]
    out = {}
    for k, v in value.items():
        s = np.array([x[k] for x in samples])
        s = s[np.isfinite(s)]
        out[k] = {"value": v, "err": float(np.std(s, ddof=1)) if len(s) > 1 else float("nan"),
                  "n_bootstrap": len(indices)}  # fmt: skip
    return out


def pixel_regression_metrics(
    e_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Per-pixel RMS error [MeV] on pixels with deposited energy, and the resolution of the per-event sum."""
    pred = prediction["pred"]
    n = len(e_pix)
    hit = e_pix > 0
    sq = np.where(hit, (pred - e_pix) ** 2, 0.0).reshape(n, -1).sum(axis=1)
    n_hit = hit.reshape(n, -1).sum(axis=1)
    true_sum = e_pix.reshape(n, -1).sum(axis=1).astype(np.float64)
    pred_sum = pred.reshape(n, -1).sum(axis=1).astype(np.float64)

    def fn(rows: np.ndarray) -> dict[str, float]:
        r = resolution(pred_sum[rows], true_sum[rows])
        return {"pixel_rmse": float(np.sqrt(sq[rows].sum() / max(n_hit[rows].sum(), 1))),
                "event_resolution": r["rms"], "event_core_width": r["core_width"], "event_bias": r["bias"]}  # fmt: skip

    return _prefixed(_bootstrap_values(fn, n, indices))


def energy_regression_metrics(
    true: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Relative resolution of the event energy: RMS, core width and bias of (pred - true) / true."""
    pred = prediction["pred"].astype(np.float64)
    true = np.asarray(true, dtype=np.float64)

    def fn(rows: np.ndarray) -> dict[str, float]:
        r = resolution(pred[rows], true[rows])
        return {"resolution": r["rms"], "core_width": r["core_width"], "bias": r["bias"]}

    return _prefixed(_bootstrap_values(fn, len(true), indices))


TaskMetrics = Callable[
    [np.ndarray, Mapping[str, np.ndarray], Mapping[str, Any], Mapping[str, Any], np.ndarray], Metrics
]
TASK_METRICS: dict[str, TaskMetrics] = {
    "classification": classification_metrics,
    "segmentation": segmentation_metrics,
    "pixel_regression": pixel_regression_metrics,
    "energy_regression": energy_regression_metrics,
}
#: The headline metric of each task and whether higher is better (for sorting the report tables).
HEADLINE: dict[str, tuple[str, bool]] = {
    "classification": ("test/auc", True),
    "segmentation": ("test/accuracy", True),
    "pixel_regression": ("test/event_resolution", False),
    "energy_regression": ("test/resolution", False),
}


def headline(task: str, metrics: Mapping[str, Mapping[str, float]]) -> float:
    """The headline value, sign-flipped where lower is better (so larger is always better)."""
    name, higher = HEADLINE[task]
    value = metrics[name]["value"]
    return value if higher else -value


def metric_names(task: str, metrics: Sequence[str]) -> list[str]:
    """The headline first, then the rest in their order."""
    first = HEADLINE[task][0]
    return [first, *[m for m in metrics if m != first]]
