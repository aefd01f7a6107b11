"""Baseline kind ``local_maxima``: the classical single-molecule localisation pipeline (as ThunderSTORM,
Ovesny et al., Bioinformatics 30 (2014) 2389), vectorised over frames and candidates:

1. filter: a difference of Gaussians (widths sigma_PSF and 2 sigma_PSF, in pixels) removes the background
   and keeps spots of the PSF's size;
2. detect: local maxima (3 x 3) of the filtered frame above a threshold [photons], a multiple of the
   filtered frames' noise chosen on the train split to maximise the Jaccard index of the matched
   localisations;
3. localise: a least-squares fit of the pixel-integrated Gaussian PSF (width fixed to sigma_PSF; position,
   photons and background free) to the ``window`` x ``window`` pixels around each maximum, a few damped
   Gauss-Newton steps from the log-parabola (three-point Gaussian) estimate; fits that run away from their
   maximum (more than one pixel) or give no photons are dropped.

The PSF width comes from the image file (``psf_sigma_nm``, written by the smlm_sim source) or the
baseline's ``psf_sigma_nm``. Prediction: ``locs`` ``(N, K, 3)`` = (x, y [nm], fitted photons), NaN-padded,
the same array the localisation task decodes from a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import erf

from detcnn.baselines.common import no_task_args, train_section
from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.localisation import padded
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily

NAME = "local_maxima"
TASK = "localisation"
CLASSES = None
PIXELS = True
FAMILY = BaselineFamily.CUTS
N_THRESHOLDS = 24
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties).
SCHEMA: dict[str, Any] = {
    "windows": {"type": "array", "items": {"type": "integer", "minimum": 3}, "minItems": 1, "default": [3, 5, 7],
                "description": "PSF-fit windows (odd, pixels per side) tried on train."},
    "max_tune_frames": {"type": "integer", "minimum": 1, "default": 2000,
                        "description": "Train frames the detection threshold and the window are tuned on."},
    "psf_sigma_nm": {"type": "number", "exclusiveMinimum": 0,
                     "description": "The PSF's Gaussian width [nm] (default the image file's: smlm_sim's optics)."},
}  # fmt: skip


def psf_sigma_px(images: ImageSet, cfg: Mapping[str, Any]) -> float:
    """The PSF width in pixels: the config's ``psf_sigma_nm`` or the image file's, over ``pixel_nm``."""
    sigma = cfg.get("psf_sigma_nm", images.attrs.get("psf_sigma_nm"))
    if sigma is None or "pixel_nm" not in images.attrs:
        raise ConfigError("the PSF width is unknown: set psf_sigma_nm of this baseline (the frames' file has "
                          "no psf_sigma_nm or pixel_nm)", key="baselines.psf_sigma_nm")  # fmt: skip
    return float(sigma) / float(images.attrs["pixel_nm"])


def filtered(frames: np.ndarray, sigma_px: float) -> np.ndarray:
    """Difference of Gaussians of frames ``(N, H, W)`` [photons], per frame (widths sigma and 2 sigma)."""
    from scipy.ndimage import gaussian_filter

    frames = np.asarray(frames, np.float32)
    narrow = gaussian_filter(frames, sigma=(0, sigma_px, sigma_px), mode="nearest")
    return narrow - gaussian_filter(frames, sigma=(0, 2 * sigma_px, 2 * sigma_px), mode="nearest")


def candidates(dog: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(frame, row, column, height)`` of the 3 x 3 local maxima of ``dog`` ``(N, H, W)`` above ``threshold``."""
    from scipy.ndimage import maximum_filter

    peaks = (dog == maximum_filter(dog, size=(1, 3, 3), mode="constant", cval=-np.inf)) & (dog > threshold)
    frame, row, col = np.nonzero(peaks)
    return frame, row, col, dog[frame, row, col]


def _patches(frames: np.ndarray, frame: np.ndarray, row: np.ndarray, col: np.ndarray, r: int) -> np.ndarray:
    """``(n, 2r+1, 2r+1)`` pixels around each candidate (the frame's edge pixels repeated beyond it: the
    log-parabola start reads them, the fit leaves them out)."""
    padded = np.pad(np.asarray(frames, np.float64), ((0, 0), (r, r), (r, r)), mode="edge")
    k = np.arange(-r, r + 1)
    return padded[frame[:, None, None], (row[:, None, None] + r + k[None, :, None]),
                  (col[:, None, None] + r + k[None, None, :])]  # fmt: skip


