"""Electromagnetic showers (e-, photons): conversion gap, MIP trunk and body, :func:`em_showers`.

Units: lengths in cm, times in ns, energies in MeV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from detcnn.generate.lartpc.deposits import HIT_LABELS, Deposits
from detcnn.generate.lartpc.geometry import _normalise, inside, perpendicular_frame
from detcnn.physics import argon

#: Shower trunk: length ~ exponential with mean 0.5 X0, clipped to [2 cm, 2 X0], at most 30 % of the energy.
TRUNK_MEAN_CM = 0.5 * argon.X0_CM
TRUNK_RANGE_CM = (2.0, 2.0 * argon.X0_CM)
TRUNK_MAX_FRACTION = 0.3
#: Exponential lateral profile with 90 % of the energy inside one Moliere radius: P(r < R_M) = 1 - e^(-ln 10).
LATERAL_SCALE_CM = argon.MOLIERE_RADIUS_CM / math.log(10.0)


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


def _conversion_and_trunk(
    energy: np.ndarray, photon: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per shower (n,): the conversion gap [cm] (photons ~ Exp(9/7 X0), electrons 0), the number of
    minimum-ionising particles in the trunk (2 or 1) and the trunk length [cm] (see :func:`em_showers`)."""
    n = len(energy)
    gap = np.where(photon, rng.exponential(argon.CONVERSION_LENGTH_CM, n), 0.0)
    n_mip = np.where(photon, 2.0, 1.0)
    trunk = np.clip(rng.exponential(TRUNK_MEAN_CM, n), *TRUNK_RANGE_CM)
    trunk = np.minimum(trunk, TRUNK_MAX_FRACTION * energy / (n_mip * argon.MIP_DEDX))
    return gap, n_mip, trunk


def _trunk_deposits(
    origin: np.ndarray, d: np.ndarray, gap: np.ndarray, n_mip: np.ndarray, trunk: np.ndarray, step: float
) -> dict[str, np.ndarray]:
    """Straight minimum-ionising segments of at most ``step`` [cm] along each trunk (n,) [cm] from the
    conversion point ``origin`` (n, 3) [cm] along ``d`` (n, 3): per segment (k,) ``owner``, ``pos`` (k, 3)
    [cm], ``t`` [ns], ``e`` [MeV] and ``path`` [cm] (gap + depth)."""
    owner, j = _ragged_arange(np.ceil(trunk / step).astype(np.int64))
    seg = np.minimum(step, trunk[owner] - j * step)
    depth = j * step + 0.5 * seg
    return {
        "owner": owner,
        "pos": origin[owner] + depth[:, None] * d[owner],
        "t": (gap[owner] + depth) / argon.C_CM_PER_NS,
        "e": n_mip[owner] * argon.MIP_DEDX * seg,
        "path": gap[owner] + depth,
    }


def _body_deposits(
    origin: np.ndarray, d: np.ndarray, gap: np.ndarray, body_energy: np.ndarray, profile: tuple[np.ndarray, ...],
    granularity: float, rng: np.random.Generator,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The shower bodies: ``body_energy`` (n,) [MeV] in about ``granularity`` MeV pieces at a Gamma(a, 1/b)
    depth [X0] (``profile`` = (a, b) (n,)) and an exponential lateral radius [cm], uniform in azimuth: per
    piece (k,) ``owner``, ``pos`` (k, 3) [cm], ``t`` [ns], ``e`` [MeV] and ``path`` [cm] (gap + depth)."""
    a, b = profile
    n = len(body_energy)
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
    return {
        "owner": b_owner,
        "pos": b_pos,
        "t": (gap[b_owner] + b_depth) / argon.C_CM_PER_NS,
        "e": (body_energy / np.maximum(count, 1))[b_owner],
        "path": gap[b_owner] + b_depth,
    }


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
    gap, n_mip, trunk = _conversion_and_trunk(energy, photon, rng)
    origin = start + gap[:, None] * d
    tr = _trunk_deposits(origin, d, gap, n_mip, trunk, step)
    body_energy = np.maximum(energy - np.bincount(tr["owner"], weights=tr["e"], minlength=n), 0.0)
    a, b, _ = argon.shower_profile(energy, photon)
    body = _body_deposits(origin, d, gap, body_energy, (a, b), granularity, rng)
    pos = np.concatenate([tr["pos"], body["pos"]])
    keep = inside(pos, lo, hi)
    deposits = Deposits(
        pos=pos[keep],
        t=np.concatenate([tr["t"], body["t"]])[keep],
        e=np.concatenate([tr["e"], body["e"]])[keep],
        dedx=np.full(int(keep.sum()), argon.MIP_DEDX),  # every charged shower particle is near minimum ionising
        owner=np.concatenate([tr["owner"], body["owner"]])[keep],
        label=np.full(int(keep.sum()), HIT_LABELS["shower"], dtype=np.int8),
        path=np.concatenate([tr["path"], body["path"]])[keep],
    )
    return Showers(deposits=deposits, conversion=gap, trunk=trunk)
