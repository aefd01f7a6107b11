"""Liquid argon: material constants and the energy-loss, scattering, shower and charge-yield formulas.

Units: MeV, cm, g/cm^3, ns, us, kV/cm unless a name says otherwise. Every function is a pure, vectorised
numpy function (arrays in, arrays out, broadcasting over the inputs).

Sources (quoted next to each number):
  [PDG-AN]  PDG "Atomic and Nuclear Properties of Materials", liquid argon (Ar), pdg.lbl.gov/AtomicNuclearProperties
            (D.E. Groom et al.; density-effect parameters from Sternheimer, Berger, Seltzer, ADNDT 30 (1984) 261).
  [PDG-PM]  PDG Review of Particle Physics (2022), chapter 34 "Passage of particles through matter"
            (Bichsel, Groom, Klein); the formula is written out next to each use.
  [GMS]     Groom, Mokhov, Striganov, "Muon stopping power and range tables", ADNDT 78 (2001) 183.
  [ArgoNeuT] Acciarri et al., "A study of electron recombination using highly ionizing particles in the ArgoNeuT
            LArTPC", JINST 8 (2013) P08005: the modified Box model.
  [ICARUS]  Amoruso et al. (ICARUS), "Study of electron recombination in liquid argon with the ICARUS TPC",
            NIM A 523 (2004) 275: Birks' law.
  [LArSoft] LArSoft / larnd-sim default LAr transport constants (diffusion from ICARUS measurements);
            MicroBooNE, JINST 12 (2017) P02017 for drift velocity and electron lifetime.
"""

from __future__ import annotations

import math
from enum import StrEnum
from functools import lru_cache

import numpy as np

# ---------------------------------------------------------------------------------------------- constants
#: Electron mass [MeV] (PDG 2022).
M_ELECTRON = 0.51099895
#: Muon, charged pion, neutral pion, proton masses [MeV] (PDG 2022).
M_MUON = 105.6583755
M_PION = 139.57039
M_PI0 = 134.9768
M_PROTON = 938.27208816
#: Speed of light [cm/ns].
C_CM_PER_NS = 29.9792458
#: K = 4 pi N_A r_e^2 m_e c^2 [MeV cm^2 / mol] ([PDG-PM] Table 34.1).
K_BETHE = 0.307075
#: Scale energy E_s = sqrt(4 pi / alpha) m_e c^2 [MeV] ([PDG-PM] Sec. 34.5, Moliere radius).
E_SCALE = 21.2052