def fit_gaussians(frames: np.ndarray, frame: np.ndarray, row: np.ndarray, col: np.ndarray, sigma_px: float,
                  window: int = 7, steps: int = 8) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Least-squares positions (x, y) [pixels, (0, 0) the frame's corner, pixel j covering [j, j + 1)] and
    photons of a Gaussian PSF at each candidate, and whether the fit is good (module doc, step 3)."""
    r = window // 2
    patch = _patches(frames, frame, row, col, r)  # (n, w, w), rows = y
    k = np.arange(-r, r + 1, dtype=np.float64)
    h, w = np.shape(frames)[1:]
    inside = (((row[:, None] + k >= 0) & (row[:, None] + k < h))[:, :, None]
              & ((col[:, None] + k >= 0) & (col[:, None] + k < w))[:, None, :])  # pixels of the frame  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):  # log-parabola start, the three centre pixels
        centre = patch[:, r - 1 : r + 2, r - 1 : r + 2] - patch.min(axis=(1, 2))[:, None, None] + 1.0
        lx, ly = np.log(centre[:, 1, :]), np.log(centre[:, :, 1])
        dx = np.nan_to_num(0.5 * (lx[:, 0] - lx[:, 2]) / (lx[:, 0] - 2 * lx[:, 1] + lx[:, 2]))
        dy = np.nan_to_num(0.5 * (ly[:, 0] - ly[:, 2]) / (ly[:, 0] - 2 * ly[:, 1] + ly[:, 2]))
    x = col + 0.5 + np.clip(dx, -0.5, 0.5)  # continuous pixel coordinates of the centre
    y = row + 0.5 + np.clip(dy, -0.5, 0.5)
    bg = np.nanmedian(np.where(inside, patch, np.nan).reshape(len(patch), -1), axis=1)
    photons = np.maximum(np.sum((patch - bg[:, None, None]) * inside, axis=(1, 2)), 1.0)
    weight = inside.reshape(len(patch), -1).astype(np.float64)  # beyond the frame: no pixel, no residual
    params = np.stack([x, y, photons, bg], axis=1)
    ux, uy = col[:, None] + k[None, :], row[:, None] + k[None, :]  # pixel left / top edges
    damping = 1e-3
    for _ in range(steps):
        fx, gx = _integrated(ux, params[:, 0], sigma_px)
        fy, gy = _integrated(uy, params[:, 1], sigma_px)
        model = params[:, 2, None, None] * fy[:, :, None] * fx[:, None, :] + params[:, 3, None, None]
        jac = np.stack(
            [
                params[:, 2, None, None] * fy[:, :, None] * gx[:, None, :],
                params[:, 2, None, None] * gy[:, :, None] * fx[:, None, :],
                fy[:, :, None] * fx[:, None, :],
                np.ones_like(model),
            ],
            axis=-1,
        ).reshape(len(patch), -1, 4)
        jac = jac * weight[:, :, None]
        resid = (patch - model).reshape(len(patch), -1) * weight
        jtj = np.einsum("npi,npj->nij", jac, jac)
        jtj += damping * np.eye(4)[None] * np.diagonal(jtj, axis1=1, axis2=2)[:, :, None]
        step = np.linalg.solve(jtj + 1e-12 * np.eye(4)[None], np.einsum("npi,np->ni", jac, resid)[..., None])[..., 0]
        step[:, :2] = np.clip(step[:, :2], -0.5, 0.5)  # at most half a pixel per step
        params = params + step
    good = (np.abs(params[:, 0] - (col + 0.5)) < 1.0) & (np.abs(params[:, 1] - (row + 0.5)) < 1.0)
    good &= np.all(np.isfinite(params), axis=1) & (params[:, 2] > 0)
    return params[:, 0], params[:, 1], params[:, 2], good


def _integrated(edges: np.ndarray, centre: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_integrated` with one row of pixel edges per candidate, ``edges`` ``(n, m)``."""
    s2 = np.sqrt(2.0) * sigma
    a, b = edges - centre[:, None], edges + 1 - centre[:, None]
    frac = 0.5 * (erf(b / s2) - erf(a / s2))
    grad = (np.exp(-(a**2) / (2 * sigma**2)) - np.exp(-(b**2) / (2 * sigma**2))) / (np.sqrt(2 * np.pi) * sigma)
    return frac, grad


def localise(frames: np.ndarray, sigma_px: float, threshold: float, pixel_nm: float, window: int = 7) -> np.ndarray:
    """``locs`` ``(N, K, 3)`` = (x, y [nm], photons) of frames ``(N, H, W)`` [photons] (module doc)."""
    frame, row, col, _ = candidates(filtered(frames, sigma_px), threshold)
    x, y, photons, good = fit_gaussians(frames, frame, row, col, sigma_px, window)
    rows = np.stack([x[good] * pixel_nm, y[good] * pixel_nm, photons[good]], axis=1)
    return padded(frame[good], rows, len(frames))


def _frames(images: ImageSet) -> np.ndarray:
    if images.X.ndim != 4 or images.X.shape[1] != 1 or "emitters" not in images.pixels:
        raise InputError("not a file of microscope frames (one channel and 'emitters')", path=images.path,
                         fix="local_maxima localises emitters in smlm_sim or frames datasets")  # fmt: skip
    return images.X[:, 0]


def noise_level(dog: np.ndarray) -> float:
    """The robust spread (1.4826 x the median absolute deviation) of filtered frames [photons]."""
    return float(1.4826 * np.median(np.abs(dog - np.median(dog))))


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    """Tuned on at most ``max_tune_frames`` train frames, evenly spaced in file order (every sample): for
    each fit ``window`` of ``windows`` (pixels), the detection threshold of the best Jaccard
    index among ``N_THRESHOLDS`` multiples (0.25 to 15) of the filtered frames' noise (ThunderSTORM's default
    is 1.5); then the window of the best efficiency E (a wide window collects more of the PSF, and more of
    the neighbours' light). Matched within the file's ``match_tolerance_nm``, as the evaluation."""
    from detcnn.evaluation.localisation import frame_counts, scores
    from detcnn.tasks.localisation import match_tolerance_nm

    n, tolerance = min(len(images.y), int(cfg["max_tune_frames"])), match_tolerance_nm(images.attrs)
    rows = np.linspace(0, len(images.y) - 1, n).round().astype(np.int64)  # spread over the file: every sample
    frames, truth = _frames(images)[rows], images.pixels["emitters"][rows]
    sigma, pixel_nm = psf_sigma_px(images, cfg), float(images.attrs["pixel_nm"])
    windows = [int(w) for w in cfg["windows"]]
    if not windows or min(windows) < 3 or any(w % 2 == 0 for w in windows):
        raise ConfigError(f"fit windows must be odd and at least 3 pixels, got {windows}", key="baselines.windows")
    dog = filtered(frames, sigma)
    noise = noise_level(dog)
    grid = noise * np.geomspace(0.25, 15.0, N_THRESHOLDS)
    frame, row, col, height = candidates(dog, float(grid[0]))
    best: dict[str, Any] = {}
    scan: dict[str, Any] = {}
    for window in windows:
        x, y, photons, good = fit_gaussians(frames, frame, row, col, sigma, window)
        xy = np.stack([x * pixel_nm, y * pixel_nm, photons], axis=1)
        tried = [scores(frame_counts(padded(frame[keep], xy[keep], n), truth, tolerance))
                 for keep in (good & (height > t) for t in grid)]  # fmt: skip
        k = int(np.nanargmax([s["jaccard"] for s in tried]))
        scan[str(window)] = {"jaccard": [s["jaccard"] for s in tried], "efficiency": [s["efficiency"] for s in tried]}
        if not best or tried[k]["efficiency"] > best["train"]["efficiency"]:
            best = {"threshold": float(grid[k]), "window": window, "train": {**tried[k], "n_tune_frames": n}}
    return {**best, "noise": noise, "psf_sigma_px": sigma, "pixel_nm": pixel_nm,
            "scan": {"thresholds": grid.tolist(), **scan}}  # fmt: skip


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``locs`` ``(N, K, 3)`` = (x, y [nm], photons) of every frame."""
    return {"locs": localise(_frames(images), model["psf_sigma_px"], model["threshold"], model["pixel_nm"],
                             model["window"])}  # fmt: skip


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 2  # the threshold and the window


train_metrics = train_section
