"""Settings of the LArTPC simulation: the samples (classes) and :class:`SimSettings`.

Units: lengths in cm, neutrino energies in GeV, E-field in kV/cm, drift velocity in cm/us, lifetime in ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from detcnn.errors import ConfigError
from detcnn.physics import argon

SAMPLES = {"nue_cc": 0, "numu_cc": 1, "nc": 2}
CLASS_NAMES = ["nu_e CC", "nu_mu CC", "NC"]


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
    efield [kV/cm], drift_velocity [cm/us], lifetime [ms]: drift field (recombination), drift speed, electron
        lifetime.
    diffusion: smear hit positions by longitudinal and transverse diffusion.
    recombination: the charge-yield model, :class:`~detcnn.physics.argon.Recombination` (a string of it is taken).
    charge_scale: gain / calibration scale multiplying the collected charge (``hit_q``).
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
    recombination: argon.Recombination = argon.Recombination.MODIFIED_BOX
    charge_scale: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "volume", tuple(float(v) for v in self.volume))
        try:
            object.__setattr__(self, "recombination", argon.Recombination(self.recombination))
        except ValueError:
            raise ConfigError(f"unknown recombination model '{self.recombination}'; valid: "
                              f"{[m.value for m in argon.Recombination]}") from None  # fmt: skip
        if len(self.volume) != 3 or min(self.volume) <= 0:
            raise ConfigError(f"volume must be three positive lengths (L_x, L_y, L_z) in cm, got {self.volume}")
        positive = ("energy_mean", "energy_shape", "track_step", "shower_granularity", "efield", "drift_velocity")
        for name in (*positive, "lifetime", "charge_scale"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.energy_min < self.energy_max:
            raise ConfigError(
                f"need 0 < energy_min < energy_max [GeV], got energy_min={self.energy_min}, "
                f"energy_max={self.energy_max}"
            )
        if not 0 <= 2 * self.fiducial_margin < min(self.volume):
            raise ConfigError(
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
            raise ConfigError(f"unknown detector_sim setting(s) {unknown}; valid keys: {valid}")
        return cls(**cfg)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Active volume as ``(lo, hi)``, each shape ``(3,)`` [cm]."""
        lx, ly, lz = self.volume
        return np.array([0.0, -ly / 2, 0.0]), np.array([lx, ly / 2, lz])
