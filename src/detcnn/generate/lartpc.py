"""Neutrino-like events in a liquid-argon TPC: a fast, vectorised, seeded simulation of energy deposits.

Three samples (classes): ``nue_cc`` (electron + hadrons), ``numu_cc`` (muon + hadrons) and ``nc`` (hadrons only,
more pi0). An event is a vertex, a lepton and a hadronic system (0-3 protons, 0-2 charged pions, 0-2 pi0 whose
photons shower). The particles become energy deposits ("hits"):

- tracks (mu, pi+-, p): continuous mean energy loss from the Bethe CSDA range table (the residual range falls by
  exactly the step length, so kinematics follow the CSDA range), Landau (Moyal) or Bohr (Gaussian) fluctuations of
  the deposited energy per step, Highland multiple scattering per step, stop at the end of the range, at the
  volume boundary, or (pions, protons) after an exponential path with the nuclear interaction length;
- EM showers (e-, photons): a photon first flies an exponential gap of mean 9/7 X0, then a 2-MIP e+e- trunk;
  an electron starts at the vertex with a 1-MIP trunk; then deposits of a few MeV each at depth t ~ Gamma(a, b)
  (in X0, PDG parametrisation) and at a lateral radius with 90 % of the energy inside one Moliere radius;
- detector response per hit: modified Box recombination on the local dE/dx, lifetime attenuation
  exp(-t_drift/tau) and Gaussian diffusion sigma = sqrt(2 D t_drift) along x (drift, anode at x = 0) and in y, z.

Everything is vectorised over the particles of a batch: the only Python loop in tracking runs over *steps*.
Coordinates: x in [0, L_x] (drift), y in [-L_y/2, L_y/2] (vertical), z in [0, L_z] (beam); the neutrino moves
along +z. Units: cm, ns, MeV inside, GeV and thousands of electrons in the output file (see :data:`HIT_TREE_TITLE`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import awkward as ak
import numpy as np

from detcnn.io.events import write_events
from detcnn.physics import argon

SAMPLES = {"nue_cc": 0, "numu_cc": 1, "nc": 2}
CLASS_NAMES = ["nu_e CC", "nu_mu CC", "NC"]
#: Per-hit truth labels.
HIT_LABELS = {"other": 0, "track": 1, "shower": 2}
HIT_TREE_TITLE = (
    "detcnn LArTPC hits: hit_x, hit_y, hit_z, vtx_x, vtx_y, vtx_z in cm (x = drift, anode at x=0; z = beam); "
    "hit_t in ns after the interaction; hit_e, dep_energy, nu_energy, lepton_energy, hadronic_energy in GeV; "
    "hit_q in thousands of electrons; hit_label 1=track 2=shower 0=other; label 0=nu_e CC 1=nu_mu CC 2=NC"
)
EVENT_BRANCHES = (
    "label",
    "nu_energy",
    "lepton_energy",
    "hadronic_energy",
    "vtx_x",
    "vtx_y",
    "vtx_z",
    "n_pi0",
    "n_proton",
    "n_pion",
    "dep_energy",
)
HIT_BRANCHES = ("hit_x", "hit_y", "hit_z", "hit_t", "hit_e", "hit_q", "hit_label")
MAX_SEED = 2**63 - 1

#: Track species: code -> mass [MeV] and nuclear interaction length [cm] (muons do not interact).
SPECIES = {"muon": 0, "pion": 1, "proton": 2}
SPECIES_MASS = np.array([argon.M_MUON, argon.M_PION, argon.M_PROTON])
SPECIES_INTERACTION_LENGTH = np.array([np.inf, argon.INTERACTION_LENGTH_CM, argon.INTERACTION_LENGTH_CM])
#: Charged lepton mass [MeV] per sample (0 for the outgoing neutrino of NC).
LEPTON_MASS = {"nue_cc": argon.M_ELECTRON, "numu_cc": argon.M_MUON, "nc": 0.0}

#: Event model (plausible shapes, not a neutrino generator): inelasticity y ~ Beta(1.0, 1.6) (<y> = 0.38),
#: Bjorken x ~ Beta(1.2, 3.0), Q^2 = 2 M x y E; multiplicities grow with W - M_N as 1 - exp(-(W - M_N)/w0).
Y_BETA = (1.0, 1.6)
X_BETA = (1.2, 3.0)
#: Per sample: (max protons, p0, p1) with p_proton = p0 + p1 (1 - exp(-nu/1 GeV)); binomial over max protons.
PROTON_MODEL = {"nue_cc": (3, 0.35, 0.2), "numu_cc": (3, 0.35, 0.2), "nc": (3, 0.45, 0.2)}
#: Per sample: (max, probability scale, w0 [GeV]) for charged pions and pi0.
PION_MODEL = {"nue_cc": (2, 0.55, 0.6), "numu_cc": (2, 0.55, 0.6), "nc": (2, 0.45, 0.6)}
PI0_MODEL = {"nue_cc": (2, 0.30, 0.6), "numu_cc": (2, 0.30, 0.6), "nc": (2, 0.60, 0.4)}
#: Fraction of the hadronic kinetic energy lost to neutrons and nuclear binding: Uniform(0, 0.3).
INVISIBLE_FRACTION_MAX = 0.3
#: Minimal kinetic energy [MeV] budgeted per produced hadron before pions are dropped.
MIN_HADRON_KINETIC = 30.0
#: Shower trunk: length ~ exponential with mean 0.5 X0, clipped to [2 cm, 2 X0], at most 30 % of the energy.
TRUNK_MEAN_CM = 0.5 * argon.X0_CM
TRUNK_RANGE_CM = (2.0, 2.0 * argon.X0_CM)
TRUNK_MAX_FRACTION = 0.3
#: Exponential lateral profile with 90 % of the energy inside one Moliere radius: P(r < R_M) = 1 - e^(-ln 10).
LATERAL_SCALE_CM = argon.MOLIERE_RADIUS_CM / math.log(10.0)
#: Moyal distribution: mean gamma_E + ln 2 (x = -ln z^2 with z standard normal).
MOYAL_MEAN = 0.5772156649015329 + math.log(2.0)


# ---------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class SimSettings:
    """Settings of the detector simulation; every length in cm.

    energy_mean, energy_shape, energy_min, energy_max: neutrino energy [GeV] ~ Gamma(shape, mean/shape)
        truncated to [energy_min, energy_max].
    volume: active volume (L_x, L_y, L_z) [cm], MicroBooNE-like; x in [0, L_x] is the drift direction (anode at
        x = 0), y in [-L_y/2, L_y/2], z in [0, L_z] along the beam.
    fiducial_margin: vertices lie at least this far [cm] from every face.
    track_step: step length [cm] of tracks (one hit per step).
    shower_granularity: energy [MeV] of one shower deposit (hits per shower = energy / granularity).
    efield [kV/cm], drift_velocity [cm/us], lifetime [ms]: drift field (Box model), drift speed, electron lifetime.
    diffusion: smear hit positions by longitudinal and transverse diffusion.
    """

    energy_mean: float = 2.0
    energy_shape: float = 3.0
    energy_min: float = 0.5
    energy_max: float = 5.0
    volume: tuple[float, float, float] = (256.0, 233.0, 1037.0)
    fiducial_margin: float = 10.0
    track_step: float = 0.5
    shower_granularity: float = 2.0
    efield: float = 0.5
    drift_velocity: float = argon.DRIFT_VELOCITY
    lifetime: float = argon.ELECTRON_LIFETIME / 1000.0
    diffusion: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume", tuple(float(v) for v in self.volume))
        if len(self.volume) != 3 or min(self.volume) <= 0:
            raise ValueError(f"volume must be three positive lengths (L_x, L_y, L_z) in cm, got {self.volume}")
        positive = ("energy_mean", "energy_shape", "track_step", "shower_granularity", "efield", "drift_velocity")
        for name in (*positive, "lifetime"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.energy_min < self.energy_max:
            raise ValueError(
                f"need 0 < energy_min < energy_max [GeV], got energy_min={self.energy_min}, "
                f"energy_max={self.energy_max}"
            )
        if not 0 <= 2 * self.fiducial_margin < min(self.volume):
            raise ValueError(
                f"fiducial_margin must be in [0, {min(self.volume) / 2}) cm for volume {self.volume}, "
                f"got {self.fiducial_margin}"
            )

    @classmethod
    def from_config(cls, cfg: Mapping[str, object] | None) -> SimSettings:
        """Settings from a flat config mapping; unknown keys are an error that lists the valid ones."""
        cfg = dict(cfg or {})
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(cfg) - set(valid))
        if unknown:
            raise ValueError(f"unknown detector_sim setting(s) {unknown}; valid keys: {valid}")
        return cls(**cfg)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Active volume as ``(lo, hi)``, each shape ``(3,)`` [cm]."""
        lx, ly, lz = self.volume
        return np.array([0.0, -ly / 2, 0.0]), np.array([lx, ly / 2, lz])


