"""A jet observable that the observables table does not have (docs/extending.md: a function in a module and a
line in :data:`detcnn.physics.observables.OBSERVABLES`): the hardest constituent's share of the jet's pT."""

from __future__ import annotations

import numpy as np

from detcnn.physics.kinematics import event_index

NAME = "lead_pt_fraction"


def lead_pt_fraction(pt: np.ndarray, counts: np.ndarray, owner: np.ndarray | None = None, **_: object) -> np.ndarray:
    """``max_i pT_i / sum_i pT_i`` per jet ``(n_jets,)`` from flat constituent pT [GeV] (0 for an empty jet);
    quark jets, with fewer constituents, share their pT among fewer and score higher."""
    owner = event_index(counts) if owner is None else owner
    lead = np.zeros(len(counts))
    np.maximum.at(lead, owner, pt)
    total = np.bincount(owner, weights=pt, minlength=len(counts))
    return lead / np.where(total > 0, total, 1.0)
