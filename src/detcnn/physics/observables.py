"""Jet observables of the cut-based quark/gluon analysis, vectorised over jets.

All take flat constituent arrays and ``counts`` (constituents per jet) and return ``(n_jets,)``. The
longitudinal coordinate ``eta`` is the constituents' rapidity (or, on a pseudorapidity image axis, their
pseudorapidity, then treated as massless); ``mt`` = sqrt(pT^2 + m^2) makes the four-vectors massive
(E = mT cosh y, pz = mT sinh y), and ``mt = pt`` (the default) is the massless case.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detcnn.physics import compiled
from detcnn.physics.kinematics import event_index, per_event_sum, wrap_phi


def _owner(counts: np.ndarray, owner: np.ndarray | None) -> np.ndarray:
    return event_index(counts) if owner is None else owner


def multiplicity(counts: np.ndarray, **_: object) -> np.ndarray:
    """Number of constituents per jet."""
    return np.asarray(counts, dtype=np.float64)


def jet_mass(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    counts: np.ndarray,
    owner: np.ndarray | None = None,
    mt: np.ndarray | None = None,
    **_: object,
) -> np.ndarray:
    """Invariant mass [GeV] of the sum of the constituent four-vectors (massless unless ``mt`` is given)."""
    owner, n = _owner(counts, owner), len(counts)
    mt = pt if mt is None else mt
    exp_eta = np.exp(eta)  # cosh and sinh from one exponential
    forward, backward = 0.5 * mt * exp_eta, 0.5 * mt / exp_eta
    e = per_event_sum(forward + backward, owner, n)
    pz = per_event_sum(forward - backward, owner, n)
    px = per_event_sum(pt * np.cos(phi), owner, n)
    py = per_event_sum(pt * np.sin(phi), owner, n)
    return np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))


def girth(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    counts: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    owner: np.ndarray | None = None,
    **_: object,
) -> np.ndarray:
    """pT-weighted radial moment ``sum_i pT_i dR_i / sum_i pT_i``, dR from the jet axis."""
    owner, n = _owner(counts, owner), len(counts)
    d_eta = eta - np.asarray(jet_eta, dtype=np.float64)[owner]
    d_phi = wrap_phi(phi - np.asarray(jet_phi, dtype=np.float64)[owner])
    sum_pt = per_event_sum(pt, owner, n)
    return per_event_sum(pt * np.hypot(d_eta, d_phi), owner, n) / np.where(sum_pt > 0, sum_pt, 1.0)


def pt_d(pt: np.ndarray, counts: np.ndarray, owner: np.ndarray | None = None, **_: object) -> np.ndarray:
    """Momentum dispersion ``sqrt(sum pT_i^2) / sum pT_i`` (1 for one constituent, ~1/sqrt(n) for many)."""
    owner, n = _owner(counts, owner), len(counts)
    sum_pt = per_event_sum(pt, owner, n)
    return np.sqrt(per_event_sum(pt * pt, owner, n)) / np.where(sum_pt > 0, sum_pt, 1.0)


#: Observable name -> function; each takes keyword arrays (pt, eta, phi, counts, jet_eta, jet_phi, mt, owner)
#: and ignores the ones it does not need. A new observable is a function and a line here; the image files
#: carry the observables in this order.
OBSERVABLES: dict[str, Callable[..., np.ndarray]] = {
    "n_constituents": multiplicity,
    "mass": jet_mass,
    "girth": girth,
    "ptd": pt_d,
}
#: The observables the compiled kernel computes in one fused pass, in its row order
#: (:data:`compiled.OBSERVABLE_ORDER`), each with the function it stands in for: a table entry that is still
#: this function is taken from the kernel (the same numbers).
FUSED: dict[str, Callable[..., np.ndarray]] = dict(
    zip(compiled.OBSERVABLE_ORDER, (multiplicity, jet_mass, girth, pt_d), strict=True)
)


def jet_observables(backend: str = "auto", **arrays: np.ndarray) -> dict[str, np.ndarray]:
    """Every :data:`OBSERVABLES` of many jets, in the table's order: ``{name: (n_jets,) float64}``.

    ``backend``: "numba" (the built-ins of :data:`FUSED` in one fused pass per jet,
    :mod:`detcnn.physics.compiled`; any other entry by its function), "numpy" (every entry by its function,
    the reference; the jet index is built once) or "auto" (numba when installed).
    """
    compiled_names = (
        [n for n, fn in FUSED.items() if OBSERVABLES.get(n) is fn] if compiled.use_compiled(backend) else []
    )
    fused: dict[str, np.ndarray] = {}
    if compiled_names:
        keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi")
        rows = compiled.observables(*(arrays[k] for k in keys), mt=arrays.get("mt"))
        fused = {n: row for n, row in zip(compiled.OBSERVABLE_ORDER, rows, strict=True) if n in compiled_names}
    if len(fused) < len(OBSERVABLES):
        arrays.setdefault("owner", event_index(arrays["counts"]))
    return {name: fused[name] if name in fused else fn(**arrays) for name, fn in OBSERVABLES.items()}