# ---------------------------------------------------------------------------------------------- deposits
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


# ---------------------------------------------------------------------------------------------- geometry helpers
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


# ---------------------------------------------------------------------------------------------- tracks
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
    start = np.asarray(start, dtype=np.float64)
    n = len(start)
    species = np.asarray(species, dtype=np.intp)
    pos = start.copy()
    d = _normalise(np.asarray(direction, dtype=np.float64))
    kin = np.asarray(kinetic, dtype=np.float64).copy()
    res = range_of(kin, species)
    limit = np.full(n, np.inf) if max_path is None else np.asarray(max_path, dtype=np.float64).copy()
    mass = SPECIES_MASS[species]
    path = np.zeros(n)
    clock = np.zeros(n)
    idx = np.arange(n)
    total_path = np.zeros(n)
    final_dir = d.copy()
    final_kin = np.zeros(n)
    reason = np.zeros(n, dtype=np.int8)
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("pos", "t", "e", "dedx", "owner", "path")}
    while idx.size:
        exit_dist = distance_to_exit(pos, d, lo, hi)
        ds = np.maximum(np.minimum(np.minimum(res, step), np.minimum(exit_dist, limit - path)), 0.0)
        res_new = res - ds
        kin_new = kinetic_of(res_new, species)
        beta, _, bg = argon.beta_gamma(0.5 * (kin + kin_new), mass)
        loss = kin - kin_new
        dep = fluctuate(loss, ds, beta, bg, mass, rng) if straggling else loss
        speed = np.maximum(beta, 1e-6) * argon.C_CM_PER_NS
        moved = ds > 0
        half = 0.5 * ds
        out["pos"].append((pos + half[:, None] * d)[moved])
        out["t"].append((clock + half / speed)[moved])
        out["e"].append(dep[moved])
        out["dedx"].append(dep[moved] / ds[moved])
        out["owner"].append(idx[moved])
        out["path"].append((path + half)[moved])
        pos = pos + ds[:, None] * d
        clock = clock + ds / speed
        new_path = path + ds
        if scatter:
            momentum = bg * mass
            var = _highland_variance(new_path, momentum, beta) - _highland_variance(path, momentum, beta)
            theta = rng.standard_normal((2, len(ds))) * np.sqrt(np.maximum(var, 0.0))
            d = rotate(d, theta[0], theta[1])
        path, kin, res = new_path, kin_new, res_new
        ranged_out = res <= 0.0
        exited = ds >= exit_dist
        stopped = path >= limit * (1.0 - 1e-12)
        done = ranged_out | exited | stopped
        if done.any():
            gone = idx[done]
            total_path[gone] = path[done]
            final_dir[gone] = d[done]
            final_kin[gone] = kin[done]
            reason[gone] = np.where(ranged_out[done], 0, np.where(exited[done], 1, 2))
            keep = ~done
            idx, pos, d, kin, res, limit, mass, path, clock, species = (
                a[keep] for a in (idx, pos, d, kin, res, limit, mass, path, clock, species)
            )
    cat = {k: np.concatenate(v) if v else np.zeros((0, 3) if k == "pos" else 0) for k, v in out.items()}
    deposits = Deposits(
        pos=cat["pos"].reshape(-1, 3),
        t=cat["t"],
        e=cat["e"],
        dedx=cat["dedx"],
        owner=cat["owner"].astype(np.int64),
        label=np.full(len(cat["e"]), HIT_LABELS["track"], dtype=np.int8),
        path=cat["path"],
    )
    return Tracks(deposits=deposits, path=total_path, direction=final_dir, kinetic=final_kin, reason=reason)


