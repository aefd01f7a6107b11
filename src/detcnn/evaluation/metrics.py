"""Binary-classification metrics (class 1 is the signal) with bootstrap uncertainties.

ROC and AUC come from scikit-learn. Background rejection at a signal efficiency is ``1 / eps_b``
with ``eps_b`` interpolated linearly on the ROC curve. Bootstrap uncertainties resample the test
events with replacement; the resampled indices depend only on the number of events and the seed,
so every model evaluated on the same test events sees the same resamples (a paired bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def roc(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(eff_signal, eff_background)`` along the ROC curve, both increasing."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    return tpr, fpr


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def background_efficiency_at(y: np.ndarray, score: np.ndarray, signal_efficiency: float) -> float:
    """``eps_b`` at ``eps_s = signal_efficiency`` (linear interpolation on the ROC curve)."""
    eff_s, eff_b = roc(y, score)
    return float(np.interp(signal_efficiency, eff_s, eff_b))


def rejection_at(y: np.ndarray, score: np.ndarray, signal_efficiency: float) -> float:
    """Background rejection ``1 / eps_b`` at the given signal efficiency (inf if no background passes)."""
    eff_b = background_efficiency_at(y, score, signal_efficiency)
    return float(np.inf) if eff_b <= 0 else 1.0 / eff_b


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n)`` resampled event indices; identical for identical ``(n, n_boot, seed)``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n))


def metric_functions(efficiencies: Sequence[float]) -> dict[str, Metric]:
    """The report's metrics: ``auc`` and ``rej_at_<eff>`` for each signal efficiency."""
    fns: dict[str, Metric] = {"auc": auc}
    for eff in efficiencies:
        fns[f"rej_at_{eff:g}"] = lambda y, s, e=eff: rejection_at(y, s, e)
    return fns


def evaluate_with_bootstrap(
    y: np.ndarray, score: np.ndarray, metrics: dict[str, Metric], indices: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "err", ...}}``: value on all events, err = std over bootstrap resamples."""
    out = {}
    for name, fn in metrics.items():
        samples = np.array([fn(y[i], score[i]) for i in indices])
        finite = samples[np.isfinite(samples)]
        out[name] = {
            "value": fn(y, score),
            "err": float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan"),
            "n_bootstrap": len(indices),
        }
    return out


def paired_difference(
    y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, metric: Metric, indices: np.ndarray
) -> dict[str, float]:
    """``metric(a) - metric(b)`` with its uncertainty from the same resampled events for both."""
    diffs = np.array([metric(y[i], score_a[i]) - metric(y[i], score_b[i]) for i in indices])
    value = metric(y, score_a) - metric(y, score_b)
    err = float(np.std(diffs, ddof=1))
    if err > 0:
        significance = value / err
    else:  # identical scores on every resample: no difference, or a difference without fluctuation
        significance = 0.0 if value == 0 else float(np.sign(value)) * float("inf")
    return {"value": float(value), "err": err, "significance": float(significance)}