#: Liquid-argon density [g/cm^3] at 87 K ([PDG-AN]: 1.396).
DENSITY = 1.396
#: Atomic number and mass [g/mol] ([PDG-AN]).
Z_ARGON = 18
A_ARGON = 39.948
Z_OVER_A = Z_ARGON / A_ARGON
#: Mean excitation energy I [MeV] ([PDG-AN]: 188.0 eV).
I_MEAN = 188.0e-6
#: Sternheimer density-effect parameters for liquid argon ([PDG-AN], from Sternheimer et al. 1984):
#: -C = 5.2146, x0 = 0.2000, x1 = 3.0000, a = 0.19559, k = 3.0000, delta0 = 0.00.
STERNHEIMER = {"C": 5.2146, "x0": 0.2000, "x1": 3.0000, "a": 0.19559, "k": 3.0000, "delta0": 0.0}
#: Radiation length [g/cm^2] and [cm] ([PDG-AN]: 19.55 g/cm^2 = 14.00 cm).
X0_G_CM2 = 19.55
X0_CM = X0_G_CM2 / DENSITY
#: Critical energy for electrons [MeV] ([PDG-AN], Rossi definition: 32.84 MeV for e-, 31.91 MeV for e+).
CRITICAL_ENERGY = 32.84
#: Moliere radius R_M = X0 E_s / E_c [cm] ([PDG-PM] Sec. 34.5; [PDG-AN] lists 12.62 g/cm^2 = 9.043 cm).
MOLIERE_RADIUS_CM = X0_CM * E_SCALE / CRITICAL_ENERGY
#: Nuclear interaction length [g/cm^2] and [cm] ([PDG-AN]: 119.7 g/cm^2 = 85.77 cm). The nucleon value;
#: we use it for charged pions too (their inelastic cross-section on argon is of the same size at a few GeV).
INTERACTION_LENGTH_G_CM2 = 119.7
INTERACTION_LENGTH_CM = INTERACTION_LENGTH_G_CM2 / DENSITY
#: Minimum ionisation [MeV cm^2/g] and [MeV/cm] ([PDG-AN], liquid argon: <-dE/dx>_min = 1.508 MeV cm^2/g,
#: 2.105 MeV/cm; the gas-phase entry, with a weaker density effect, is 1.519). :func:`bethe_dedx` gives 1.507.
MIP_DEDX_G = 1.508
MIP_DEDX = MIP_DEDX_G * DENSITY
#: Mean photon conversion length 9/7 X0 [cm] ([PDG-PM] Sec. 34.4.5: the pair-production mean free path
#: at high energy is 9/7 of the radiation length).
CONVERSION_LENGTH_CM = 9.0 / 7.0 * X0_CM
#: Mean energy per ion pair W_ion [MeV] (23.6 eV; Miyajima et al., Phys. Rev. A 9 (1974) 1438; [ArgoNeuT]).
W_ION = 23.6e-6
#: Modified Box model parameters ([ArgoNeuT] at 0.481 kV/cm): alpha = 0.93, beta' = 0.212 (kV/cm)(g/cm^2)/MeV,
#: with the density ArgoNeuT used in xi = beta' (dE/dx) / (rho E): 1.383 g/cm^3.
BOX_ALPHA = 0.93
BOX_BETA = 0.212
BOX_DENSITY = 1.383
#: Birks' law parameters ([ICARUS]): A = 0.800, k = 0.0486 (kV/cm)(g/cm^2)/MeV, in
#: R = A / (1 + k (dE/dx) / (rho E)) with the liquid-argon density :data:`DENSITY`.
BIRKS_A = 0.800
BIRKS_K = 0.0486
#: Electron drift velocity at 500 V/cm, 87 K [cm/us] (about 1.6 mm/us: Walkowiak, NIM A 449 (2000) 288;
#: the MicroBooNE design field gives 1.1 mm/us at 273 V/cm).
DRIFT_VELOCITY = 0.16
#: Longitudinal and transverse electron diffusion constants [cm^2/us] ([LArSoft] defaults, ICARUS:
#: D_L = 6.2 cm^2/s, D_T = 16.3 cm^2/s; MicroBooNE measured D_L = 3.74 cm^2/s at 273 V/cm, JINST 16 (2021) P09025).
DIFFUSION_L = 6.2e-6
DIFFUSION_T = 16.3e-6
#: Electron lifetime [us] (MicroBooNE reached > 10 ms; JINST 12 (2017) P02017).
ELECTRON_LIFETIME = 10_000.0
#: Shower longitudinal profile constants ([PDG-PM] Sec. 34.5): t_max = ln(E/E_c) + C_j with
#: C_j = -0.5 for electrons and +0.5 for photons; b ~ 0.5 for most materials.
SHOWER_C = {"electron": -0.5, "photon": 0.5}
SHOWER_B = 0.5