# ---------------------------------------------------------------------------------------------- showers
def _ragged_arange(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts (n,): the owner of each of the ``counts.sum()`` items and its position 0..count-1 in its group."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


@dataclass
class Showers:
    """Result of :func:`em_showers`: deposits and, per shower, the conversion distance [cm] (0 for electrons)
    and the trunk length [cm]."""

    deposits: Deposits
    conversion: np.ndarray
    trunk: np.ndarray


def em_showers(
    start: np.ndarray,
    direction: np.ndarray,
    energy: np.ndarray,
    photon: np.ndarray,
    rng: np.random.Generator,
    *,
    lo: np.ndarray,
    hi: np.ndarray,
    step: float = 0.5,
    granularity: float = 3.0,
) -> Showers:
    """Electromagnetic showers of electrons (``photon`` False) and photons (True), all at once.

    ``start``, ``direction`` (n, 3) [cm]; ``energy`` (n,) [MeV]; ``photon`` (n,) bool; ``lo``, ``hi`` (3,) the box.
    A photon flies a gap ~ Exp(9/7 X0) without deposits and converts; then (electrons: at the start) a straight
    trunk of 1 (e-) or 2 (e+e-) minimum-ionising particles, length ~ Exp(0.5 X0) clipped to [2 cm, 2 X0] and to
    30 % of the energy, one deposit per ``step``; the rest of the energy in deposits of about ``granularity`` MeV
    at depth t X0 from the conversion point with t ~ Gamma(a, 1/b) (:func:`detcnn.physics.argon.shower_profile`)
    and at a lateral radius r ~ Exp(R_M / ln 10) (90 % inside one Moliere radius), uniform in azimuth.
    Deposits outside the box are dropped. Times are path / c.
    """
    start = np.asarray(start, dtype=np.float64)
    d = _normalise(np.asarray(direction, dtype=np.float64))
    energy = np.asarray(energy, dtype=np.float64)
    photon = np.asarray(photon, dtype=bool)
    n = len(energy)
    gap = np.where(photon, rng.exponential(argon.CONVERSION_LENGTH_CM, n), 0.0)
    origin = start + gap[:, None] * d
    n_mip = np.where(photon, 2.0, 1.0)
    trunk = np.clip(rng.exponential(TRUNK_MEAN_CM, n), *TRUNK_RANGE_CM)
    trunk = np.minimum(trunk, TRUNK_MAX_FRACTION * energy / (n_mip * argon.MIP_DEDX))
    # trunk: straight minimum-ionising segments
    owner, j = _ragged_arange(np.ceil(trunk / step).astype(np.int64))
    seg = np.minimum(step, trunk[owner] - j * step)
    depth = j * step + 0.5 * seg
    t_pos = origin[owner] + depth[:, None] * d[owner]
    t_e = n_mip[owner] * argon.MIP_DEDX * seg
    t_time = (gap[owner] + depth) / argon.C_CM_PER_NS
    trunk_energy = np.bincount(owner, weights=t_e, minlength=n)
    # body: gamma-distributed depth, exponential lateral radius
    body_energy = np.maximum(energy - trunk_energy, 0.0)
    a, b, _ = argon.shower_profile(energy, photon)
    count = np.maximum(np.rint(body_energy / granularity), 1).astype(np.int64)
    count[body_energy <= 0] = 0
    b_owner = np.repeat(np.arange(n), count)
    b_depth = rng.standard_gamma(a[b_owner]) / b[b_owner] * argon.X0_CM
    radius = rng.exponential(LATERAL_SCALE_CM, len(b_owner))
    phi = rng.uniform(0.0, 2.0 * np.pi, len(b_owner))
    e1, e2 = perpendicular_frame(d)
    b_pos = (
        origin[b_owner]
        + b_depth[:, None] * d[b_owner]
        + (radius * np.cos(phi))[:, None] * e1[b_owner]
        + (radius * np.sin(phi))[:, None] * e2[b_owner]
    )
    b_e = (body_energy / np.maximum(count, 1))[b_owner]
    b_time = (gap[b_owner] + b_depth) / argon.C_CM_PER_NS
    pos = np.concatenate([t_pos, b_pos])
    keep = inside(pos, lo, hi)
    deposits = Deposits(
        pos=pos[keep],
        t=np.concatenate([t_time, b_time])[keep],
        e=np.concatenate([t_e, b_e])[keep],
        dedx=np.full(int(keep.sum()), argon.MIP_DEDX),  # every charged shower particle is near minimum ionising
        owner=np.concatenate([owner, b_owner])[keep],
        label=np.full(int(keep.sum()), HIT_LABELS["shower"], dtype=np.int8),
        path=(np.concatenate([gap[owner] + depth, gap[b_owner] + b_depth]))[keep],
    )
    return Showers(deposits=deposits, conversion=gap, trunk=trunk)


# ---------------------------------------------------------------------------------------------- event kinematics
def sample_neutrino_energy(n: int, rng: np.random.Generator, settings: SimSettings) -> np.ndarray:
    """Neutrino energies [GeV], shape (n,): Gamma(shape, mean/shape) truncated to [energy_min, energy_max],
    drawn by inverting the regularised incomplete gamma function on the truncated interval."""
    from scipy.special import gammainc, gammaincinv

    k, scale = settings.energy_shape, settings.energy_mean / settings.energy_shape
    lo, hi = gammainc(k, settings.energy_min / scale), gammainc(k, settings.energy_max / scale)
    return np.clip(gammaincinv(k, rng.uniform(lo, hi, n)) * scale, settings.energy_min, settings.energy_max)


def _binomial_multiplicity(n_max: int, prob: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.binomial(n_max, np.clip(prob, 0.0, 1.0)).astype(np.int64)


def pi0_decay(
    energy: np.ndarray, direction: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """pi0 -> gamma gamma, isotropic in the pi0 rest frame and boosted along the pi0 direction.

    ``energy`` (n,) total pi0 energies [MeV], ``direction`` (n, 3). Returns ``(E1, d1, E2, d2)``: photon
    energies (n,) [MeV] and unit directions (n, 3). E1 + E2 = energy and the photon four-momenta add up
    to the pi0's.
    """
    m = argon.M_PI0
    gamma = np.maximum(energy / m, 1.0)
    beta = np.sqrt(1.0 - 1.0 / gamma**2)
    cos_t = rng.uniform(-1.0, 1.0, len(energy))
    phi = rng.uniform(0.0, 2.0 * np.pi, len(energy))
    sin_t = np.sqrt(1.0 - cos_t**2)
    e1, e2 = perpendicular_frame(direction)
    half = 0.5 * m
    out = []
    for sign in (1.0, -1.0):
        p_par = gamma * half * (sign * cos_t + beta)
        e_lab = gamma * half * (1.0 + beta * sign * cos_t)
        perp = sign * half * sin_t
        vec = p_par[:, None] * direction + (perp * np.cos(phi))[:, None] * e1 + (perp * np.sin(phi))[:, None] * e2
        out.extend([e_lab, _normalise(vec)])
    return out[0], out[1], out[2], out[3]


@dataclass
class Interactions:
    """Per-event truth (arrays of shape (n_events,); energies in GeV, vertex in cm) and the flat list of
    primary particles: ``kind`` (see :data:`PRIMARY_KINDS`), ``event``, kinetic energy [MeV] (photons, electrons:
    total energy), unit ``direction`` (n, 3)."""

    nu_energy: np.ndarray
    lepton_energy: np.ndarray
    hadronic_energy: np.ndarray
    vertex: np.ndarray
    n_proton: np.ndarray
    n_pion: np.ndarray
    n_pi0: np.ndarray
    kind: np.ndarray
    event: np.ndarray
    kinetic: np.ndarray
    direction: np.ndarray


#: Primary particle kinds: track species first (codes equal to :data:`SPECIES`), then shower particles.
PRIMARY_KINDS = {"muon": 0, "pion": 1, "proton": 2, "electron": 3, "photon": 4}


def sample_interactions(sample: str, n: int, rng: np.random.Generator, settings: SimSettings) -> Interactions:
    """Draw ``n`` neutrino interactions of ``sample``: energies, lepton, hadrons and the pi0 photons.

    E_nu from :func:`sample_neutrino_energy`; y ~ Beta(1, 1.6); x ~ Beta(1.2, 3); Q^2 = 2 M x y E; the lepton
    (energy (1 - y) E) at the angle that gives this Q^2, uniform in azimuth, the beam along +z. Hadrons share the
    hadronic energy nu = y E: protons (binomial, up to 3), charged pions and pi0 (binomial, up to 2, more likely
    as W - M_N grows, pi0 more frequent in NC); pions need their mass from the budget. Up to 30 % of the kinetic
    energy goes to invisible neutrons and binding, the rest is split by a flat Dirichlet draw. Hadron directions
    scatter about the momentum transfer q, more tightly for a fast hadronic system (|q| / W). Every NC event has
    at least one visible hadron (a proton if nothing else).
    """
    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    m_n = argon.M_PROTON / 1000.0
    m_lep = LEPTON_MASS[sample] / 1000.0
    e_nu = sample_neutrino_energy(n, rng, settings)
    y = rng.beta(*Y_BETA, n)
    y = np.clip(y, 0.02, 1.0 - (m_lep + 0.01) / e_nu)
    nu = y * e_nu
    e_lep = e_nu - nu
    p_lep = np.sqrt(np.maximum(e_lep**2 - m_lep**2, 0.0))
    x = rng.beta(*X_BETA, n)
    q2 = 2.0 * m_n * x * nu
    cos_lep = np.clip((2.0 * e_nu * e_lep - m_lep**2 - q2) / (2.0 * e_nu * np.maximum(p_lep, 1e-9)), -1.0, 1.0)
    phi_lep = rng.uniform(0.0, 2.0 * np.pi, n)
    sin_lep = np.sqrt(1.0 - cos_lep**2)
    d_lep = np.stack([sin_lep * np.cos(phi_lep), sin_lep * np.sin(phi_lep), cos_lep], axis=1)
    q_vec = np.stack([np.zeros(n), np.zeros(n), e_nu], axis=1) - p_lep[:, None] * d_lep
    q_abs = np.linalg.norm(q_vec, axis=1)
    w = np.sqrt(np.maximum(m_n**2 + 2.0 * m_n * nu - q2, m_n**2))
    excess = w - m_n
    # multiplicities
    n_pmax, p0, p1 = PROTON_MODEL[sample]
    n_proton = _binomial_multiplicity(n_pmax, p0 + p1 * (1.0 - np.exp(-nu)), rng)
    n_pimax, pi_scale, pi_w0 = PION_MODEL[sample]
    n_pion = _binomial_multiplicity(n_pimax, pi_scale * (1.0 - np.exp(-excess / pi_w0)), rng)
    n_0max, pi0_scale, pi0_w0 = PI0_MODEL[sample]
    n_pi0 = _binomial_multiplicity(n_0max, pi0_scale * (1.0 - np.exp(-excess / pi0_w0)), rng)
    nu_mev = nu * 1000.0
    for _ in range(n_pimax + n_0max):  # drop pions the energy budget cannot pay for (a few fix-up rounds)
        budget = nu_mev - n_pion * argon.M_PION - n_pi0 * argon.M_PI0
        short = budget < MIN_HADRON_KINETIC * (n_proton + n_pion + n_pi0)
        drop_pi0 = short & (n_pi0 > 0)
        n_pi0 = n_pi0 - drop_pi0
        n_pion = n_pion - (short & ~drop_pi0 & (n_pion > 0))
    if sample == "nc":
        n_proton = np.where(n_proton + n_pion + n_pi0 == 0, 1, n_proton)
    kinetic_budget = np.maximum(nu_mev - n_pion * argon.M_PION - n_pi0 * argon.M_PI0, 0.0)
    visible = kinetic_budget * (1.0 - rng.uniform(0.0, INVISIBLE_FRACTION_MAX, n))
    # hadrons: protons, charged pions, pi0 as one flat list sharing the visible kinetic energy
    had_event = np.concatenate([np.repeat(np.arange(n), c) for c in (n_proton, n_pion, n_pi0)])
    pi0_code = -1  # pi0 are not primaries: they decay to two photons below
    kinds_and_counts = ((n_proton, PRIMARY_KINDS["proton"]), (n_pion, PRIMARY_KINDS["pion"]), (n_pi0, pi0_code))
    had_kind = np.concatenate([np.full(c.sum(), k) for c, k in kinds_and_counts]).astype(np.int64)
    share = rng.standard_exponential(len(had_event))
    share = share / np.bincount(had_event, weights=share, minlength=n)[had_event]
    had_kin = share * visible[had_event]
    boost = (q_abs / w)[had_event]
    q_hat = q_vec / q_abs[:, None]
    had_dir = _normalise(boost[:, None] * q_hat[had_event] + isotropic(len(had_event), rng))
    # pi0 -> 2 gamma
    is_pi0 = had_kind == pi0_code
    g1, d1, g2, d2 = pi0_decay(had_kin[is_pi0] + argon.M_PI0, had_dir[is_pi0], rng)
    pi0_event = had_event[is_pi0]
    # primaries: lepton, charged hadrons, photons
    lepton_kind = {"nue_cc": PRIMARY_KINDS["electron"], "numu_cc": PRIMARY_KINDS["muon"]}.get(sample)
    kinds, events, kins, dirs = [], [], [], []
    if lepton_kind is not None:
        lep_kin = e_lep * 1000.0 - (argon.M_MUON if lepton_kind == PRIMARY_KINDS["muon"] else 0.0)
        kinds.append(np.full(n, lepton_kind))
        events.append(np.arange(n))
        kins.append(lep_kin)
        dirs.append(d_lep)
    charged = ~is_pi0
    kinds += [had_kind[charged], np.full(2 * len(g1), PRIMARY_KINDS["photon"])]
    events += [had_event[charged], np.concatenate([pi0_event, pi0_event])]
    kins += [had_kin[charged], np.concatenate([g1, g2])]
    dirs += [had_dir[charged], np.concatenate([d1, d2])]
    lo, hi = settings.bounds
    margin = settings.fiducial_margin
    vertex = rng.uniform(lo + margin, hi - margin, (n, 3))
    return Interactions(
        nu_energy=e_nu,
        lepton_energy=np.zeros(n) if lepton_kind is None else e_lep,
        hadronic_energy=nu,
        vertex=vertex,
        n_proton=n_proton,
        n_pion=n_pion,
        n_pi0=n_pi0,
        kind=np.concatenate(kinds).astype(np.int64),
        event=np.concatenate(events).astype(np.int64),
        kinetic=np.concatenate(kins),
        direction=np.concatenate(dirs).reshape(-1, 3),
    )


# ---------------------------------------------------------------------------------------------- detector response
def detector_response(
    deposits: Deposits, rng: np.random.Generator, settings: SimSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Measured positions (n, 3) [cm] and collected charge (n,) [thousands of electrons] of ``deposits``.

    Charge = E / W_ion x R_Box(dE/dx, E-field) x exp(-t_drift / tau), t_drift = x / v_drift (anode at x = 0).
    Positions: Gaussian diffusion, sigma_L = sqrt(2 D_L t_drift) along x and sigma_T = sqrt(2 D_T t_drift) in y
    and z (if ``settings.diffusion``), then clipped to the active volume (a charge cannot be read outside it).
    """
    lo, hi = settings.bounds
    drift_time = np.maximum(deposits.pos[:, 0] - lo[0], 0.0) / settings.drift_velocity  # us
    electrons = deposits.e / argon.W_ION * argon.box_recombination(deposits.dedx, settings.efield)
    charge = electrons * argon.drift_attenuation(drift_time, settings.lifetime * 1000.0) / 1000.0
    pos = deposits.pos
    if settings.diffusion:
        sigma_l = argon.diffusion_sigma(drift_time, argon.DIFFUSION_L)
        sigma_t = argon.diffusion_sigma(drift_time, argon.DIFFUSION_T)
        sigma = np.stack([sigma_l, sigma_t, sigma_t], axis=1)
        pos = np.clip(pos + sigma * rng.standard_normal(pos.shape), lo, hi)
    return pos, charge


# ---------------------------------------------------------------------------------------------- events
def simulate_events(
    sample: str, n_events: int, rng: np.random.Generator, settings: SimSettings
) -> dict[str, np.ndarray | ak.Array]:
    """Simulate ``n_events`` events of ``sample`` (one of :data:`SAMPLES`); the branches of the hits file.

    Event-level numpy arrays (n_events,): ``label`` (int32), ``nu_energy``, ``lepton_energy``, ``hadronic_energy``
    [GeV], ``vtx_x``, ``vtx_y``, ``vtx_z`` [cm], ``n_pi0``, ``n_proton``, ``n_pion`` (int32), ``dep_energy`` [GeV]
    (the sum of ``hit_e``). Jagged awkward arrays (n_events, var), hits grouped by primary particle in step order:
    ``hit_x``, ``hit_y``, ``hit_z`` [cm, after diffusion], ``hit_t`` [ns], ``hit_e`` [GeV, true deposit],
    ``hit_q`` [10^3 electrons], ``hit_label`` (int8: 1 track, 2 shower). All float branches are float32.
    """
    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    lo, hi = settings.bounds
    inter = sample_interactions(sample, n_events, rng, settings)
    start = inter.vertex[inter.event]
    is_track = inter.kind <= PRIMARY_KINDS["proton"]
    track_ids = np.flatnonzero(is_track)
    species = inter.kind[track_ids]
    length = SPECIES_INTERACTION_LENGTH[species]
    interaction = np.where(np.isfinite(length), rng.exponential(1.0, len(track_ids)) * length, np.inf)
    tracks = propagate_tracks(
        start[track_ids],
        inter.direction[track_ids],
        inter.kinetic[track_ids],
        species,
        rng,
        lo=lo,
        hi=hi,
        step=settings.track_step,
        max_path=interaction,
    )
    shower_ids = np.flatnonzero(~is_track)
    showers = em_showers(
        start[shower_ids],
        inter.direction[shower_ids],
        inter.kinetic[shower_ids],
        inter.kind[shower_ids] == PRIMARY_KINDS["photon"],
        rng,
        lo=lo,
        hi=hi,
        step=settings.track_step,
        granularity=settings.shower_granularity,
    )
    tracks.deposits.owner = track_ids[tracks.deposits.owner]
    showers.deposits.owner = shower_ids[showers.deposits.owner]
    dep = Deposits.concatenate([tracks.deposits, showers.deposits])
    pos, charge = detector_response(dep, rng, settings)
    event = inter.event[dep.owner]
    order = np.lexsort((np.arange(len(dep)), dep.owner, event))
    counts = np.bincount(event, minlength=n_events)

    def jag(values: np.ndarray, dtype: type) -> ak.Array:
        return ak.unflatten(np.ascontiguousarray(values[order], dtype=dtype), counts)

    hit_e = (dep.e / 1000.0).astype(np.float32)
    dep_energy = np.bincount(event, weights=hit_e.astype(np.float64), minlength=n_events)
    return {
        "label": np.full(n_events, SAMPLES[sample], dtype=np.int32),
        "nu_energy": inter.nu_energy.astype(np.float32),
        "lepton_energy": inter.lepton_energy.astype(np.float32),
        "hadronic_energy": inter.hadronic_energy.astype(np.float32),
        "vtx_x": inter.vertex[:, 0].astype(np.float32),
        "vtx_y": inter.vertex[:, 1].astype(np.float32),
        "vtx_z": inter.vertex[:, 2].astype(np.float32),
        "n_pi0": inter.n_pi0.astype(np.int32),
        "n_proton": inter.n_proton.astype(np.int32),
        "n_pion": inter.n_pion.astype(np.int32),
        "dep_energy": dep_energy.astype(np.float32),
        "hit_x": jag(pos[:, 0], np.float32),
        "hit_y": jag(pos[:, 1], np.float32),
        "hit_z": jag(pos[:, 2], np.float32),
        "hit_t": jag(dep.t, np.float32),
        "hit_e": ak.unflatten(hit_e[order], counts),
        "hit_q": jag(charge, np.float32),
        "hit_label": jag(dep.label, np.int8),
    }


def shard_seed(base_seed: int, sample: str, shard: int) -> int:
    """The seed of one shard: distinct per (sample, shard), reproducible from the config seed."""
    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    return (int(base_seed) * 1_000_003 + SAMPLES[sample] * 10_007 + int(shard)) % MAX_SEED + 1


def _concatenate(pieces: list[dict[str, np.ndarray | ak.Array]]) -> dict[str, np.ndarray | ak.Array]:
    out: dict[str, np.ndarray | ak.Array] = {}
    for key, first in pieces[0].items():
        if isinstance(first, ak.Array):
            out[key] = ak.concatenate([p[key] for p in pieces])
        else:
            out[key] = np.concatenate([p[key] for p in pieces])
    return out


def generate_hits_shard(
    out: str | os.PathLike[str],
    *,
    sample: str,
    n_events: int,
    seed: int,
    settings: SimSettings | None = None,
    batch_size: int = 1000,
    progress: bool = True,
) -> dict[str, float | int | str]:
    """Simulate ``n_events`` events of ``sample`` with ``seed`` in batches; write them to ``out`` (ROOT, atomic).

    Returns stats: sample, seed, n_events, n_hits, mean/max hits per event, mean deposited energy [GeV],
    seconds (total), simulate_seconds, write_seconds, events_per_s.
    """
    from tqdm import tqdm

    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    if n_events <= 0:
        raise ValueError(f"n_events must be positive, got {n_events}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    settings = settings or SimSettings()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    pieces = []
    with tqdm(total=n_events, desc=f"{sample} seed {seed}", unit="ev", disable=not progress, mininterval=2.0) as bar:
        for first in range(0, n_events, batch_size):
            size = min(batch_size, n_events - first)
            pieces.append(simulate_events(sample, size, rng, settings))
            bar.update(size)
    branches = _concatenate(pieces)
    t1 = time.perf_counter()
    write_events(Path(out), branches, title=HIT_TREE_TITLE)
    t2 = time.perf_counter()
    n_hits = ak.num(branches["hit_e"])
    return {
        "sample": sample,
        "seed": int(seed),
        "n_events": int(n_events),
        "n_hits": int(ak.sum(n_hits)),
        "mean_hits_per_event": float(ak.mean(n_hits)),
        "max_hits_per_event": int(ak.max(n_hits)),
        "mean_dep_energy_gev": float(np.mean(branches["dep_energy"])),
        "simulate_seconds": t1 - t0,
        "write_seconds": t2 - t1,
        "seconds": t2 - t0,
        "events_per_s": n_events / (t2 - t0),
    }
