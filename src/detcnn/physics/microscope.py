"""A widefield fluorescence camera for single-molecule localisation microscopy (SMLM), vectorised over
emitters and frames.

An emitter at (x, y) [nm] sends ``photons`` photons through the objective; the point-spread function is a
2D Gaussian of width ``sigma = 0.21 lambda / NA`` (the Gaussian approximation of the Airy disc, Zhang,
Zerubia, Olivo-Marin, Appl. Opt. 46 (2007) 1819), integrated over each square pixel of ``pixel_nm``, so a
frame's expected photons per pixel sum to the photons that land on it. The camera adds a uniform background
[photons / pixel], Poisson shot noise, a gain [ADU / photon-electron], Gaussian read noise [ADU] and an
offset [ADU]. Coordinates: x along columns, y along rows, (0, 0) the corner of the frame, pixel (i, j)
covering [j, j + 1) x [i, i + 1) pixel widths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """The optics and camera of a frame: wavelength [nm], numerical aperture, pixel [nm], frame size [pixels],
    background [photons / pixel], gain [ADU / photon], read noise [ADU], offset [ADU]."""

    wavelength_nm: float = 680.0
    numerical_aperture: float = 1.4
    pixel_nm: float = 100.0
    n_pix: int = 24
    background: float = 20.0
    gain: float = 2.0
    read_noise: float = 1.5
    offset: float = 100.0

    def __post_init__(self) -> None:
        for name in ("wavelength_nm", "numerical_aperture", "pixel_nm", "gain"):
            if not getattr(self, name) > 0:
                raise ValueError(f"camera {name} must be > 0, got {getattr(self, name)}")
        if self.n_pix < 4 or self.background < 0 or self.read_noise < 0:
            raise ValueError("camera n_pix must be >= 4, background and read_noise >= 0")

    @property
    def sigma_nm(self) -> float:
        """The PSF's Gaussian width [nm]: 0.21 lambda / NA."""
        return 0.21 * self.wavelength_nm / self.numerical_aperture

    @property
    def size_nm(self) -> float:
        return self.n_pix * self.pixel_nm


def pixel_fractions(centre_nm: np.ndarray, sigma_nm: float, pixel_nm: float, n_pix: int) -> np.ndarray:
    """``(n_emitters, n_pix)``: the fraction of a 1D Gaussian (mean ``centre_nm``, width ``sigma_nm``) that
    falls in each pixel [k, k + 1) * ``pixel_nm``; the 2D PSF of an emitter is the outer product of its x and
    y fractions (the Gaussian is separable)."""
    from scipy.special import erf  # here, not at the top: the workflow's catalogue imports this module

    edges = np.arange(n_pix + 1) * pixel_nm
    cdf = 0.5 * (1.0 + erf((edges[None, :] - np.asarray(centre_nm, np.float64)[:, None]) / (np.sqrt(2.0) * sigma_nm)))
    return np.diff(cdf, axis=1)


def expected_frames(
    x_nm: np.ndarray, y_nm: np.ndarray, photons: np.ndarray, frame: np.ndarray, n_frames: int, camera: Camera,
    batch: int = 4096,
) -> np.ndarray:  # fmt: skip
    """``(n_frames, n_pix, n_pix)`` expected photons per pixel of the emitters (``frame``: the frame of each),
    before background and noise; emitters in batches of ``batch`` (memory: batch x n_pix^2)."""
    n = camera.n_pix
    out = np.zeros((n_frames, n * n))
    for start in range(0, len(x_nm), batch):
        sl = slice(start, start + batch)
        fx = pixel_fractions(x_nm[sl], camera.sigma_nm, camera.pixel_nm, n)
        fy = pixel_fractions(y_nm[sl], camera.sigma_nm, camera.pixel_nm, n)
        psf = np.asarray(photons[sl], np.float64)[:, None, None] * fy[:, :, None] * fx[:, None, :]
        np.add.at(out, frame[sl], psf.reshape(len(psf), -1))
    return out.reshape(n_frames, n, n)


def camera_frames(expected: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """What the camera records [ADU], float32: ``offset + gain * Poisson(expected + background) + N(0, read)``."""
    electrons = rng.poisson(expected + camera.background)
    noise = rng.normal(0.0, camera.read_noise, expected.shape) if camera.read_noise > 0 else 0.0
    return (camera.offset + camera.gain * electrons + noise).astype(np.float32)


def to_photons(adu: np.ndarray, camera_offset: float, camera_gain: float) -> np.ndarray:
    """ADU back to photons (background included): ``(adu - offset) / gain``."""
    return (np.asarray(adu, np.float32) - np.float32(camera_offset)) / np.float32(camera_gain)
