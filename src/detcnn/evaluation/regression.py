"""Energy-regression metrics on relative residuals ``r = (pred - true) / true``: bias and resolution.

* ``bias``: the median of r (robust to the one-sided tails of escaping energy); ``mean``: the mean of r.
* ``rms``: the standard deviation of r about its mean (ROOT's ``TH1::GetRMS`` convention, now ``GetStdDev``;
  the key keeps ROOT's old name), tails included. Plots and sentences call it the standard deviation.
* ``core_width``: half the width of the central 68.27 % interval of r, ``(q(84.135 %) - q(15.865 %)) / 2``.
  It equals sigma for a Gaussian and, unlike a Gaussian fit to the core, needs no binning, no fit range and
  no starting values, cannot fail to converge on a small bin or a bootstrap resample, and is the same number
  for every model. A fit would also depend on where the core is cut off, which is what the tails change.

Statistical errors (Gaussian approximations, for error bars): ``bias_err = sqrt(pi / 2) * w / sqrt(n)`` (the
median's variance), ``core_width_err = 0.9617 * w / sqrt(n)`` (the half-difference of the 15.87 % and
84.13 % quantiles: ``Var = p (1 - 2p) / (2 n f^2)`` with ``p = 0.15866`` and ``f = phi(1) / sigma``),
with w the core width.
"""

from __future__ import annotations

import numpy as np

CENTRAL = 0.6826894921370859  # P(|z| < 1) for a standard normal
Q_LO, Q_HI = 0.5 * (1.0 - CENTRAL), 0.5 * (1.0 + CENTRAL)
MEDIAN_ERR = float(np.sqrt(np.pi / 2.0))  # std(median) * sqrt(n) / sigma for a Gaussian
# std(half central-68 % width) * sqrt(n) / sigma for a Gaussian: sqrt(p (1 - 2p) / 2) / phi(1)
WIDTH_ERR = float(np.sqrt(Q_LO * (1.0 - 2.0 * Q_LO) / 2.0) / (np.exp(-0.5) / np.sqrt(2.0 * np.pi)))


def relative_residuals(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``(pred - true) / true`` as float64 ``(n_events,)``; ValueError on shape mismatch, NaN/inf or ``true == 0``."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape or pred.ndim != 1:
        raise ValueError(f"pred and true must be 1-d of equal length, got {pred.shape} and {true.shape}")
    bad = ~np.isfinite(pred) | ~np.isfinite(true) | (true == 0)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} events have a non-finite prediction/truth or true == 0 (first at index "
            f"{int(np.flatnonzero(bad)[0])}); relative residuals need finite values and a non-zero true energy"
        )
    return (pred - true) / true


def resolution(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """``{"rms", "core_width", "bias", "mean", "bias_err", "core_width_err", "n"}`` of ``r`` (see module doc).

    ``pred``, ``true``: ``(n_events,)`` energies in the same unit (e.g. GeV); the results are dimensionless.
    """
    r = relative_residuals(pred, true)
    if len(r) == 0:
        raise ValueError("resolution of zero events: pass at least one event")
    q_lo, med, q_hi = np.quantile(r, [Q_LO, 0.5, Q_HI])
    width = 0.5 * (q_hi - q_lo)
    sqrt_n = np.sqrt(len(r))
    return {
        "rms": float(np.std(r)),
        "core_width": float(width),
        "bias": float(med),
        "mean": float(np.mean(r)),
        "bias_err": float(MEDIAN_ERR * width / sqrt_n),
        "core_width_err": float(WIDTH_ERR * width / sqrt_n),
        "n": len(r),
    }


def _grouped_quantile(sorted_values: np.ndarray, starts: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Quantile ``q`` of each group of ``sorted_values`` (groups contiguous, sorted within), numpy's 'linear'."""
    pos = q * np.maximum(counts - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    safe = counts > 0
    idx_lo = np.where(safe, starts + lo, 0)
    idx_hi = np.where(safe, starts + hi, 0)
    if len(sorted_values) == 0:
        return np.full(len(counts), np.nan)
    v = sorted_values[idx_lo] + (pos - lo) * (sorted_values[idx_hi] - sorted_values[idx_lo])
    return np.where(safe, v, np.nan)


def binned_resolution(pred: np.ndarray, true: np.ndarray, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Bias and width of ``r`` in bins of the TRUE energy, all bins at once (one sort, no loop over bins).

    ``edges``: ``(n_bins + 1,)`` increasing bin edges in the unit of ``true`` (e.g. GeV); events outside are
    ignored; a bin is ``[lo, hi)``, the last one ``[lo, hi]``. Returns ``(n_bins,)`` arrays ``centre``, ``n``,
    ``bias``, ``core_width``, ``rms``, ``mean``, ``bias_err``, ``core_width_err`` (NaN in empty bins) and ``edges``.
    """
    r = relative_residuals(pred, true)
    true = np.asarray(true, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be a 1-d increasing array of at least 2 values, got {edges}")
    n_bins = len(edges) - 1
    b = np.searchsorted(edges, true, side="right") - 1
    b[true == edges[-1]] = n_bins - 1
    inside = (b >= 0) & (b < n_bins)
    b, r = b[inside], r[inside]
    order = np.lexsort((r, b))
    r_sorted = r[order]
    counts = np.bincount(b, minlength=n_bins)
    starts = np.cumsum(counts) - counts
    q_lo, med, q_hi = (_grouped_quantile(r_sorted, starts, counts, q) for q in (Q_LO, 0.5, Q_HI))
    n = counts.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(b, weights=r, minlength=n_bins) / n
        var = np.bincount(b, weights=(r - mean[b]) ** 2, minlength=n_bins) / n  # two-pass: no cancellation
        width = 0.5 * (q_hi - q_lo)
        return {
            "edges": edges,
            "centre": 0.5 * (edges[1:] + edges[:-1]),
            "n": counts,
            "bias": med,
            "core_width": width,
            "rms": np.sqrt(var),
            "mean": mean,
            "bias_err": MEDIAN_ERR * width / np.sqrt(n),
            "core_width_err": WIDTH_ERR * width / np.sqrt(n),
        }
