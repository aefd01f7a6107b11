"""Binary-classification metrics (class 1 is the signal).

ROC and AUC from average ranks (numpy). Background rejection at a signal efficiency is ``1 / eps_b``
with ``eps_b`` interpolated linearly on the ROC curve. Every function here is a :data:`Metric`
``f(y, score) -> float``; :func:`detcnn.evaluation.bootstrap.bootstrap_metrics` gives them bootstrap errors
and :func:`detcnn.evaluation.bootstrap.paired` the paired difference of two models.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def roc(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(eff_signal, eff_background)`` along the ROC curve, both increasing from 0 to 1: one point per
    distinct score value (a selection ``score >= c``; ties enter together), after the point (0, 0). NaN
    where a class is absent. ``y``: ``(n_events,)`` truth (signal = true or 1); ``score``: ``(n_events,)``."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last event of each distinct score
    n_sig = np.r_[0, np.cumsum(y)[last]]
    n_bkg = np.r_[0, last + 1] - n_sig
    with np.errstate(invalid="ignore", divide="ignore"):
        return n_sig / n_sig[-1], n_bkg / n_bkg[-1]


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x (n,)``, tied values sharing the mean of their ranks (as ``scipy.stats.rankdata``)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], len(xs)]
    ranks = np.empty(len(xs), dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2.0)[np.cumsum(new) - 1]
    return ranks


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the probability that a signal event scores above a background one, ties
    counting 1/2 (Mann-Whitney U from average ranks). NaN if either class is absent."""
    y = np.asarray(y).astype(bool)
    n_sig = int(y.sum())
    n_bkg = len(y) - n_sig
    if n_sig == 0 or n_bkg == 0:
        return float("nan")
    rank_sum = average_ranks(np.asarray(score, dtype=np.float64))[y].sum()
    return float((rank_sum - n_sig * (n_sig + 1) / 2) / (n_sig * n_bkg))


def background_efficiency_at(y: np.ndarray, score: np.ndarray, signal_efficiency: float) -> float:
    """``eps_b`` at ``eps_s = signal_efficiency`` (linear interpolation on the ROC curve)."""
    eff_s, eff_b = roc(y, score)
    return float(np.interp(signal_efficiency, eff_s, eff_b))


def rejection_at(y: np.ndarray, score: np.ndarray, signal_efficiency: float) -> float:
    """Background rejection ``1 / eps_b`` at the given signal efficiency (inf if no background passes)."""
    eff_b = background_efficiency_at(y, score, signal_efficiency)
    return float(np.inf) if eff_b <= 0 else 1.0 / eff_b
