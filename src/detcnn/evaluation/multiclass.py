"""Multiclass event-classification metrics: confusion matrix, efficiency and purity, efficiency at fixed purity.

Conventions. Classes are integers ``0 .. K-1`` (for the neutrino sample 0 = nu_e CC, the signal, 1 = nu_mu CC,
2 = NC). In a confusion matrix rows are the TRUE class and columns the PREDICTED class. The efficiency of class
k is the fraction of true k events predicted k (row-normalised diagonal); its purity is the fraction of events
predicted k that are truly k (column-normalised diagonal). An empty row or column gives NaN, never a warning.

Efficiency at purity: a selection ``score >= c`` keeps ``S(c)`` signal and ``B(c)`` other events; its
efficiency is ``S / S_total`` and its purity ``S / (S + B)``. ``efficiency_at_purity`` is the largest efficiency
over all thresholds ``c`` whose selection has purity >= the target, so a network score (P(nu_e)) and a cut
baseline's pass/fail selection (a 0/1 score, two thresholds) are compared on the same footing. (The evaluation
does not scan the test events so: it fixes the threshold on the validation split,
:mod:`detcnn.evaluation.working_points`, and applies it to test.)

Every metric here that takes ``(y, score)`` is a :data:`detcnn.evaluation.metrics.Metric`, so it runs inside
:func:`detcnn.evaluation.bootstrap.bootstrap_metrics` (and, through ``bootstrap.on_rows``, ``bootstrap.paired``).
For confusion-matrix metrics :func:`bootstrap_confusion` gives every bootstrap resample's matrix in one pass.
"""

from __future__ import annotations

import numpy as np

from detcnn.evaluation.metrics import Metric, average_ranks

NU_E = 0  # signal class of the neutrino sample (nu_e CC)


