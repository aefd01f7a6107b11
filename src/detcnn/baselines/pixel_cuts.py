"""Baseline kind ``pixel_cuts``: a cut-based track/shower pixel classifier, what one labels without a network,
from local image features.

Features of every pixel, from a ``window x window`` neighbourhood in its own view (box filters, separable
``scipy.ndimage.correlate1d`` passes over whole arrays, zero outside the image):

* ``occupancy``: occupied pixels (charge > 0) in the window, 1 .. window^2 for an occupied pixel;
* ``density``: charge summed over the window (image charge units);
* ``elongation``: ``1 - lambda_min / lambda_max`` of the charge-weighted covariance of pixel positions in the
  window, each eigenvalue plus 1/12 (the variance of a uniform unit pixel), so an isolated pixel gives 0 and
  the eigenvalues never vanish: 0 = round (a shower blob), close to 1 = a line (a track; a straight line
  through a 5 x 5 window gives 1 - (1/12) / (2 + 1/12) = 0.96).

Prediction, for pixels with charge > 0 (charge 0 is always label 0, empty):

1. Noise: a pixel is labelled empty (0) unless ``charge >= min_charge`` and ``occupancy >= min_occupancy``
   (isolated, faint pixels are noise). Truth-empty pixels with charge are noise; the two thresholds maximise
   the hit/noise accuracy over all charged train pixels, the loosest cut winning ties (no noise in the train
   sample: no cut). This stage is tuned on its own: the non-empty accuracy below could only lose by it.
2. Track or shower: a box of one-sided cuts on the three features (each ``>=`` or ``<`` a threshold) inside
   which pixels are one class (``inside``) and outside the other; directions, inside class and thresholds are
   an exact grid search (quantiles of the train features) maximising the accuracy on non-empty truth pixels,
   the figure of merit of ``detcnn.evaluation.segmentation.nonempty_metrics``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.common import charge_images, count_thresholds, no_task_args, train_section
from detcnn.errors import ConfigError, InputError
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily

EMPTY, TRACK, SHOWER = 0, 1, 2
FEATURES = ("occupancy", "density", "elongation")
UNIT_PIXEL_VARIANCE = 1.0 / 12.0
COMPARE = {">=": np.greater_equal, "<": np.less}  # cut direction -> test passed


def _window_sum(a: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    """``sum_{dy,dx} wy[dy] wx[dx] a[..., i + dy, j + dx]`` over the window (zero outside the image)."""
    from scipy.ndimage import correlate1d

    return correlate1d(correlate1d(a, wx, axis=-1, mode="constant"), wy, axis=-2, mode="constant")


def _check_window(window: int) -> None:
    if window < 3 or window % 2 == 0:
        raise ConfigError(f"window must be an odd number >= 3 (pixels), got {window}")


def _features_chunk(charge: np.ndarray, window: int) -> dict[str, np.ndarray]:
    q = np.clip(charge.astype(np.float64), 0.0, None)
    one = np.ones(window)
    d = np.arange(window) - window // 2  # offsets from the centre pixel
    s0 = _window_sum(q, one, one)
    sx, sy = _window_sum(q, d, one), _window_sum(q, one, d)
    sxx, syy, sxy = _window_sum(q, d * d, one), _window_sum(q, one, d * d), _window_sum(q, d, d)
    has = s0 > 1e-12 * max(float(q.max(initial=0.0)), 1e-300)
    inv = np.where(has, 1.0 / np.where(has, s0, 1.0), 0.0)
    mx, my = sx * inv, sy * inv
    vx = np.maximum(sxx * inv - mx * mx, 0.0) + UNIT_PIXEL_VARIANCE
    vy = np.maximum(syy * inv - my * my, 0.0) + UNIT_PIXEL_VARIANCE
    cxy = sxy * inv - mx * my
    half_tr, root = 0.5 * (vx + vy), np.sqrt(0.25 * (vx - vy) ** 2 + cxy * cxy)
    elongation = np.where(has, 1.0 - (half_tr - root) / (half_tr + root), 0.0)
    return {
        "occupancy": np.rint(_window_sum((charge > 0).astype(np.float64), one, one)).astype(np.float32),
        "density": s0.astype(np.float32),
        "elongation": elongation.astype(np.float32),
    }


def pixel_features(charge: np.ndarray, window: int = 5, chunk_events: int = 256) -> dict[str, np.ndarray]:
    """``{"occupancy", "density", "elongation"}``, each float32 of ``charge``'s shape ``(n_events, n_views, H, W)``.

    See the module doc; computed ``chunk_events`` events at a time to bound the float64 temporaries.
    """
    _check_window(window)
    charge = np.asarray(charge)
    if charge.ndim < 3:
        raise ValueError(f"charge must be (n_events, [n_views,] H, W), got shape {charge.shape}")
    out = {name: np.empty(charge.shape, dtype=np.float32) for name in FEATURES}
    for start in range(0, len(charge), chunk_events):
        for name, values in _features_chunk(charge[start : start + chunk_events], window).items():
            out[name][start : start + chunk_events] = values
    return out


def _cumulate(hist: np.ndarray, signs: tuple[int, ...]) -> np.ndarray:
    """Counts inside every box of one-sided cuts, from a histogram over threshold bins.

    Along an axis with sign +1 (cut ``f >= t``) the reverse cumulative sum (position p: ``f >= t[p-1]``,
    p = 0: no cut); with sign -1 (cut ``f < t``) the cumulative sum (position p: ``f < t[p]``, p = last: no cut).
    """
    for axis, sign in enumerate(signs):
        hist = np.flip(np.cumsum(np.flip(hist, axis), axis=axis), axis) if sign > 0 else np.cumsum(hist, axis=axis)
    return hist


def _threshold(thresholds: np.ndarray, position: int, sign: int) -> float | None:
    if sign > 0:
        return None if position == 0 else float(thresholds[position - 1])
    return None if position == len(thresholds) else float(thresholds[position])


def _histogram(values: np.ndarray, thresholds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """d-dim histogram over threshold bins (bin = number of thresholds <= value), ``values`` ``(n, d)``."""
    shape = tuple(len(t) + 1 for t in thresholds)
    bins = [np.searchsorted(t, values[:, k], side="right") for k, t in enumerate(thresholds)]
    flat = np.ravel_multi_index(tuple(bins), shape)
    return np.bincount(flat, weights=weights, minlength=int(np.prod(shape))).reshape(shape)


def _quantile_grid(values: np.ndarray, grid: int) -> np.ndarray:
    return np.unique(np.quantile(values, np.linspace(0.0, 1.0, grid + 1)[1:-1])) if len(values) else np.zeros(0)


def _fit_noise(q: np.ndarray, occ: np.ndarray, is_hit: np.ndarray, grid: int) -> dict[str, Any]:
    """``min_charge``, ``min_occupancy`` maximising hit/noise accuracy (see module doc)."""
    values = np.stack([q, occ], axis=1)
    thresholds = [_quantile_grid(q, grid), np.unique(occ)]
    hits = _cumulate(_histogram(values, thresholds, is_hit.astype(np.float64)), (1, 1))
    noise = _cumulate(_histogram(values, thresholds, (~is_hit).astype(np.float64)), (1, 1))
    acc = (hits + noise[0, 0] - noise).ravel() / len(q)
    best = np.lexsort((-hits.ravel(), -acc))[0]  # best accuracy, then the loosest (most hits kept)
    i, j = np.unravel_index(best, hits.shape)
    return {
        "min_charge": _threshold(thresholds[0], int(i), 1),
        "min_occupancy": _threshold(thresholds[1], int(j), 1),
        "train_accuracy": float(acc[best]),
        "n_noise_pixels": int((~is_hit).sum()),
    }


def _fit_box(features: np.ndarray, label: np.ndarray, n_total: int, grid: int) -> dict[str, Any]:
    """Directions, thresholds and inside class of the track/shower box (see module doc)."""
    thresholds = [_quantile_grid(features[:, k], grid) for k in range(features.shape[1])]
    hist = {c: _histogram(features, thresholds, (label == c).astype(np.float64)) for c in (TRACK, SHOWER)}
    totals = {c: h.sum() for c, h in hist.items()}
    best: dict[str, Any] = {"correct": -1.0}
    for signs in itertools.product((1, -1), repeat=features.shape[1]):
        inside = {c: _cumulate(h, signs) for c, h in hist.items()}
        for cls, other in ((TRACK, SHOWER), (SHOWER, TRACK)):
            correct = inside[cls] + totals[other] - inside[other]
            flat = int(np.argmax(correct))
            if correct.ravel()[flat] > best["correct"]:
                pos = np.unravel_index(flat, correct.shape)
                best = {
                    "correct": float(correct.ravel()[flat]),
                    "inside": cls,
                    "directions": [">=" if s > 0 else "<" for s in signs],
                    "thresholds": [_threshold(t, int(p), s) for t, p, s in zip(thresholds, pos, signs, strict=True)],
                }
    correct = best.pop("correct")
    best["train_nonempty_accuracy"] = correct / max(n_total, 1)
    return best


def fit_pixel_cuts(
    charge: np.ndarray,
    labels: np.ndarray,
    window: int = 5,
    grid: int = 16,
    max_pixels: int = 2_000_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Tune the noise cut and the track/shower box on train images; returns a JSON-able model dict.

    ``charge``: ``(n_events, n_views, H, W)`` (charge > 0 = occupied); ``labels``: same shape, 0 empty,
    1 track, 2 shower. ``grid``: quantile thresholds per feature; at most ``max_pixels`` charged pixels
    (a seeded random subset) enter the grid search.
    """
    charge, labels = np.asarray(charge), np.asarray(labels)
    if charge.shape != labels.shape:
        raise ValueError(f"charge and labels need the same shape, got {charge.shape} and {labels.shape}")
    bad = np.setdiff1d(np.unique(labels), [EMPTY, TRACK, SHOWER])
    if len(bad):
        raise ValueError(f"labels must be 0 (empty), 1 (track) or 2 (shower); found {bad.tolist()}")
    feats = pixel_features(charge, window)
    charged = charge > 0
    if not charged.any():
        raise InputError("no pixel has charge > 0: nothing to tune the cuts on", fix="check the charge images")
    q = charge[charged].astype(np.float64)
    lab = labels[charged]
    f = np.stack([feats[name][charged].astype(np.float64) for name in FEATURES], axis=1)
    if len(q) > max_pixels:
        keep = np.sort(np.random.default_rng(seed).choice(len(q), size=max_pixels, replace=False))
        q, lab, f = q[keep], lab[keep], f[keep]
    noise = _fit_noise(q, f[:, 0], lab != EMPTY, grid)
    hit = _passes_noise(noise, q, f[:, 0])
    nonempty = lab != EMPTY
    box = _fit_box(f[hit & nonempty], lab[hit & nonempty], int(nonempty.sum()), grid)
    return {
        "kind": "pixel_cuts",
        "window": int(window),
        "features": list(FEATURES),
        "noise": noise,
        "box": box,
        "n_train_pixels": len(q),
        "comment": "charge 0 or failing the noise cut: 0; else 'inside' if every feature passes its cut "
        "('>=' or '<' threshold, None = no cut), the other of track (1) / shower (2) otherwise",
    }


