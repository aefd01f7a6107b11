"""Detector response: recombination, lifetime attenuation, charge scale and diffusion, :func:`detector_response`.

Units: positions in cm, drift times in us, charge in thousands of electrons.
"""

from __future__ import annotations

import numpy as np

from detcnn.generate.lartpc.deposits import Deposits
from detcnn.generate.lartpc.settings import SimSettings
from detcnn.physics import argon


def detector_response(
    deposits: Deposits, rng: np.random.Generator, settings: SimSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Measured positions (n, 3) [cm] and collected charge (n,) [thousands of electrons] of ``deposits``.

    Charge = s x E / W_ion x R(dE/dx, E-field) x exp(-t_drift / tau), t_drift = x / v_drift (anode at x = 0),
    R the recombination survival of ``settings.recombination`` (the modified Box model or Birks' law), s the
    ``settings.charge_scale`` (gain / calibration; the charge only, not the random draws).
    Positions: Gaussian diffusion, sigma_L = sqrt(2 D_L t_drift) along x and sigma_T = sqrt(2 D_T t_drift) in y
    and z (if ``settings.diffusion``), then clipped to the active volume (a charge cannot be read outside it).
    """
    lo, hi = settings.bounds
    drift_time = np.maximum(deposits.pos[:, 0] - lo[0], 0.0) / settings.drift_velocity  # us
    electrons = deposits.e / argon.W_ION * settings.recombination.survival(deposits.dedx, settings.efield)
    attenuation = argon.drift_attenuation(drift_time, settings.lifetime * 1000.0)
    charge = electrons * attenuation / 1000.0 * settings.charge_scale  # x 1.0: the nominal charge bit for bit
    pos = deposits.pos
    if settings.diffusion:
        sigma_l = argon.diffusion_sigma(drift_time, argon.DIFFUSION_L)
        sigma_t = argon.diffusion_sigma(drift_time, argon.DIFFUSION_T)
        sigma = np.stack([sigma_l, sigma_t, sigma_t], axis=1)
        pos = np.clip(pos + sigma * rng.standard_normal(pos.shape), lo, hi)
    return pos, charge