def _check_labels(y: np.ndarray, n_classes: int, what: str) -> np.ndarray:
    """``y`` as int64, or a ValueError naming the bad values and the valid range."""
    y = np.asarray(y)
    bad = (y < 0) | (y >= n_classes) | (y != np.floor(y)) if y.size else np.zeros(0, dtype=bool)
    if bad.any():
        raise ValueError(f"{what} must be integers in [0, {n_classes - 1}] (n_classes={n_classes}); got {y[bad][:5]}")
    return y.astype(np.int64, copy=False)


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float64, NaN where ``den == 0`` (no RuntimeWarning)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_matrix(y: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts: ``conf[i, j]`` = events of true class i predicted as class j.

    ``y``, ``y_pred``: ``(n_events,)`` integer labels in ``[0, K-1]``.
    """
    y = _check_labels(y, n_classes, "true labels y")
    y_pred = _check_labels(y_pred, n_classes, "predicted labels y_pred")
    if y.shape != y_pred.shape:
        raise ValueError(f"y and y_pred need the same shape, got {y.shape} and {y_pred.shape}")
    flat = np.bincount((y * n_classes + y_pred).ravel(), minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def bootstrap_confusion(y: np.ndarray, y_pred: np.ndarray, n_classes: int, indices: np.ndarray) -> np.ndarray:
    """``(n_boot, K, K)`` confusion matrices of the resampled events ``indices`` (``(n_boot, n_events)``).

    One ``bincount`` over all resamples: resample b's cell code is offset by ``b * K * K``.
    """
    conf_code = _check_labels(y, n_classes, "y") * n_classes + _check_labels(y_pred, n_classes, "y_pred")
    indices = np.asarray(indices)
    kk = n_classes * n_classes
    codes = conf_code[indices] + kk * np.arange(len(indices))[:, None]
    return np.bincount(codes.ravel(), minlength=len(indices) * kk).reshape(len(indices), n_classes, n_classes)


def efficiency_purity(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class ``(efficiency (K,), purity (K,))`` from a ``(..., K, K)`` confusion matrix (rows = truth).

    NaN where a class has no true events (efficiency) or no predicted events (purity). Leading batch axes
    (e.g. bootstrap resamples from :func:`bootstrap_confusion`) are kept.
    """
    conf = np.asarray(conf)
    diag = np.diagonal(conf, axis1=-2, axis2=-1)
    return safe_divide(diag, conf.sum(axis=-1)), safe_divide(diag, conf.sum(axis=-2))


def accuracy(conf: np.ndarray) -> np.ndarray | float:
    """Fraction of events on the diagonal of a ``(..., K, K)`` confusion matrix (NaN if empty)."""
    conf = np.asarray(conf)
    out = safe_divide(np.trace(conf, axis1=-2, axis2=-1), conf.sum(axis=(-2, -1)))
    return float(out) if out.ndim == 0 else out


def purity_efficiency_curve(is_signal: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(thresholds, efficiency, purity)`` of the selections ``score >= threshold``, thresholds decreasing.

    ``is_signal``: ``(n_events,)`` bool; ``score``: ``(n_events,)`` float, higher = more signal-like. One point
    per distinct score value (ties enter together). Efficiency is NaN if there is no signal event.
    """
    is_signal = np.asarray(is_signal, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    if is_signal.shape != score.shape or score.ndim != 1:
        raise ValueError(f"is_signal and score must be 1-d of equal length, got {is_signal.shape} and {score.shape}")
    if np.isnan(score).any():
        raise ValueError(f"score has {int(np.isnan(score).sum())} NaN values; remove or fill them first")
    order = np.argsort(-score, kind="stable")
    s_sorted = score[order]
    n_sig = np.cumsum(is_signal[order])
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(score) - 1] if len(score) else np.array([], int)
    selected = last_of_tie + 1
    sig = n_sig[last_of_tie].astype(np.float64)
    total = is_signal.sum()
    eff = sig / total if total > 0 else np.full(len(sig), np.nan)
    return s_sorted[last_of_tie], eff, sig / selected


def efficiency_at_purity(is_signal: np.ndarray, score: np.ndarray, purity: float) -> float:
    """Largest signal efficiency of a selection ``score >= c`` with purity >= ``purity`` (0.0 if none does).

    NaN if there is no signal event (efficiency undefined; the bootstrap counts such resamples apart).
    """
    if not 0.0 <= purity <= 1.0:
        raise ValueError(f"target purity must be in [0, 1], got {purity}")
    _, eff, pur = purity_efficiency_curve(is_signal, score)
    if not np.asarray(is_signal).any():
        return float("nan")
    ok = pur >= purity - 1e-12  # 1e-12: a purity of exactly 2/3 must pass a target of 2/3
    return float(eff[ok].max()) if ok.any() else 0.0


def selection_efficiency_purity(is_signal: np.ndarray, selected: np.ndarray) -> tuple[float, float]:
    """``(efficiency, purity)`` of a pass/fail selection (``(n_events,)`` bools); NaN where undefined."""
    is_signal, selected = np.asarray(is_signal, dtype=bool), np.asarray(selected, dtype=bool)
    s = float(np.sum(is_signal & selected))
    return float(safe_divide(s, is_signal.sum())), float(safe_divide(s, selected.sum()))


def selection_metrics(signal_class: int = NU_E) -> dict[str, Metric]:
    """Bootstrap-ready metrics of a pass/fail selection given as a 0/1 score: ``efficiency`` and ``purity``."""

    def pick(k: int) -> Metric:
        return lambda y, s: selection_efficiency_purity(np.asarray(y) == signal_class, np.asarray(s) > 0.5)[k]

    return {"efficiency": pick(0), "purity": pick(1)}


def one_vs_rest_auc(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """``(K,)`` ROC AUC of ``proba[:, k]`` separating class k from all others (NaN if k or the rest is absent).

    ``y``: ``(n_events,)`` labels in ``[0, K-1]``; ``proba``: ``(n_events, K)`` scores (probabilities or
    logits). Mann-Whitney U from average ranks (ties count 1/2), all classes at once: equal to the binary
    ``detcnn.evaluation.metrics.auc(y == k, proba[:, k])``.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"proba must be (n_events, n_classes), got shape {proba.shape}")
    k = proba.shape[1]
    y = _check_labels(y, k, "y")
    if len(y) != len(proba):
        raise ValueError(f"y has {len(y)} events but proba has {len(proba)}")
    positive = y[:, None] == np.arange(k)[None, :]  # (N, K)
    n_pos = positive.sum(axis=0).astype(np.float64)
    n_neg = len(y) - n_pos
    ranks = np.stack([average_ranks(proba[:, j]) for j in range(k)], axis=1)
    rank_sum = np.where(positive, ranks, 0.0).sum(axis=0)
    return safe_divide(rank_sum - n_pos * (n_pos + 1) / 2, n_pos * n_neg)


def one_vs_rest_auc_metric(k: int) -> Metric:
    """``f(y, proba) -> AUC of class k``, ``proba`` ``(n_events, K)``.

    ``bootstrap_metrics`` and ``paired`` resample the rows of ``proba`` like any score.
    """
    return lambda y, proba: float(one_vs_rest_auc(y, proba)[k])