def _passes_noise(noise: Mapping[str, Any], q: np.ndarray, occupancy: np.ndarray) -> np.ndarray:
    ok = q > 0
    if noise["min_charge"] is not None:
        ok &= q >= noise["min_charge"]
    if noise["min_occupancy"] is not None:
        ok &= occupancy >= noise["min_occupancy"]
    return ok


def predict_pixel_cuts(model: Mapping[str, Any], charge: np.ndarray, chunk_events: int = 256) -> np.ndarray:
    """``(n_events, n_views, H, W)`` int8 labels (0 empty/noise, 1 track, 2 shower) of a fitted model."""
    charge = np.asarray(charge)
    box = model["box"]
    inside_label, outside_label = box["inside"], TRACK + SHOWER - box["inside"]
    out = np.zeros(charge.shape, dtype=np.int8)
    for start in range(0, len(charge), chunk_events):
        q = charge[start : start + chunk_events].astype(np.float64)
        feats = _features_chunk(q, int(model["window"]))
        inside = np.ones(q.shape, dtype=bool)
        for name, direction, t in zip(FEATURES, box["directions"], box["thresholds"], strict=True):
            if t is not None:
                inside &= COMPARE[direction](feats[name].astype(np.float64), t)
        hit = _passes_noise(model["noise"], q, feats["occupancy"].astype(np.float64))
        out[start : start + chunk_events] = np.where(hit, np.where(inside, inside_label, outside_label), EMPTY)
    return out


# ---------------------------------------------------------------------------------------------- baseline kind
NAME = "pixel_cuts"
TASK = "segmentation"
CLASSES = None
PIXELS = True
FAMILY = BaselineFamily.CUTS
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties).
SCHEMA: dict[str, Any] = {
    "window": {"type": "integer", "minimum": 3, "default": 5,
               "description": "Neighbourhood (pixels per side) of the local features."},
}  # fmt: skip


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    return fit_pixel_cuts(charge_images(images), images.y_pix, window=int(cfg["window"]))


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: pixel classes ``(N, V, H, W)``."""
    return {"pred": predict_pixel_cuts(model, charge_images(images))}


task_args = no_task_args


fitted_numbers = count_thresholds


train_metrics = train_section
