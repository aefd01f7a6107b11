"""Calibration lines of the calorimetric baselines: an energy as a straight line in a summed charge, fitted
for the quantity the regression is judged on.

Per event, ``f = slope * Q + offset * u``: ``Q`` the summed charge (the unit of the image, e.g. thousands of
electrons) and ``u`` the number of terms the offset enters (1 for the event-energy calibration; the number of
pixels with charge for the pixel calibration, whose line applies to each such pixel and is judged on the
per-event sum). ``E`` the true energy (GeV or MeV, > 0).

The regressions are judged on the relative residual ``r = (f - E) / E`` (``detcnn.evaluation.regression``):
the headline "resolution" is its standard deviation, with its core width and its median (the bias). The fit
minimises the mean squared relative residual ``mean(r^2) = std(r)^2 + mean(r)^2``, a linear least-squares
problem with weights ``1 / E^2``, solved in closed form. It is also the loss an energy-regression network is
trained with by default (``relative_mse``), so network and calibration are fitted for the same number.

Why not the width alone: ``std(r)`` and the core width shrink with the line (``slope = offset = 0`` gives
``r = -1`` for every event, a width of 0), so they cannot be minimised without fixing the scale. The
scale-free width is ``s = std(f / E) / mean(f / E)``, and the least-squares line is exactly the line of
smallest ``s``, scaled down by ``1 / (1 + s^2)`` (with ``x = (Q / E, u / E)``, mean ``m`` and covariance
``C``, the solution ``(C + m m^T)^-1 m`` is ``C^-1 m / (1 + m^T C^-1 m)`` and ``s^2 = 1 / (m^T C^-1 m)``).
So on its train events ``mean(r) = -s^2 / (1 + s^2)`` exactly (-1 % at a 10 % resolution), and
``std(r) = s / (1 + s^2)``: the same shrinkage a network trained on ``relative_mse`` learns. Dividing the
line by ``1 - s^2 / (1 + s^2)`` would make ``mean(r)`` zero at ``std(r) = s``. A one-sided low tail (energy
escaping unseen, charge below threshold) raises the line above a fit of the contained events alone; a robust
(Huber) fit of that bulk, as this module made before, keeps the bulk unbiased but has a larger ``s`` and
``mean(r^2)`` on all events, which is what the task measures. The model's ``train`` section has these numbers
for its train events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.errors import InputError
from detcnn.evaluation.regression import resolution


def relative_least_squares(q: np.ndarray, e: np.ndarray, u: np.ndarray) -> tuple[float, float]:
    """``(slope, offset)`` minimising ``sum(((slope * q + offset * u - e) / e)^2)``; all ``(n_events,)``."""
    design = np.stack([q / e, u / e], axis=1)
    (slope, offset), *_ = np.linalg.lstsq(design, np.ones_like(e), rcond=None)
    return float(slope), float(offset)


def _check(q: np.ndarray, e: np.ndarray, u: np.ndarray) -> None:
    if not (q.shape == e.shape == u.shape) or q.ndim != 1:
        raise ValueError(f"charge, energy and units must be 1-d of equal length, got {q.shape}, {e.shape}, {u.shape}")
    bad = ~np.isfinite(q) | ~np.isfinite(e) | ~np.isfinite(u)
    if bad.any():
        raise InputError(f"{int(bad.sum())} events have NaN/inf charge or energy", fix="drop or fill them first")
    if np.any(e <= 0):
        raise InputError(f"{int(np.sum(e <= 0))} events have true energy <= 0", fix="energies must be positive")
    if len(q) < 2 or np.linalg.matrix_rank(np.stack([q / e, u / e], axis=1)) < 2:
        raise InputError(f"need at least 2 events with different charges per offset unit, got {len(q)} events",
                         fix="fit on the train split with more events")  # fmt: skip


def fit_calibration(
    total_charge: np.ndarray, true_energy: np.ndarray, units: np.ndarray | None = None
) -> dict[str, Any]:
    """Fit ``E = slope * Q + offset * u`` on train events for the smallest mean squared relative residual
    (see module doc); returns a JSON-able model dict.

    ``total_charge``: ``(n_events,)`` summed charge Q; ``true_energy``: ``(n_events,)`` (> 0);
    ``units``: ``(n_events,)`` how many times the offset enters each event (default 1). Keys: ``slope``
    (energy per charge unit), ``offset`` (energy), ``n_events``, ``objective``, ``train`` (the fit on its own
    events: ``resolution`` = std(r), ``core_width``, ``bias`` = median(r), ``mean`` = mean(r),
    ``rms_r`` = sqrt(mean(r^2)), the minimised number, and ``scale_free_resolution`` = std(r) / (1 + mean(r))).
    """
    q = np.asarray(total_charge, dtype=np.float64)
    e = np.asarray(true_energy, dtype=np.float64)
    u = np.ones_like(q) if units is None else np.asarray(units, dtype=np.float64)
    _check(q, e, u)
    slope, offset = relative_least_squares(q, e, u)
    res = resolution(slope * q + offset * u, e)
    train = {"resolution": res["rms"], "core_width": res["core_width"], "bias": res["bias"], "mean": res["mean"],
             "rms_r": float(np.hypot(res["rms"], res["mean"])),
             "scale_free_resolution": res["rms"] / (1.0 + res["mean"])}  # fmt: skip
    return {
        "slope": slope,
        "offset": offset,
        "n_events": len(q),
        "objective": "mean(((slope * Q + offset * u - E) / E)^2), the relative_mse of the energy regression",
        "train": train,
    }


def apply_calibration(model: Mapping[str, Any], total_charge: np.ndarray) -> np.ndarray:
    """Energy estimate ``slope * Q + offset`` per entry of ``total_charge`` (any shape)."""
    return float(model["slope"]) * np.asarray(total_charge, dtype=np.float64) + float(model["offset"])
