"""Tracks (mu, pi+-, p): species, CSDA range tables, straggling, multiple scattering and :func:`propagate_tracks`.

Units: lengths in cm, times in ns, energies and masses in MeV, angles in rad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import lru_cache

import numpy as np

from detcnn.generate.lartpc.deposits import HIT_LABELS, Deposits
from detcnn.generate.lartpc.geometry import _normalise, distance_to_exit, rotate
from detcnn.physics import argon

#: Track species: code -> mass [MeV] and nuclear interaction length [cm] (muons do not interact).
SPECIES = {"muon": 0, "pion": 1, "proton": 2}
SPECIES_MASS = np.array([argon.M_MUON, argon.M_PION, argon.M_PROTON])
SPECIES_INTERACTION_LENGTH = np.array([np.inf, argon.INTERACTION_LENGTH_CM, argon.INTERACTION_LENGTH_CM])
#: Moyal distribution: mean gamma_E + ln 2 (x = -ln z^2 with z standard normal).
MOYAL_MEAN = 0.5772156649015329 + math.log(2.0)


@dataclass
class Tracks:
    """Result of :func:`propagate_tracks`: the deposits and, per particle, the path length [cm], the final
    direction (n, 3), the final kinetic energy [MeV] and why it stopped (0 range out, 1 left the volume,
    2 reached ``max_path``)."""

    deposits: Deposits
    path: np.ndarray
    direction: np.ndarray
    kinetic: np.ndarray
    reason: np.ndarray


@lru_cache(maxsize=1)
def _range_lookup() -> dict[str, np.ndarray]:
    """CSDA tables of all species stacked with an offset of 1000 per species in ln T and ln R, so one
    ``np.interp`` serves particles of mixed species (each species' keys stay inside its own band)."""
    lnt, lnr = [], []
    for mass in SPECIES_MASS:
        t_tab, r_tab = argon.csda_range_table(float(mass))
        lnt.append(np.log(t_tab))
        lnr.append(np.log(r_tab))
    offset = 1000.0 * np.arange(len(SPECIES_MASS))
    return {
        "t_keys": np.concatenate([t + o for t, o in zip(lnt, offset, strict=True)]),
        "r_keys": np.concatenate([r + o for r, o in zip(lnr, offset, strict=True)]),
        "lnt": np.concatenate(lnt),
        "lnr": np.concatenate(lnr),
        "offset": offset,
        "t_min": np.array([np.exp(t[0]) for t in lnt]),
        "t_max": np.array([np.exp(t[-1]) for t in lnt]),
        "r_min": np.array([np.exp(r[0]) for r in lnr]),
        "r_max": np.array([np.exp(r[-1]) for r in lnr]),
    }


def range_of(kinetic: np.ndarray, species: np.ndarray) -> np.ndarray:
    """CSDA range [cm] of particles of kinetic energy ``kinetic`` [MeV] and species codes ``species`` (same shape)."""
    tab = _range_lookup()
    t_min, t_max, r_min = tab["t_min"][species], tab["t_max"][species], tab["r_min"][species]
    lnt = np.log(np.clip(kinetic, t_min, t_max))
    r = np.exp(np.interp(lnt + tab["offset"][species], tab["t_keys"], tab["lnr"]))
    below = r_min * (np.maximum(kinetic, 0.0) / t_min) ** 2
    return np.where(kinetic < t_min, below, r)


def kinetic_of(residual: np.ndarray, species: np.ndarray) -> np.ndarray:
    """Kinetic energy [MeV] of particles with residual CSDA range ``residual`` [cm] (inverse of :func:`range_of`)."""
    tab = _range_lookup()
    r_min, r_max, t_min = tab["r_min"][species], tab["r_max"][species], tab["t_min"][species]
    lnr = np.log(np.clip(residual, r_min, r_max))
    t = np.exp(np.interp(lnr + tab["offset"][species], tab["r_keys"], tab["lnt"]))
    below = t_min * np.sqrt(np.maximum(residual, 0.0) / r_min)
    return np.where(residual < r_min, below, t)


def fluctuate(
    mean: np.ndarray, step: np.ndarray, beta: np.ndarray, bg: np.ndarray, mass: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Deposited energy [MeV] per step with straggling; its mean is ``mean`` (the Bethe/CSDA loss of the step).

    Thin absorber (xi < W_max and a positive Landau most probable loss Delta_p below the mean): a Moyal core
    with mode Delta_p and scale xi (mean Delta_p + 1.27 xi) plus a compound-Poisson tail of delta rays with the
    1/T^2 spectrum xi dT / T^2 between T_c and W_max, T_c = W_max exp(-(mean - Delta_p - 1.27 xi) / xi), which
    restores the Bethe mean exactly: the Landau shape with its MPV at Delta_p and its long tail up to W_max.
    Otherwise (thick absorber, slow particle): Gaussian with the Bohr width sigma^2 = xi W_max (1 - beta^2 / 2)
    ([PDG-PM] Sec. 34.2.9). Clipped at 0. All inputs shape (n,); ``step`` [cm], ``mass`` [MeV].
    """
    n = len(mean)
    xi = argon.landau_width(step, beta)
    wmax = argon.max_energy_transfer(bg, mass)
    mpv = argon.landau_mpv(step, beta, bg)
    missing = mean - mpv - MOYAL_MEAN * xi
    thin = (xi < wmax) & (mpv > 0) & (missing > 0)
    safe_xi = np.where(thin, xi, 1.0)
    inv_tc = np.where(thin, np.exp(missing / safe_xi) / wmax, 0.0)
    inv_wmax = 1.0 / wmax
    n_delta = rng.poisson(np.where(thin, xi * (inv_tc - inv_wmax), 0.0))
    owner = np.repeat(np.arange(n), n_delta)
    u = rng.uniform(0.0, 1.0, len(owner))
    delta = 1.0 / (inv_tc[owner] - u * (inv_tc[owner] - inv_wmax[owner]))
    z = rng.standard_normal((2, n))
    moyal = -np.log(np.maximum(z[0] * z[0], 1e-300))
    landau = mpv + xi * moyal + np.bincount(owner, weights=delta, minlength=n)
    gauss = mean + np.sqrt(xi * wmax * (1.0 - 0.5 * beta * beta)) * z[1]
    return np.maximum(np.where(thin, landau, gauss), 0.0)


def _highland_variance(path: np.ndarray, momentum: np.ndarray, beta: np.ndarray) -> np.ndarray:
    return argon.highland_theta0(path, momentum, beta) ** 2


@dataclass
class _Moving:
    """The m particles still moving: ``idx`` (m,) their index among the inputs, ``pos`` and ``d`` (m, 3)
    position [cm] and unit direction, ``kin`` kinetic energy [MeV], ``res`` residual CSDA range [cm], ``limit``
    the path at which they stop [cm], ``mass`` [MeV], ``path`` travelled [cm], ``clock`` time [ns] and
    ``species`` (codes of :data:`SPECIES`), all (m,)."""

    idx: np.ndarray
    pos: np.ndarray
    d: np.ndarray
    kin: np.ndarray
    res: np.ndarray
    limit: np.ndarray
    mass: np.ndarray
    path: np.ndarray
    clock: np.ndarray
    species: np.ndarray

    def subset(self, keep: np.ndarray) -> _Moving:
        """The particles where the bool mask ``keep`` (m,) is True."""
        return _Moving(*(getattr(self, f.name)[keep] for f in fields(self)))


def _start_moving(
    start: np.ndarray, direction: np.ndarray, kinetic: np.ndarray, species: np.ndarray, max_path: np.ndarray | None
) -> _Moving:
    """All n particles at their start (inputs as in :func:`propagate_tracks`): path and clock 0, the residual
    range the CSDA range of ``kinetic``, the path limit ``max_path`` (n,) [cm] or infinite."""
    start = np.asarray(start, dtype=np.float64)
    n = len(start)
    species = np.asarray(species, dtype=np.intp)
    kin = np.asarray(kinetic, dtype=np.float64).copy()
    return _Moving(
        idx=np.arange(n),
        pos=start.copy(),
        d=_normalise(np.asarray(direction, dtype=np.float64)),
        kin=kin,
        res=range_of(kin, species),
        limit=np.full(n, np.inf) if max_path is None else np.asarray(max_path, dtype=np.float64).copy(),
        mass=SPECIES_MASS[species],
        path=np.zeros(n),
        clock=np.zeros(n),
        species=species,
    )


def _record_deposits(
    out: dict[str, list[np.ndarray]], live: _Moving, ds: np.ndarray, dep: np.ndarray, speed: np.ndarray
) -> None:
    """Append to ``out`` one deposit per particle that moves (``ds`` (m,) > 0 [cm]), at the step's middle:
    position (k, 3) [cm], time [ns] at ``speed`` (m,) [cm/ns], energy ``dep`` (m,) [MeV], dE/dx [MeV/cm],
    owner and path [cm]."""
    moved = ds > 0
    half = 0.5 * ds
    out["pos"].append((live.pos + half[:, None] * live.d)[moved])
    out["t"].append((live.clock + half / speed)[moved])
    out["e"].append(dep[moved])
    out["dedx"].append(dep[moved] / ds[moved])
    out["owner"].append(live.idx[moved])
    out["path"].append((live.path + half)[moved])


def _scattered(
    d: np.ndarray, path: np.ndarray, new_path: np.ndarray, momentum: np.ndarray, beta: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Directions ``d`` (m, 3) turned by two Gaussian projected angles [rad] of variance
    theta_0^2(``new_path``) - theta_0^2(``path``) (Highland at ``momentum`` (m,) [MeV], paths (m,) [cm])."""
    var = _highland_variance(new_path, momentum, beta) - _highland_variance(path, momentum, beta)
    theta = rng.standard_normal((2, len(path))) * np.sqrt(np.maximum(var, 0.0))
    return rotate(d, theta[0], theta[1])


def _advance(
    live: _Moving, ds: np.ndarray, rng: np.random.Generator, out: dict[str, list[np.ndarray]], *, scatter: bool,
    straggling: bool,
) -> None:  # fmt: skip
    """Move every particle of ``live`` (in place) by ``ds`` (m,) [cm]: its residual range falls by ``ds``, its
    kinetic energy follows from the CSDA table, the step's loss (with straggling) is recorded in ``out`` and
    the direction turns by multiple scattering."""
    res_new = live.res - ds
    kin_new = kinetic_of(res_new, live.species)
    beta, _, bg = argon.beta_gamma(0.5 * (live.kin + kin_new), live.mass)
    loss = live.kin - kin_new
    dep = fluctuate(loss, ds, beta, bg, live.mass, rng) if straggling else loss
    speed = np.maximum(beta, 1e-6) * argon.C_CM_PER_NS
    _record_deposits(out, live, ds, dep, speed)
    live.pos = live.pos + ds[:, None] * live.d
    live.clock = live.clock + ds / speed
    new_path = live.path + ds
    if scatter:
        live.d = _scattered(live.d, live.path, new_path, bg * live.mass, beta, rng)
    live.path, live.kin, live.res = new_path, kin_new, res_new


def _retire(live: _Moving, ends: dict[str, np.ndarray], exit_dist: np.ndarray, ds: np.ndarray) -> _Moving:
    """Store in ``ends`` (path, direction, kinetic, reason per input particle) the particles that ranged out,
    left the box (step ``ds`` (m,) reached ``exit_dist`` (m,) [cm]) or reached their path limit; return the rest."""
    ranged_out = live.res <= 0.0
    exited = ds >= exit_dist
    stopped = live.path >= live.limit * (1.0 - 1e-12)
    done = ranged_out | exited | stopped
    if not done.any():
        return live
    gone = live.idx[done]
    ends["path"][gone] = live.path[done]
    ends["direction"][gone] = live.d[done]
    ends["kinetic"][gone] = live.kin[done]
    ends["reason"][gone] = np.where(ranged_out[done], 0, np.where(exited[done], 1, 2))
    return live.subset(~done)


def _gather_deposits(out: dict[str, list[np.ndarray]]) -> Deposits:
    """The deposits recorded step by step in ``out``, as one :class:`Deposits` labelled track."""
    cat = {k: np.concatenate(v) if v else np.zeros((0, 3) if k == "pos" else 0) for k, v in out.items()}
    return Deposits(
        pos=cat["pos"].reshape(-1, 3),
        t=cat["t"],
        e=cat["e"],
        dedx=cat["dedx"],
        owner=cat["owner"].astype(np.int64),
        label=np.full(len(cat["e"]), HIT_LABELS["track"], dtype=np.int8),
        path=cat["path"],
    )


def propagate_tracks(
    start: np.ndarray,
    direction: np.ndarray,
    kinetic: np.ndarray,
    species: np.ndarray,
    rng: np.random.Generator,
    *,
    lo: np.ndarray,
    hi: np.ndarray,
    step: float = 0.5,
    max_path: np.ndarray | None = None,
    scatter: bool = True,
    straggling: bool = True,
) -> Tracks:
    """Step charged particles through liquid argon, all at once; one deposit per step at the step's middle.

    ``start``, ``direction`` (n, 3) [cm]; ``kinetic`` (n,) [MeV]; ``species`` (n,) codes of :data:`SPECIES`;
    ``lo``, ``hi`` (3,) the box [cm]; ``max_path`` (n,) [cm] (e.g. an exponential hadronic interaction path).
    Each step is min(step, residual range, distance to the box face, max_path - path). The residual range falls
    by the step length and the kinetic energy follows from the CSDA table, so a particle that ranges out has
    travelled exactly its CSDA range. The deposit is the step's mean loss with straggling (:func:`fluctuate`).
    Multiple scattering turns the direction after each step by two Gaussian projected angles whose variance is
    theta_0^2(s + ds) - theta_0^2(s) (Highland at the current momentum), so that after a path s the total
    projected angle has the Highland width theta_0(s), not the sum of per-step widths.
    """
    live = _start_moving(start, direction, kinetic, species, max_path)
    n = len(live.idx)
    ends = {"path": np.zeros(n), "direction": live.d.copy(), "kinetic": np.zeros(n),
            "reason": np.zeros(n, dtype=np.int8)}  # fmt: skip
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("pos", "t", "e", "dedx", "owner", "path")}
    while live.idx.size:
        exit_dist = distance_to_exit(live.pos, live.d, lo, hi)
        ds = np.maximum(np.minimum(np.minimum(live.res, step), np.minimum(exit_dist, live.limit - live.path)), 0.0)
        _advance(live, ds, rng, out, scatter=scatter, straggling=straggling)
        live = _retire(live, ends, exit_dist, ds)
    return Tracks(deposits=_gather_deposits(out), **ends)