# ---------------------------------------------------------------------------------------------- Bethe
def beta_gamma(kinetic: np.ndarray, mass: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(beta, gamma, beta*gamma)`` of a particle of kinetic energy ``kinetic`` [MeV] and ``mass`` [MeV]."""
    gamma = 1.0 + np.asarray(kinetic, dtype=np.float64) / mass
    bg = np.sqrt(np.maximum(gamma * gamma - 1.0, 0.0))
    return bg / gamma, gamma, bg


def max_energy_transfer(bg: np.ndarray, mass: float | np.ndarray) -> np.ndarray:
    """W_max [MeV], the largest energy given to a free electron in one collision ([PDG-PM] Sec. 34.2.2):

    W_max = 2 m_e c^2 (beta gamma)^2 / (1 + 2 gamma m_e / M + (m_e / M)^2).
    """
    gamma = np.sqrt(1.0 + bg * bg)
    r = M_ELECTRON / mass
    return 2.0 * M_ELECTRON * bg * bg / (1.0 + 2.0 * gamma * r + r * r)


def density_effect(bg: np.ndarray) -> np.ndarray:
    """Sternheimer density-effect correction delta(beta gamma) for liquid argon ([PDG-PM] Sec. 34.2.5):

    with x = log10(beta gamma): 2 ln10 x - C for x >= x1; 2 ln10 x - C + a (x1 - x)^k for x0 <= x < x1;
    delta0 10^(2 (x - x0)) below x0 (delta0 = 0 for an insulator like argon).
    """
    p = STERNHEIMER
    x = np.log10(np.maximum(bg, 1e-12))
    high = 2.0 * math.log(10.0) * x - p["C"]
    mid = high + p["a"] * np.clip(p["x1"] - x, 0.0, None) ** p["k"]
    low = p["delta0"] * 10.0 ** (2.0 * (x - p["x0"]))
    return np.where(x >= p["x1"], high, np.where(x >= p["x0"], mid, low))


def bethe_dedx(kinetic: np.ndarray, mass: float | np.ndarray, charge: float = 1.0) -> np.ndarray:
    """Mean ionisation energy loss -dE/dx [MeV/cm] in liquid argon, Bethe formula with density effect.

    ``kinetic`` [MeV] any shape, ``mass`` [MeV] scalar or broadcastable. [PDG-PM] Sec. 34.2.3, Eq. (34.5):
    -dE/dx = K z^2 (Z/A) rho / beta^2 [ 1/2 ln(2 m_e c^2 beta^2 gamma^2 W_max / I^2) - beta^2 - delta/2 ].
    No shell, Barkas or Bloch corrections (they matter below a few MeV per nucleon); the logarithm is
    floored so the formula stays positive far below its range of validity.
    """
    beta, _, bg = beta_gamma(kinetic, mass)
    wmax = max_energy_transfer(bg, mass)
    arg = 2.0 * M_ELECTRON * bg * bg * wmax / (I_MEAN * I_MEAN)
    bracket = 0.5 * np.log(np.maximum(arg, 1.0)) - beta * beta - 0.5 * density_effect(bg)
    bracket = np.maximum(bracket, 0.05)
    return K_BETHE * charge * charge * Z_OVER_A * DENSITY / np.maximum(beta * beta, 1e-12) * bracket


def landau_width(step: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Landau scale xi = (K/2) (Z/A) rho x / beta^2 [MeV] for a path ``step`` [cm] ([PDG-PM] Sec. 34.2.9)."""
    return 0.5 * K_BETHE * Z_OVER_A * DENSITY * step / np.maximum(beta * beta, 1e-12)


def landau_mpv(step: np.ndarray, beta: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Most probable energy loss Delta_p [MeV] in a path ``step`` [cm] ([PDG-PM] Sec. 34.2.9, Landau-Vavilov-Bichsel):

    Delta_p = xi [ln(2 m_e c^2 beta^2 gamma^2 / I) + ln(xi / I) + j - beta^2 - delta(beta gamma)], j = 0.200.
    For a MIP in 0.5 cm of liquid argon Delta_p / x = 1.65 MeV/cm, against a mean of 2.1 MeV/cm.
    """
    xi = landau_width(step, beta)
    safe_xi = np.maximum(xi, 1e-300)
    log_terms = np.log(2.0 * M_ELECTRON * bg * bg / I_MEAN) + np.log(safe_xi / I_MEAN) + 0.200
    return xi * (log_terms - beta * beta - density_effect(bg))


# ---------------------------------------------------------------------------------------------- range tables
#: The beta*gamma grid of the range tables: from 0.05 (a 1.2 MeV proton, a 0.13 MeV muon) to 2000.
_BG_GRID = np.geomspace(0.05, 2000.0, 4001)


@lru_cache(maxsize=16)
def csda_range_table(mass: float) -> tuple[np.ndarray, np.ndarray]:
    """CSDA range table of a singly-charged particle of ``mass`` [MeV]: ``(kinetic [MeV], range [cm])``.

    R(T) = integral_0^T dT' / (dE/dx)(T'), by the trapezoid rule in ln T on a log grid (4001 points);
    below the first grid point (beta gamma = 0.05) dE/dx ~ 1/T, so R(T_min) = T_min / (2 dE/dx(T_min)).
    Both arrays shape ``(4001,)``, increasing. Cached per mass.
    """
    kinetic = mass * (np.sqrt(1.0 + _BG_GRID**2) - 1.0)
    dedx = bethe_dedx(kinetic, mass)
    integrand = kinetic / dedx  # dR/d(ln T)
    lnt = np.log(kinetic)
    steps = 0.5 * (integrand[1:] + integrand[:-1]) * np.diff(lnt)
    r0 = kinetic[0] / (2.0 * dedx[0])
    rng = r0 + np.concatenate([[0.0], np.cumsum(steps)])
    kinetic.flags.writeable = False
    rng.flags.writeable = False
    return kinetic, rng


def csda_range(kinetic: np.ndarray, mass: float) -> np.ndarray:
    """CSDA range [cm] of a particle of ``mass`` [MeV] with kinetic energy ``kinetic`` [MeV] (any shape).

    Log-log interpolation in :func:`csda_range_table`; R ~ T^2 below the table, 0 at T = 0.
    """
    t_tab, r_tab = csda_range_table(float(mass))
    kinetic = np.asarray(kinetic, dtype=np.float64)
    safe = np.maximum(kinetic, 1e-300)
    inside = np.exp(np.interp(np.log(safe), np.log(t_tab), np.log(r_tab)))
    below = r_tab[0] * (safe / t_tab[0]) ** 2
    return np.where(kinetic <= 0.0, 0.0, np.where(kinetic < t_tab[0], below, inside))


def kinetic_from_range(residual: np.ndarray, mass: float) -> np.ndarray:
    """Inverse of :func:`csda_range`: kinetic energy [MeV] of a particle with residual range ``residual`` [cm]."""
    t_tab, r_tab = csda_range_table(float(mass))
    residual = np.asarray(residual, dtype=np.float64)
    safe = np.maximum(residual, 1e-300)
    inside = np.exp(np.interp(np.log(safe), np.log(r_tab), np.log(t_tab)))
    below = t_tab[0] * np.sqrt(safe / r_tab[0])
    return np.where(residual <= 0.0, 0.0, np.where(residual < r_tab[0], below, inside))


# ---------------------------------------------------------------------------------------------- scattering
def highland_theta0(path: np.ndarray, momentum: np.ndarray, beta: np.ndarray, charge: float = 1.0) -> np.ndarray:
    """Highland width theta_0 [rad] of the projected scattering angle after ``path`` [cm] of liquid argon.

    ``momentum`` [MeV/c], ``beta`` (any broadcastable shapes). [PDG-PM] Sec. 34.3:
    theta_0 = 13.6 MeV / (beta c p) z sqrt(x/X0) [1 + 0.038 ln(x z^2 / (X0 beta^2))], accurate to 11 % for
    1e-3 < x/X0 < 100. Returns 0 for a zero path.
    """
    x = np.maximum(np.asarray(path, dtype=np.float64), 0.0) / X0_CM
    beta = np.asarray(beta, dtype=np.float64)
    safe = np.maximum(x, 1e-300)
    log_term = 1.0 + 0.038 * np.log(safe * charge * charge / (beta * beta))
    theta = 13.6 / (beta * momentum) * abs(charge) * np.sqrt(safe) * np.maximum(log_term, 0.0)
    return np.where(x > 0.0, theta, 0.0)


# ---------------------------------------------------------------------------------------------- showers
def shower_profile(energy: np.ndarray, photon: np.ndarray | bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gamma-distribution longitudinal profile of an EM shower: ``(a, b, t_max)``, depth t in units of X0.

    [PDG-PM] Sec. 34.5: dE/dt = E b (b t)^(a-1) e^(-b t) / Gamma(a), t_max = (a - 1)/b = ln(E/E_c) + C_j
    with C_j = -0.5 (electron) or +0.5 (photon), b = 0.5. ``energy`` [MeV]; t_max is floored at 0 (an
    exponential profile) for showers of a few tens of MeV where the parametrisation stops making sense.
    The mean depth of the profile is a/b = t_max + 1/b.
    """
    energy = np.asarray(energy, dtype=np.float64)
    c = np.where(photon, SHOWER_C["photon"], SHOWER_C["electron"])
    t_max = np.maximum(np.log(np.maximum(energy, 1e-6) / CRITICAL_ENERGY) + c, 0.0)
    b = np.full_like(t_max, SHOWER_B)
    a = b * t_max + 1.0
    return a, b, t_max


# ---------------------------------------------------------------------------------------------- charge
def box_recombination(dedx: np.ndarray, efield: float) -> np.ndarray:
    """Fraction of ionisation electrons that escape recombination, modified Box model ([ArgoNeuT]).

    R = ln(alpha + xi) / xi with xi = beta' (dE/dx) / (rho E); ``dedx`` [MeV/cm], ``efield`` [kV/cm].
    At a MIP (2.12 MeV/cm) in 0.5 kV/cm, R = 0.70; R falls to about 0.3 at 20 MeV/cm (a stopping proton).
    """
    xi = BOX_BETA * np.maximum(np.asarray(dedx, dtype=np.float64), 1e-6) / (BOX_DENSITY * efield)
    return np.log(BOX_ALPHA + xi) / xi


def birks_recombination(dedx: np.ndarray, efield: float) -> np.ndarray:
    """Fraction of ionisation electrons that escape recombination, Birks' law ([ICARUS]).

    R = A / (1 + k (dE/dx) / (rho E)); ``dedx`` [MeV/cm], ``efield`` [kV/cm]. At 0.5 kV/cm it gives R = 0.698 at a
    MIP (2.1 MeV/cm; the Box model 0.704) and 0.391 at 15 MeV/cm (a stopping proton; the Box model 0.372): below
    about 4 MeV/cm Birks collects slightly less charge than the Box model, above it more.
    """
    dedx = np.maximum(np.asarray(dedx, dtype=np.float64), 0.0)
    return BIRKS_A / (1.0 + BIRKS_K * dedx / (DENSITY * efield))


class Recombination(StrEnum):
    """The recombination model of the charge yield (``generate.detector.recombination``): the modified Box model
    ([ArgoNeuT], the default) or Birks' law ([ICARUS])."""

    MODIFIED_BOX = "modified_box"
    BIRKS = "birks"

    def survival(self, dedx: np.ndarray, efield: float) -> np.ndarray:
        """The surviving fraction of the ionisation electrons at ``dedx`` [MeV/cm] in ``efield`` [kV/cm]."""
        model = box_recombination if self is Recombination.MODIFIED_BOX else birks_recombination
        return model(dedx, efield)


def drift_attenuation(drift_time: np.ndarray, lifetime: float = ELECTRON_LIFETIME) -> np.ndarray:
    """Surviving fraction exp(-t_drift / tau) of drifting electrons; ``drift_time`` and ``lifetime`` in us."""
    return np.exp(-np.asarray(drift_time, dtype=np.float64) / lifetime)


def diffusion_sigma(drift_time: np.ndarray, coefficient: float) -> np.ndarray:
    """Diffusion width sigma = sqrt(2 D t) [cm] after ``drift_time`` [us] for ``coefficient`` D [cm^2/us]."""
    return np.sqrt(2.0 * coefficient * np.maximum(np.asarray(drift_time, dtype=np.float64), 0.0))
