"""Small kinematic helpers on flat numpy arrays (radians, GeV)."""

from __future__ import annotations

import numpy as np


def wrap_phi(dphi: np.ndarray) -> np.ndarray:
    """Map azimuthal differences [rad] into [-pi, pi)."""
    return (np.asarray(dphi) + np.pi) % (2.0 * np.pi) - np.pi


def event_index(counts: np.ndarray) -> np.ndarray:
    """For jagged data stored flat: the event number of every element, shape ``(counts.sum(),)``."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.repeat(np.arange(len(counts)), counts)


def per_event_sum(values: np.ndarray, owner: np.ndarray, n_events: int) -> np.ndarray:
    """Sum flat ``values`` into their events (``owner`` from :func:`event_index`), shape ``(n_events,)``."""
    return np.bincount(owner, weights=values, minlength=n_events)
