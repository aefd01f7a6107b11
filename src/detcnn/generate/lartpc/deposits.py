"""Energy deposits (hits before the detector response): :class:`Deposits` and the per-hit labels.

Units: positions and paths in cm, times in ns, energies in MeV, dE/dx in MeV/cm.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: Per-hit truth labels.
HIT_LABELS = {"other": 0, "track": 1, "shower": 2}


@dataclass
class Deposits:
    """Energy deposits, flat over all particles: ``pos`` (n, 3) [cm], ``t`` [ns], ``e`` [MeV], ``dedx``
    [MeV/cm] (local, for recombination), ``owner`` (index of the primary particle), ``label`` (hit label),
    ``path`` [cm] travelled from the particle's start (tracks: arc length; showers: gap + depth on the axis)."""

    pos: np.ndarray
    t: np.ndarray
    e: np.ndarray
    dedx: np.ndarray
    owner: np.ndarray
    label: np.ndarray
    path: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[Deposits]) -> Deposits:
        """One :class:`Deposits` holding ``parts`` one after the other (at least one part)."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def __len__(self) -> int:
        return len(self.e)
