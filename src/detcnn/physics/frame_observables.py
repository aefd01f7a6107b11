"""Per-frame observables of camera frames (single-molecule localisation microscopy): :data:`FRAME_OBSERVABLES`.

Each is a function of the frames in photons ``(n_frames, 1, H, W)`` (:func:`detcnn.physics.microscope.to_photons`,
background included) returning ``(n_frames,)`` float64; a new one is a function and a line in the table. The
image files carry them in the table's order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def total_photons(photons: np.ndarray) -> np.ndarray:
    """Photons summed over the frame."""
    return photons.sum(axis=(1, 2, 3), dtype=np.float64)


def max_photons(photons: np.ndarray) -> np.ndarray:
    """Photons in the brightest pixel."""
    return photons.max(axis=(1, 2, 3)).astype(np.float64)


#: Observable name -> function of the frames in photons ``(n_frames, 1, H, W)``, ``(n_frames,)`` float64.
FRAME_OBSERVABLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "total_photons": total_photons,
    "max_photons": max_photons,
}


def frame_observables(photons: np.ndarray) -> dict[str, np.ndarray]:
    """Every :data:`FRAME_OBSERVABLES` of frames in photons ``(n_frames, 1, H, W)``, in the table's order."""
    return {name: fn(photons) for name, fn in FRAME_OBSERVABLES.items()}
