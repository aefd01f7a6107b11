"""Jet observables of the cut-based quark/gluon analysis, vectorised over jets.

All take flat constituent arrays and ``counts`` (constituents per jet) and return ``(n_jets,)``. The
longitudinal coordinate ``eta`` is the constituents' rapidity (or, on a pseudorapidity image axis, their
pseudorapidity, then treated as massless); ``mt`` = sqrt(pT^2 + m^2) makes the four-vectors massive
(E = mT cosh y, pz = mT sinh y), and ``mt = pt`` (the default) is the massless case. Distances are in
(``eta``, phi), phi differences wrapped to [-pi, pi).

The quark/gluon set: multiplicity, mass, girth and pT_D (Gallicchio & Schwartz, PRL 107 (2011) 172001;
JHEP 10 (2012) 177), the energy correlation ratio C_1^(beta=0.2) (Larkoski, Salam & Thaler, JHEP 06 (2013)
108) and the Les Houches angularity lambda^1_0.5 (Badger et al., arXiv:1605.04692, Sec. 6.2; here about the
jet axis ``jet_eta``, ``jet_phi`` as girth, not the winner-take-all axis).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from detcnn.physics import compiled
from detcnn.physics.kinematics import event_index, per_event_sum, wrap_phi

#: The jet radius R [(y, phi) units] of the angularities (lambda = sum z (dR / R)^alpha) when the dataset does not
#: say: the anti-kt R = 0.4 of the generated jets and of the public quark/gluon samples. A dataset of generated
#: jets passes its clustering radius through the rasteriser (``jet_radius``); R only scales the angularity by
#: R^-alpha, which changes no cut efficiency and no ROC curve.
DEFAULT_JET_RADIUS = 0.4
#: The angular exponent beta of the table's C_1 (``c1_b02``): 0.2, the best quark/gluon discriminant of the
#: C_1^(beta) family for narrow jets (Larkoski, Salam & Thaler, JHEP 06 (2013) 108, Fig. 8).
C1_BETA = 0.2
#: Float64 numbers per array of the padded pair matrices of :func:`energy_correlation_c1` (bounds its memory:
#: about 3 such arrays, 8 MB each, at a time).
PAIR_BUDGET = 1 << 20


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
    sum_pt = per_event_sum(pt, owner, n)
    dr = _axis_distance(eta, phi, jet_eta, jet_phi, owner)
    return per_event_sum(pt * dr, owner, n) / np.where(sum_pt > 0, sum_pt, 1.0)


def _axis_distance(
    eta: np.ndarray, phi: np.ndarray, jet_eta: np.ndarray, jet_phi: np.ndarray, owner: np.ndarray
) -> np.ndarray:
    """dR of every constituent from its jet's axis ``(n_constituents,)``."""
    d_eta = eta - np.asarray(jet_eta, dtype=np.float64)[owner]
    d_phi = wrap_phi(phi - np.asarray(jet_phi, dtype=np.float64)[owner])
    return np.hypot(d_eta, d_phi)


def pt_d(pt: np.ndarray, counts: np.ndarray, owner: np.ndarray | None = None, **_: object) -> np.ndarray:
    """Momentum dispersion ``sqrt(sum pT_i^2) / sum pT_i`` (1 for one constituent, ~1/sqrt(n) for many)."""
    owner, n = _owner(counts, owner), len(counts)
    sum_pt = per_event_sum(pt, owner, n)
    return np.sqrt(per_event_sum(pt * pt, owner, n)) / np.where(sum_pt > 0, sum_pt, 1.0)


def les_houches_angularity(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    counts: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    owner: np.ndarray | None = None,
    jet_radius: float = DEFAULT_JET_RADIUS,
    **_: object,
) -> np.ndarray:
    """The Les Houches angularity ``lambda^1_0.5 = sum_i z_i (dR_i / R)^0.5``, ``z_i = pT_i / sum pT``, dR from
    the jet axis, R = ``jet_radius`` (0 for a jet of one constituent on its axis; ~0.5 to 0.7 for gluons)."""
    owner, n = _owner(counts, owner), len(counts)
    sum_pt = per_event_sum(pt, owner, n)
    dr = _axis_distance(eta, phi, jet_eta, jet_phi, owner)
    return per_event_sum(pt * np.sqrt(dr / jet_radius), owner, n) / np.where(sum_pt > 0, sum_pt, 1.0)


