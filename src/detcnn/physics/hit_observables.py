"""Per-event observables of detector images, for the cut-based baselines: :data:`HIT_OBSERVABLES`, the table.

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

Every observable is one function of :class:`ChargeViews` (the images and the intermediates several
observables share, each computed once and only when asked for) returning ``(n_events,)`` float64; a new one
is a function and a line in :data:`HIT_OBSERVABLES`. The image files carry them in the table's order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np


def _neighbours(occupied: np.ndarray) -> np.ndarray:
    """Occupied neighbours (of 8) of every pixel of ``(..., H, W)`` boolean images."""
    padded = np.pad(occupied.astype(np.int16), [(0, 0)] * (occupied.ndim - 2) + [(1, 1), (1, 1)])
    h, w = occupied.shape[-2:]
    total = sum(padded[..., 1 + di : 1 + di + h, 1 + dj : 1 + dj + w] for di in (-1, 0, 1) for dj in (-1, 0, 1))
    return total - occupied


class ChargeViews:
    """Charge images ``(n_events, n_views, H, W)`` [ke-] with pixels of ``pitch_cm``, and what the observables
    share: occupancy, charge per view, pixel coordinates, the event's start and the charge moments."""

    def __init__(self, charge: np.ndarray, pitch_cm: float) -> None:
        self.charge = np.asarray(charge, dtype=np.float64)
        self.pitch_cm = pitch_cm
        h, w = self.charge.shape[-2:]
        self.rows = np.arange(h, dtype=np.float64)[:, None]  # (H, 1) pixel row
        self.cols = np.arange(w, dtype=np.float64)[None, :]  # (1, W) pixel column

    @cached_property
    def occupied(self) -> np.ndarray:
        """``(n, V, H, W)`` pixels above threshold."""
        return self.charge > 0

    @cached_property
    def q_view(self) -> np.ndarray:
        """``(n, V)`` charge per view [ke-]."""
        return self.charge.sum(axis=(2, 3))

    @cached_property
    def safe_q(self) -> np.ndarray:
        """``(n, V)`` charge per view, 1 where a view is empty (a divisor)."""
        return np.where(self.q_view > 0, self.q_view, 1.0)

    @cached_property
    def start_distance(self) -> np.ndarray:
        """``(n, V, H, W)`` distance [pixels] of every pixel from the start: the first occupied column, at the
        charge-weighted row within it."""
        charge, rows, h = self.charge, self.rows, self.charge.shape[-2]
        any_col = self.occupied.any(axis=2)  # (n, V, W)
        first_col = np.where(any_col.any(axis=2), any_col.argmax(axis=2), 0)  # (n, V)
        col_q = np.take_along_axis(charge, first_col[:, :, None, None].repeat(h, axis=2), axis=3)[..., 0]  # (n, V, H)
        start_row = (col_q * rows[:, 0]).sum(axis=2) / np.where(col_q.sum(axis=2) > 0, col_q.sum(axis=2), 1.0)
        d_row = rows[None, None] - start_row[:, :, None, None]
        d_col = self.cols[None, None] - first_col[:, :, None, None]
        return np.hypot(d_row, d_col)

    @cached_property
    def minor_variance(self) -> np.ndarray:
        """``(n, V)`` the smaller eigenvalue [pixels^2] of the charge-weighted second moments (the variance
        across the principal axis)."""
        charge, safe_q = self.charge, self.safe_q
        mr = (charge * self.rows).sum(axis=(2, 3)) / safe_q
        mc = (charge * self.cols).sum(axis=(2, 3)) / safe_q
        dr = self.rows[None, None] - mr[:, :, None, None]
        dc = self.cols[None, None] - mc[:, :, None, None]
        srr = (charge * dr * dr).sum(axis=(2, 3)) / safe_q
        scc = (charge * dc * dc).sum(axis=(2, 3)) / safe_q
        src = (charge * dr * dc).sum(axis=(2, 3)) / safe_q
        return 0.5 * (srr + scc) - np.sqrt(0.25 * (srr - scc) ** 2 + src**2)


def total_charge(views: ChargeViews) -> np.ndarray:
    """Charge [ke-] summed over the pixels, averaged over the views."""
    return views.q_view.mean(axis=1)


def n_pixels(views: ChargeViews) -> np.ndarray:
    """Pixels above threshold, summed over the views."""
    return views.occupied.sum(axis=(1, 2, 3)).astype(np.float64)


def length_cm(views: ChargeViews) -> np.ndarray:
    """Largest distance [cm] of an occupied pixel from the start, the largest over the views."""
    return np.where(views.occupied, views.start_distance, 0.0).max(axis=(2, 3)).max(axis=1) * views.pitch_cm


def width_cm(views: ChargeViews) -> np.ndarray:
    """Charge-weighted RMS distance [cm] from the principal axis, averaged over the views."""
    return np.sqrt(np.maximum(views.minor_variance, 0.0)).mean(axis=1) * views.pitch_cm


def dense_fraction(views: ChargeViews) -> np.ndarray:
    """Fraction of the charge in pixels with at least 5 occupied neighbours of 8, averaged over the views."""
    dense = views.occupied & (_neighbours(views.occupied) >= 5)
    return (np.where(dense, views.charge, 0.0).sum(axis=(2, 3)) / views.safe_q).mean(axis=1)


def start_charge(views: ChargeViews) -> np.ndarray:
    """Charge [ke-] within 1.5 pixels of the start, averaged over the views."""
    return np.where(views.start_distance <= 1.5, views.charge, 0.0).sum(axis=(2, 3)).mean(axis=1)


#: Observable name -> function of :class:`ChargeViews`, ``(n_events,)`` float64 (module doc).
HIT_OBSERVABLES: dict[str, Callable[[ChargeViews], np.ndarray]] = {
    "total_charge": total_charge,
    "n_pixels": n_pixels,
    "length_cm": length_cm,
    "width_cm": width_cm,
    "dense_fraction": dense_fraction,
    "start_charge": start_charge,
}


def hit_observables(charge: np.ndarray, pitch_cm: float) -> dict[str, np.ndarray]:
    """Every :data:`HIT_OBSERVABLES` of charge images ``(n_events, n_views, H, W)`` [ke-] with pixels of
    ``pitch_cm`` [cm], in the table's order, each ``(n_events,)``."""
    views = ChargeViews(charge, pitch_cm)
    return {name: fn(views) for name, fn in HIT_OBSERVABLES.items()}
