"""Shared fixtures: tiny jets made by hand and written as ROOT files on the fly.

awkward and uproot are imported inside the helpers, so the model and training tests also run where
only PyTorch is installed (the GPU machine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


def make_jets(n: int, seed: int = 0, label: int | None = None) -> dict[str, Any]:
    """``n`` random jets following the jets file contract (GeV, radians): numpy and awkward arrays."""
    import awkward as ak

    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 30, size=n)
    total = int(counts.sum())
    jet_eta = rng.uniform(-1.5, 1.5, n)
    jet_phi = rng.uniform(-np.pi, np.pi, n)

    def jag(x: np.ndarray) -> ak.Array:
        return ak.unflatten(x, counts)

    eta = np.repeat(jet_eta, counts) + rng.normal(0, 0.1, total)
    phi = (np.repeat(jet_phi, counts) + rng.normal(0, 0.1, total) + np.pi) % (2 * np.pi) - np.pi
    labels = rng.integers(0, 2, n) if label is None else np.full(n, label)
    return {
        "jet_pt": rng.uniform(500, 550, n).astype(np.float32),
        "jet_eta": jet_eta.astype(np.float32),
        "jet_phi": jet_phi.astype(np.float32),
        "jet_m": rng.uniform(10, 100, n).astype(np.float32),
        "label": labels.astype(np.int32),
        "part_pt": jag(rng.exponential(15.0, total).astype(np.float32)),
        "part_eta": jag(eta.astype(np.float32)),
        "part_phi": jag(phi.astype(np.float32)),
        "part_charge": jag(rng.choice([-1, 0, 1], total).astype(np.int32)),
        "part_pid": jag(rng.choice([211, 22, -211], total).astype(np.int32)),
    }


@pytest.fixture
def jets_file(tmp_path: Path) -> Path:
    """A ROOT file with 400 random jets."""
    from detcnn.io.events import write_events

    path = tmp_path / "jets.root"
    write_events(path, make_jets(400, seed=1))
    return path
