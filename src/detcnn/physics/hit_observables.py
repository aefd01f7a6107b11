"""Per-event observables of detector images, for the cut-based baselines.

They are computed from the same zero-suppressed charge images the networks see (no truth), so a network
and a cut selection are compared on equal information:

- ``total_charge`` [ke-]: charge summed over the pixels, averaged over the views (an energy estimator);
- ``n_pixels``: pixels above threshold, summed over the views (hit count);
- ``length_cm``: the largest distance of a pixel from the event's start (the first occupied column, at the
  charge-weighted row there), the largest over the views: a long muon track makes a long event;
- ``width_cm``: charge-weighted RMS distance from the event's principal axis, averaged over the views
  (showers are wide, tracks narrow);
- ``dense_fraction``: fraction of the charge in pixels with at least 5 occupied neighbours of 8, averaged
  over the views (showers are clumpy, tracks are lines);
- ``start_charge`` [ke-]: charge within 1.5 pixels of the start, averaged over the views (dE/dx where the
  event begins: one MIP for an electron, two for a converted photon's e+e- pair).
"""

from __future__ import annotations

import numpy as np

OBSERVABLE_NAMES = ("total_charge", "n_pixels", "length_cm", "width_cm", "dense_fraction", "start_charge")


def _neighbours(occupied: np.ndarray) -> np.ndarray:
    """Occupied neighbours (of 8) of every pixel of ``(..., H, W)`` boolean images."""
    padded = np.pad(occupied.astype(np.int16), [(0, 0)] * (occupied.ndim - 2) + [(1, 1), (1, 1)])
    h, w = occupied.shape[-2:]
    total = sum(padded[..., 1 + di : 1 + di + h, 1 + dj : 1 + dj + w] for di in (-1, 0, 1) for dj in (-1, 0, 1))
    return total - occupied


def hit_observables(charge: np.ndarray, pitch_cm: float) -> dict[str, np.ndarray]:
    """Observables (module doc) of charge images ``(n_events, n_views, H, W)`` [ke-], each ``(n_events,)``."""
    charge = np.asarray(charge, dtype=np.float64)
    h, w = charge.shape[-2:]
    occupied = charge > 0
    q_view = charge.sum(axis=(2, 3))  # (n, V)
    safe_q = np.where(q_view > 0, q_view, 1.0)
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]

    # start: first occupied column, charge-weighted row within it
    any_col = occupied.any(axis=2)  # (n, V, W)
    first_col = np.where(any_col.any(axis=2), any_col.argmax(axis=2), 0)  # (n, V)
    col_q = np.take_along_axis(charge, first_col[:, :, None, None].repeat(h, axis=2), axis=3)[..., 0]  # (n, V, H)
    start_row = (col_q * rows[:, 0]).sum(axis=2) / np.where(col_q.sum(axis=2) > 0, col_q.sum(axis=2), 1.0)
    d_row = rows[None, None] - start_row[:, :, None, None]
    d_col = cols[None, None] - first_col[:, :, None, None]
    dist = np.hypot(d_row, d_col)  # (n, V, H, W) in pixels
    length = np.where(occupied, dist, 0.0).max(axis=(2, 3)).max(axis=1) * pitch_cm
    start_charge = np.where(dist <= 1.5, charge, 0.0).sum(axis=(2, 3)).mean(axis=1)

    # principal axis from the charge-weighted second moments
    mr = (charge * rows).sum(axis=(2, 3)) / safe_q
    mc = (charge * cols).sum(axis=(2, 3)) / safe_q
    dr = rows[None, None] - mr[:, :, None, None]
    dc = cols[None, None] - mc[:, :, None, None]
    srr = (charge * dr * dr).sum(axis=(2, 3)) / safe_q
    scc = (charge * dc * dc).sum(axis=(2, 3)) / safe_q
    src = (charge * dr * dc).sum(axis=(2, 3)) / safe_q
    minor = 0.5 * (srr + scc) - np.sqrt(0.25 * (srr - scc) ** 2 + src**2)  # smaller eigenvalue, pixels^2
    width = np.sqrt(np.maximum(minor, 0.0)).mean(axis=1) * pitch_cm

    dense = occupied & (_neighbours(occupied) >= 5)
    dense_fraction = (np.where(dense, charge, 0.0).sum(axis=(2, 3)) / safe_q).mean(axis=1)
    return {
        "total_charge": q_view.mean(axis=1),
        "n_pixels": occupied.sum(axis=(1, 2, 3)).astype(np.float64),
        "length_cm": length,
        "width_cm": width,
        "dense_fraction": dense_fraction,
        "start_charge": start_charge,
    }
