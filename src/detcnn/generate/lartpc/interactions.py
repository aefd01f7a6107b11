"""Event kinematics: the event model, neutrino energy, pi0 decay and :func:`sample_interactions`.

Units: per-event energies in GeV, particle energies and masses in MeV, vertices in cm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detcnn.generate.lartpc.geometry import _normalise, isotropic, perpendicular_frame
from detcnn.generate.lartpc.settings import SAMPLES, SimSettings
from detcnn.physics import argon

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
#: Primary kind of the charged lepton per sample (none for NC: its outgoing neutrino is invisible).
LEPTON_KIND = {"nue_cc": PRIMARY_KINDS["electron"], "numu_cc": PRIMARY_KINDS["muon"]}


@dataclass
class _Kinematics:
    """Per event (n,): neutrino energy ``e_nu``, energy transfer ``nu``, lepton energy ``e_lep`` [GeV], the
    lepton's unit direction ``d_lep`` (n, 3), the momentum transfer ``q_vec`` (n, 3) and ``q_abs`` [GeV] and the
    hadronic invariant mass ``w`` [GeV]."""

    e_nu: np.ndarray
    nu: np.ndarray
    e_lep: np.ndarray
    d_lep: np.ndarray
    q_vec: np.ndarray
    q_abs: np.ndarray
    w: np.ndarray


def _lepton_kinematics(sample: str, n: int, rng: np.random.Generator, settings: SimSettings) -> _Kinematics:
    """E_nu, y ~ Beta(1, 1.6), x ~ Beta(1.2, 3), Q^2 = 2 M x y E and the lepton at the angle giving this Q^2,
    uniform in azimuth, the beam along +z (see :func:`sample_interactions`)."""
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
    return _Kinematics(e_nu=e_nu, nu=nu, e_lep=e_lep, d_lep=d_lep, q_vec=q_vec, q_abs=q_abs, w=w)


def _multiplicities(
    sample: str, nu: np.ndarray, excess: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers of protons, charged pions and pi0 per event (n,) for energy transfer ``nu`` and ``excess`` =
    W - M_N (n,) [GeV]; pions the budget cannot pay for are dropped and an NC event gets at least a proton."""
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
    return n_proton, n_pion, n_pi0


#: Hadron kind of a pi0 in :func:`_hadrons`: pi0 are not primaries, they decay to two photons.
_PI0_CODE = -1


def _hadrons(
    kin: _Kinematics, counts: tuple[np.ndarray, np.ndarray, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Protons, charged pions and pi0 (``counts`` per event (n,)) as one flat list (m,): ``event``, ``kind``
    (:data:`PRIMARY_KINDS`, pi0 :data:`_PI0_CODE`), kinetic energy [MeV] (a flat Dirichlet share of the
    visible hadronic kinetic energy) and unit direction (m, 3) scattered about q."""
    n_proton, n_pion, n_pi0 = counts
    n = len(n_proton)
    kinetic_budget = np.maximum(kin.nu * 1000.0 - n_pion * argon.M_PION - n_pi0 * argon.M_PI0, 0.0)
    visible = kinetic_budget * (1.0 - rng.uniform(0.0, INVISIBLE_FRACTION_MAX, n))
    had_event = np.concatenate([np.repeat(np.arange(n), c) for c in counts])
    kinds_and_counts = ((n_proton, PRIMARY_KINDS["proton"]), (n_pion, PRIMARY_KINDS["pion"]), (n_pi0, _PI0_CODE))
    had_kind = np.concatenate([np.full(c.sum(), k) for c, k in kinds_and_counts]).astype(np.int64)
    share = rng.standard_exponential(len(had_event))
    share = share / np.bincount(had_event, weights=share, minlength=n)[had_event]
    had_kin = share * visible[had_event]
    boost = (kin.q_abs / kin.w)[had_event]
    q_hat = kin.q_vec / kin.q_abs[:, None]
    had_dir = _normalise(boost[:, None] * q_hat[had_event] + isotropic(len(had_event), rng))
    return had_event, had_kind, had_kin, had_dir


def _primaries(
    sample: str, kin: _Kinematics, hadrons: tuple[np.ndarray, ...], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The flat primaries (m,): kind, event, kinetic energy [MeV] and direction (m, 3) of the charged lepton
    (CC), the charged hadrons and the photons of the pi0 decays (the ``hadrons`` of :func:`_hadrons`)."""
    had_event, had_kind, had_kin, had_dir = hadrons
    n = len(kin.e_nu)
    is_pi0 = had_kind == _PI0_CODE
    g1, d1, g2, d2 = pi0_decay(had_kin[is_pi0] + argon.M_PI0, had_dir[is_pi0], rng)
    pi0_event = had_event[is_pi0]
    lepton_kind = LEPTON_KIND.get(sample)
    kinds, events, kins, dirs = [], [], [], []
    if lepton_kind is not None:
        lep_kin = kin.e_lep * 1000.0 - (argon.M_MUON if lepton_kind == PRIMARY_KINDS["muon"] else 0.0)
        kinds.append(np.full(n, lepton_kind))
        events.append(np.arange(n))
        kins.append(lep_kin)
        dirs.append(kin.d_lep)
    charged = ~is_pi0
    kinds += [had_kind[charged], np.full(2 * len(g1), PRIMARY_KINDS["photon"])]
    events += [had_event[charged], np.concatenate([pi0_event, pi0_event])]
    kins += [had_kin[charged], np.concatenate([g1, g2])]
    dirs += [had_dir[charged], np.concatenate([d1, d2])]
    return (np.concatenate(kinds).astype(np.int64), np.concatenate(events).astype(np.int64), np.concatenate(kins),
            np.concatenate(dirs).reshape(-1, 3))  # fmt: skip


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
    kin = _lepton_kinematics(sample, n, rng, settings)
    counts = _multiplicities(sample, kin.nu, kin.w - argon.M_PROTON / 1000.0, rng)
    kind, event, kinetic, direction = _primaries(sample, kin, _hadrons(kin, counts, rng), rng)
    lo, hi = settings.bounds
    margin = settings.fiducial_margin
    vertex = rng.uniform(lo + margin, hi - margin, (n, 3))
    return Interactions(
        nu_energy=kin.e_nu,
        lepton_energy=np.zeros(n) if LEPTON_KIND.get(sample) is None else kin.e_lep,
        hadronic_energy=kin.nu,
        vertex=vertex,
        n_proton=counts[0],
        n_pion=counts[1],
        n_pi0=counts[2],
        kind=kind,
        event=event,
        kinetic=kinetic,
        direction=direction,
    )
