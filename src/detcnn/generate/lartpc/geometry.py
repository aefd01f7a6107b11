"""Geometry helpers: unit vectors, frames, rotations and the box of the active volume.

Units: lengths in cm, angles in rad; arrays of points or directions have shape (n, 3).
"""

from __future__ import annotations

import numpy as np


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    bx, by, bz = b[:, 0], b[:, 1], b[:, 2]
    return np.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=1)


def perpendicular_frame(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors ``(e1, e2)``, each (n, 3), completing unit directions ``d`` (n, 3) to a right-handed frame."""
    helper = np.zeros_like(d)
    use_z = np.abs(d[:, 2]) < 0.9
    helper[use_z, 2] = 1.0
    helper[~use_z, 0] = 1.0
    e1 = _normalise(_cross(helper, d))
    return e1, _cross(d, e1)


def rotate(d: np.ndarray, theta_1: np.ndarray, theta_2: np.ndarray) -> np.ndarray:
    """Turn unit directions ``d`` (n, 3) by projected angles ``theta_1``, ``theta_2`` [rad] (two planes)."""
    e1, e2 = perpendicular_frame(d)
    return _normalise(d + np.tan(theta_1)[:, None] * e1 + np.tan(theta_2)[:, None] * e2)


def isotropic(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors (n, 3) uniform on the sphere."""
    cos_t = rng.uniform(-1.0, 1.0, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)


def distance_to_exit(pos: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Path length [cm] from ``pos`` (n, 3) along unit ``d`` (n, 3) to the faces of the box [lo, hi]; shape (n,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (hi - pos) / d, np.where(d < 0, (lo - pos) / d, np.inf))
    return np.maximum(t.min(axis=1), 0.0)


def inside(pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Whether each point of ``pos`` (n, 3) lies in the box [lo, hi] (faces included); shape (n,)."""
    return np.all((pos >= lo) & (pos <= hi), axis=1)