def energy_correlation_c1(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, counts: np.ndarray, beta: float = C1_BETA, **_: object
) -> np.ndarray:
    """The energy correlation ratio ``C_1^(beta) = ECF(2, beta) / ECF(1, beta)^2 = sum_{i<j} z_i z_j dR_ij^beta``,
    ``z_i = pT_i / sum pT``, dR_ij between constituents in (eta, phi) (0 for jets of fewer than two).

    The numpy reference, O(n^2) per jet: jets of similar size together (sorted by ``counts``), a chunk of them
    in padded ``(jets, n_max)`` arrays (zero pT in the padding, so padded pairs add nothing), all pairs at once,
    the chunk sized by :data:`PAIR_BUDGET`. Constituents are stored jet after jet (``counts``), as everywhere.
    """
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    out = np.zeros(len(counts))
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] >= 2]  # C1 = 0 below two constituents
    start = 0
    while start < len(order):
        # the largest chunk whose padded arrays hold at most PAIR_BUDGET numbers (non-decreasing in its size)
        size = np.arange(1, len(order) - start + 1) * counts[order[start:]] ** 2
        stop = start + max(1, int(np.searchsorted(size, PAIR_BUDGET, side="right")))
        jets = order[start:stop]
        out[jets] = _c1_padded(pt, eta, phi, counts[jets], offsets[jets], beta)
        start = stop
    return out


def _c1_padded(
    pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, counts: np.ndarray, first: np.ndarray, beta: float
) -> np.ndarray:
    """C_1 ``(len(counts),)`` of the jets of ``counts`` constituents from the constituent index ``first``."""
    jet = np.repeat(np.arange(len(counts)), counts)
    slot = np.arange(len(jet)) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = first[jet] + slot
    padded = np.zeros((3, len(counts), int(counts.max())))
    for k, values in enumerate((pt, eta, phi)):
        padded[k, jet, slot] = values[rows]
    p, y, f = padded
    d2 = (y[:, :, None] - y[:, None, :]) ** 2 + wrap_phi(f[:, :, None] - f[:, None, :]) ** 2
    ecf2 = 0.5 * np.sum(p[:, :, None] * p[:, None, :] * d2 ** (0.5 * beta), axis=(1, 2))  # i < j: half of i != j
    sum_pt = p.sum(axis=1)
    return ecf2 / np.where(sum_pt > 0, sum_pt, 1.0) ** 2


#: Observable name -> function; each takes keyword arrays (pt, eta, phi, counts, jet_eta, jet_phi, mt, owner)
#: and the ``jet_radius``, and ignores the ones it does not need. A new observable is a function and a line
#: here; the image files carry the observables in this order.
OBSERVABLES: dict[str, Callable[..., np.ndarray]] = {
    "n_constituents": multiplicity,
    "mass": jet_mass,
    "girth": girth,
    "ptd": pt_d,
    "c1_b02": energy_correlation_c1,
    "lha": les_houches_angularity,
}
#: The observables the compiled kernel computes in one fused pass, in its row order
#: (:data:`compiled.OBSERVABLE_ORDER`), each with the function it stands in for: a table entry that is still
#: this function is taken from the kernel (the same numbers).
FUSED: dict[str, Callable[..., np.ndarray]] = dict(
    zip(
        compiled.OBSERVABLE_ORDER,
        (multiplicity, jet_mass, girth, pt_d, energy_correlation_c1, les_houches_angularity),
        strict=True,
    )
)


def jet_observables(
    backend: str = "auto", jet_radius: float = DEFAULT_JET_RADIUS, **arrays: np.ndarray
) -> dict[str, np.ndarray]:
    """Every :data:`OBSERVABLES` of many jets, in the table's order: ``{name: (n_jets,) float64}``.

    ``backend``: "numba" (the built-ins of :data:`FUSED` in one fused pass per jet,
    :mod:`detcnn.physics.compiled`; any other entry by its function), "numpy" (every entry by its function,
    the reference; the jet index is built once) or "auto" (numba when installed). ``jet_radius``: the jets'
    clustering radius R of the angularities.
    """
    compiled_names = (
        [n for n, fn in FUSED.items() if OBSERVABLES.get(n) is fn] if compiled.use_compiled(backend) else []
    )
    fused: dict[str, np.ndarray] = {}
    if compiled_names:
        keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi")
        rows = compiled.observables(
            *(arrays[k] for k in keys), mt=arrays.get("mt"), jet_radius=jet_radius, beta=C1_BETA
        )
        fused = {n: row for n, row in zip(compiled.OBSERVABLE_ORDER, rows, strict=True) if n in compiled_names}
    if len(fused) < len(OBSERVABLES):
        arrays.setdefault("owner", event_index(arrays["counts"]))
    return {
        name: fused[name] if name in fused else fn(**arrays, jet_radius=jet_radius) for name, fn in OBSERVABLES.items()
    }
