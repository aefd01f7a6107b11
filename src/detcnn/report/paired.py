"""Paired-bootstrap differences between two models on the same resampled test events, and the sentence
that reports one: correlated fluctuations cancel, so the difference is far better measured than either."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def paired_rows(fn_a: Callable[[np.ndarray], float], fn_b: Callable[[np.ndarray], float], n: int,
                indices: np.ndarray) -> dict[str, float]:  # fmt: skip
    """``fn_a(rows) - fn_b(rows)`` on all ``n`` events and on the same resamples ``indices`` ``(n_boot, n)``:
    value, err (std over resamples) and significance (value / err)."""
    diffs = np.array([fn_a(i) - fn_b(i) for i in indices])
    diffs = diffs[np.isfinite(diffs)]
    value = fn_a(np.arange(n)) - fn_b(np.arange(n))
    err = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")
    sig = value / err if err and np.isfinite(err) and err > 0 else float("nan")
    return {"value": float(value), "err": err, "significance": float(sig)}


def sentence(what: str, a: str, b: str, d: Mapping[str, float], digits: int = 4) -> str:
    """One markdown sentence: ``what``: a minus b = value ± err, i.e. so many standard deviations."""
    return (
        f"\n{what}: **{a}** minus **{b}** = {d['value']:+.{digits}f} ± {d['err']:.{digits}f} (paired bootstrap, "
        f"the same resampled test events for both), i.e. {d['significance']:.1f} standard deviations.\n"
    )
