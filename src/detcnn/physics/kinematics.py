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


def rapidity(pt: np.ndarray, eta: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Rapidity y = asinh(pz / mT) of particles of transverse momentum ``pt``, pseudorapidity ``eta`` and
    mass ``mass`` [GeV], mT = sqrt(pT^2 + m^2): |y| <= |eta|, and y = eta for massless particles."""
    pt, eta, mass = (np.asarray(a, dtype=np.float64) for a in (pt, eta, mass))
    return np.arcsinh(pt * np.sinh(eta) / np.sqrt(pt * pt + mass * mass))


def summed_rapidity(mt: np.ndarray, y: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Rapidity of the sum of each group's four-vectors (E = mT cosh y, pz = mT sinh y), ``(n,)``: the jet's
    rapidity in the E-scheme, from its constituents (0 for a group without any)."""
    e = per_event_sum(mt * np.cosh(y), owner, n)
    pz = per_event_sum(mt * np.sinh(y), owner, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 0.5 * np.log((e + pz) / (e - pz))
    return np.where(e > np.abs(pz), y, 0.0)  # 0 for a group without particles
