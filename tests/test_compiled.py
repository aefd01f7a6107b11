"""The compiled (numba) kernels give the numpy reference's images and observables."""

from __future__ import annotations

import numpy as np
import pytest

from detcnn.physics import compiled
from detcnn.physics.jet_images import CHANNELS, ImageSpec, jet_images
from detcnn.physics.observables import jet_observables

pytestmark = pytest.mark.skipif(not compiled.AVAILABLE, reason="numba is not installed")


def random_jets(n: int, seed: int) -> dict[str, np.ndarray]:
    """Jets with 0 to 40 constituents, some straddling phi = +-pi, some partly off a 0.8-wide image."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 40, n)
    total = int(counts.sum())
    jet_phi = rng.uniform(-np.pi, np.pi, n)
    jet_phi[: n // 4] = np.pi - 0.01  # wrap-around cases
    owner = np.repeat(np.arange(n), counts)
    phi = (jet_phi[owner] + rng.normal(0, 0.25, total) + np.pi) % (2 * np.pi) - np.pi
    return {
        "pt": rng.exponential(10.0, total),
        "eta": rng.normal(0, 0.25, total) + rng.uniform(-1.5, 1.5, n)[owner],
        "phi": phi,
        "charge": rng.choice([-1, 0, 1], total).astype(np.int32),
        "counts": counts,
        "jet_phi": jet_phi,
        "jet_eta": rng.uniform(-1.5, 1.5, n),
    }


SPECS = [
    ImageSpec(),
    ImageSpec(normalise="pt_sum"),
    ImageSpec(rotate=False, flip=False),
    ImageSpec(rotate=True, flip=False, n_pix=16, half_width=0.5),
    ImageSpec(channels=tuple(CHANNELS), normalise="pt_sum", n_pix=9),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.n_pix}px-rot{s.rotate}-flip{s.flip}-{s.normalise}")
def test_images_equal_the_numpy_reference(spec: ImageSpec) -> None:
    jets = random_jets(500, seed=1)
    args = [jets[k] for k in ("pt", "eta", "phi", "charge", "counts", "jet_phi")]
    ref, ref_out = jet_images(*args, spec, backend="numpy")
    fast, fast_out = jet_images(*args, spec, backend="numba")
    assert fast.dtype == np.float32 and fast.shape == ref.shape
    assert fast_out == ref_out > 0
    # Same arithmetic in the same order, so the images agree bit for bit, except where a constituent sits
    # on a pixel edge to the last digit of numba's or numpy's cos/sin/atan2: after rotation a jet whose
    # constituents lie on its principal axis has x = +-1e-17, on the central edge of an even-sized grid.
    # Such a jet's content moves to the neighbouring pixel; per-image sums stay equal.
    differing = np.flatnonzero(np.any(fast != ref, axis=(1, 2, 3)))
    assert len(differing) <= 2, differing
    if spec.n_pix % 2:
        assert len(differing) == 0, "on odd grids x = 0 is a pixel centre, not an edge"
    np.testing.assert_allclose(fast.sum(axis=(2, 3)), ref.sum(axis=(2, 3)), rtol=1e-5)


@pytest.mark.parametrize("jet_radius", [0.4, 0.8])
def test_observables_equal_the_numpy_reference(jet_radius: float) -> None:
    """All six, C1's pairs (0 to 39 constituents, some across phi = +-pi) and the angularity's R included."""
    jets = random_jets(500, seed=2)
    keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi")
    ref = jet_observables(backend="numpy", jet_radius=jet_radius, **{k: jets[k] for k in keys})
    fast = jet_observables(backend="numba", jet_radius=jet_radius, **{k: jets[k] for k in keys})
    assert list(fast) == list(ref) == ["n_constituents", "mass", "girth", "ptd", "c1_b02", "lha"]
    assert np.all(ref["c1_b02"][jets["counts"] >= 2] > 0) and np.all(ref["c1_b02"][jets["counts"] < 2] == 0)
    for name in ref:
        np.testing.assert_allclose(fast[name], ref[name], rtol=1e-9, atol=1e-9, err_msg=name)


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="backend must be"):
        jet_images(np.ones(1), np.zeros(1), np.zeros(1), np.zeros(1), np.array([1]), np.zeros(1), backend="cuda")
