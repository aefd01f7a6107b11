"""Localisation metrics of single-molecule microscopy, as the SMLM challenge 2016 defines them (Sage et al.,
Nature Methods 16 (2019) 387): every frame's localisations are matched one-to-one to its true emitters
within a lateral tolerance (the challenge's and DECODE's is 250 nm: the default of the dataset's
``frame_images.match_tolerance_nm``, which the callers pass), here by an optimal assignment minimising the
summed distance (scipy's ``linear_sum_assignment``; DECODE pairs greedily, the closest pair first);
matched pairs are true positives, unmatched localisations false positives, unmatched emitters false
negatives. Over a set of frames: recall TP / (TP + FN), precision TP / (TP + FP), the Jaccard index
TP / (TP + FP + FN), the lateral RMSE [nm] of the matched pairs, and the lateral (2D) efficiency
E = 1 - sqrt((1 - JI)^2 + (alpha RMSE)^2) with alpha = 0.01 per nm (1 % per nm; the challenge's axial
efficiency, alpha 0.5 % per nm, and their mean for 3D do not apply to these 2D frames).

Localisations and emitters are ``(n_frames, K, >= 2)`` arrays of (x, y, ...) [nm], padded with NaN.
Per-frame counts (:func:`frame_counts`) add up, so bootstrap resamples of frames cost a sum each.
"""

from __future__ import annotations

import numpy as np

ALPHA_PER_NM = 0.01


def match(found: np.ndarray, truth: np.ndarray, tolerance_nm: float) -> tuple[np.ndarray, np.ndarray]:
    """The optimal one-to-one pairs of one frame within ``tolerance_nm``: indices into ``found`` ``(n, 2+)``
    and ``truth`` ``(m, 2+)`` (rows with NaN coordinates are ignored), each pair closer than the tolerance."""
    from scipy.optimize import linear_sum_assignment

    f = np.flatnonzero(np.all(np.isfinite(found[:, :2]), axis=1))
    t = np.flatnonzero(np.all(np.isfinite(truth[:, :2]), axis=1))
    if not len(f) or not len(t):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    d = np.hypot(found[f, None, 0] - truth[None, t, 0], found[f, None, 1] - truth[None, t, 1])
    cost = np.where(d <= tolerance_nm, d, 1e9)  # too far: never chosen over an unmatched pair
    rows, cols = linear_sum_assignment(cost)
    ok = d[rows, cols] <= tolerance_nm
    return f[rows[ok]], t[cols[ok]]


def frame_counts(found: np.ndarray, truth: np.ndarray, tolerance_nm: float) -> np.ndarray:
    """``(n_frames, 4)`` per frame: true positives, false positives, false negatives, summed squared
    lateral error [nm^2] of the matched pairs."""
    out = np.zeros((len(truth), 4))
    n_found = np.sum(np.all(np.isfinite(found[..., :2]), axis=2), axis=1)
    n_true = np.sum(np.all(np.isfinite(truth[..., :2]), axis=2), axis=1)
    for i in np.flatnonzero((n_found > 0) & (n_true > 0)):  # one small assignment per frame
        a, b = match(found[i], truth[i], tolerance_nm)
        out[i, 0] = len(a)
        out[i, 3] = np.sum((found[i, a, 0] - truth[i, b, 0]) ** 2 + (found[i, a, 1] - truth[i, b, 1]) ** 2)
    out[:, 1] = n_found - out[:, 0]
    out[:, 2] = n_true - out[:, 0]
    return out


def scores(counts: np.ndarray) -> dict[str, float]:
    """Recall, precision, Jaccard, RMSE [nm] and efficiency of summed per-frame counts ``(..., 4)``."""
    tp, fp, fn, sq = np.asarray(counts, np.float64).reshape(-1, 4).sum(axis=0)
    jaccard = tp / (tp + fp + fn) if tp + fp + fn > 0 else float("nan")
    rmse = float(np.sqrt(sq / tp)) if tp > 0 else float("nan")
    return {
        "recall": tp / (tp + fn) if tp + fn > 0 else float("nan"),
        "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
        "jaccard": float(jaccard),
        "rmse_nm": rmse,
        "efficiency": float(1.0 - np.sqrt((1.0 - jaccard) ** 2 + (ALPHA_PER_NM * rmse) ** 2)),
    }


def padded(frame: np.ndarray, rows: np.ndarray, n_frames: int) -> np.ndarray:
    """``(n_frames, K, rows.shape[1])`` float32 from rows sorted by ``frame``, NaN where a frame has fewer."""
    counts = np.bincount(frame, minlength=n_frames)
    out = np.full((n_frames, max(int(counts.max(initial=0)), 1), rows.shape[1]), np.nan, dtype=np.float32)
    slot = np.arange(len(frame)) - np.repeat(np.cumsum(counts) - counts, counts)
    out[frame, slot] = rows
    return out
