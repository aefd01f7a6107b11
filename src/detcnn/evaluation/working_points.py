"""Working points of a classifier: score thresholds chosen on the validation split, applied unchanged to the
test split.

A working point is a cut ``score >= t``. Choosing ``t`` on the events it is then judged on tunes it on the
test sample: the efficiency "at 80 % purity" would be measured at a purity that the test sample itself was
used to reach. So every model, network or baseline alike, gets its thresholds from its scores on the
validation split, and the test metrics are those of the fixed cut on the test events (the bootstrap then
resamples the test events with the threshold held fixed: the error is the test sample's statistics; the
threshold's own uncertainty from the finite validation sample shows up as the achieved test efficiency or
purity differing from its target, which the metrics report beside the figure of merit).

- :func:`threshold_at_efficiency`: the cut keeping a fraction ``eff`` of the signal;
- :func:`threshold_at_purity`: the loosest cut (largest signal efficiency) whose purity reaches ``p``;
- :func:`cut_efficiencies`: signal efficiency, background efficiency and purity of a fixed cut.

Scores are ``(n_events,)`` floats, higher is more signal-like; ``is_signal`` is ``(n_events,)`` bool.
"""

from __future__ import annotations

import numpy as np

from detcnn.evaluation.multiclass import purity_efficiency_curve

#: The threshold of a working point no cut reaches (no validation selection had the purity): it selects
#: nothing, so the test efficiency is 0, as it was on validation.
NOTHING = float("inf")


def threshold_at_efficiency(is_signal: np.ndarray, score: np.ndarray, efficiency: float) -> float:
    """The threshold ``t`` with a fraction ``efficiency`` of the signal at ``score >= t`` (the k-th highest
    signal score, k = ceil(efficiency * n_signal)); ValueError without signal or for an efficiency outside
    (0, 1]."""
    if not 0.0 < efficiency <= 1.0:
        raise ValueError(f"signal efficiency must be in (0, 1], got {efficiency}")
    signal = np.sort(np.asarray(score, dtype=np.float64)[np.asarray(is_signal, dtype=bool)])[::-1]
    if len(signal) == 0:
        raise ValueError("no signal event to set a working point on")
    # round(…, 9): 0.07 * 100 is 7.000000000000001 in floating point, which must keep 7 events, not 8
    k = int(np.clip(np.ceil(round(efficiency * len(signal), 9)) - 1, 0, len(signal) - 1))
    return float(signal[k])


def threshold_at_purity(is_signal: np.ndarray, score: np.ndarray, purity: float) -> float:
    """The threshold of the largest signal efficiency among the cuts ``score >= t`` with purity >= ``purity``
    (:data:`NOTHING` if none reaches it); ValueError for a purity outside [0, 1]."""
    if not 0.0 <= purity <= 1.0:
        raise ValueError(f"target purity must be in [0, 1], got {purity}")
    thresholds, eff, pur = purity_efficiency_curve(np.asarray(is_signal, dtype=bool), score)
    ok = pur >= purity - 1e-12  # 1e-12: a purity of exactly 2/3 must pass a target of 2/3
    if not ok.any() or not np.isfinite(eff).any():
        return NOTHING
    return float(thresholds[ok][np.argmax(eff[ok])])


def cut_efficiencies(is_signal: np.ndarray, score: np.ndarray, threshold: float) -> tuple[float, float, float]:
    """``(signal efficiency, background efficiency, purity)`` of the cut ``score >= threshold``; NaN where a
    denominator is zero (no signal, no background, nothing selected)."""
    is_signal = np.asarray(is_signal, dtype=bool)
    passed = np.asarray(score, dtype=np.float64) >= threshold
    n_sig, n_bkg, n_sel = is_signal.sum(), (~is_signal).sum(), passed.sum()
    s = float(np.sum(passed & is_signal))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            s / n_sig if n_sig else float("nan"),
            (n_sel - s) / n_bkg if n_bkg else float("nan"),
            s / n_sel if n_sel else float("nan"),
        )


def rejection(is_signal: np.ndarray, score: np.ndarray, threshold: float) -> float:
    """Background rejection ``1 / eps_b`` of the cut ``score >= threshold`` (inf when no background passes)."""
    eff_b = cut_efficiencies(is_signal, score, threshold)[1]
    return float("inf") if eff_b == 0 else 1.0 / eff_b
