"""Pixel-level segmentation metrics (track / shower labelling), with per-event confusions for the bootstrap.

Labels: 0 = empty, 1 = track, 2 = shower, in arrays of any shape (typically ``(n_events, n_views, H, W)``).
The TRUE label comes from the simulated deposited energy, whatever the charge (``detcnn.physics.hit_images``):
empty where a pixel has no deposited energy, else track or shower by the larger share of it (a tie: track). So a
noise pixel (charge above threshold, no energy) is empty, and a pixel with energy whose charge stayed below
threshold is non-empty although it shows no charge (every model predicts it empty: a miss for all alike).
A pixel confusion matrix has the TRUE label on rows and the PREDICTED label on columns, summed over all
pixels.

The physics figures of merit (as in MicroBooNE's U-ResNet paper, PRD 99 (2019) 092001) are computed on the
pixels whose TRUTH is non-empty only: most pixels are empty and trivially right, which would swamp the
accuracy. A non-empty pixel predicted empty counts as a miss. Per class k (non-empty): efficiency = true-k
pixels predicted k / true-k pixels; purity = true-k pixels predicted k / non-empty-truth pixels predicted k;
IoU = TP / (TP + FN + FP) on the same pixels. Noise pixels (truth empty, charge above threshold) therefore
enter neither the purity nor the IoU; :func:`iou` on the full matrix counts them.

Bootstrap over events: the confusion of a resample is the sum of its events' confusions, so keep the
``(n_events, K, K)`` per-event confusions (:func:`event_confusions`) and resample those
(:func:`bootstrap_confusions`): no pixel is touched again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from detcnn.evaluation.bootstrap import estimate
from detcnn.evaluation.multiclass import safe_divide

EMPTY = 0
CHUNK_PIXELS = 1 << 22  # pixels per bincount pass: bounds the int64 temporaries to 32 MiB


def _codes(truth: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``truth * K + pred`` as int64, checking the label range (ValueError names the bad values)."""
    t, p = truth.astype(np.int64), pred.astype(np.int64)
    for name, a in (("truth", t), ("pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(
                f"{name} labels must be in [0, {n_classes - 1}] (n_classes={n_classes}), found {a.min()}..{a.max()}"
            )
    return t * n_classes + p


def pixel_confusion(truth: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """``(K, K)`` int64 pixel counts over every pixel of ``truth`` and ``pred`` (same shape, integer labels).

    Chunked ``bincount`` of ``truth * K + pred`` (about 0.5 s per 1e8 uint8 pixels on one core).
    """
    truth, pred = np.asarray(truth), np.asarray(pred)
    if truth.shape != pred.shape:
        raise ValueError(f"truth and pred need the same shape, got {truth.shape} and {pred.shape}")
    t, p = truth.reshape(-1), pred.reshape(-1)
    conf = np.zeros(n_classes * n_classes, dtype=np.int64)
    for start in range(0, t.size, CHUNK_PIXELS):
        stop = start + CHUNK_PIXELS
        conf += np.bincount(_codes(t[start:stop], p[start:stop], n_classes), minlength=n_classes * n_classes)
    return conf.reshape(n_classes, n_classes)


def event_confusions(truth: np.ndarray, pred: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """``(n_events, K, K)`` pixel confusion of each event; ``truth``, ``pred``: ``(n_events, ...)`` labels.

    Their sum over events is :func:`pixel_confusion`. Computed in chunks of events, one bincount each.
    """
    truth, pred = np.asarray(truth), np.asarray(pred)
    if truth.shape != pred.shape or truth.ndim < 1:
        raise ValueError(f"truth and pred need the same (n_events, ...) shape, got {truth.shape} and {pred.shape}")
    n, kk = truth.shape[0], n_classes * n_classes
    t, p = truth.reshape(n, -1), pred.reshape(n, -1)
    per_chunk = max(1, CHUNK_PIXELS // max(t.shape[1], 1))
    out = np.empty((n, kk), dtype=np.int64)
    for start in range(0, n, per_chunk):
        codes = _codes(t[start : start + per_chunk], p[start : start + per_chunk], n_classes)
        m = len(codes)
        codes += kk * np.arange(m)[:, None]
        out[start : start + m] = np.bincount(codes.ravel(), minlength=m * kk).reshape(m, kk)
    return out.reshape(n, n_classes, n_classes)


def bootstrap_confusions(per_event: np.ndarray, indices: np.ndarray, chunk: int = 64) -> np.ndarray:
    """``(n_boot, K, K)`` confusions of resampled events.

    ``per_event``: ``(n_events, K, K)`` from :func:`event_confusions`; ``indices``: ``(n_boot, n_events)`` from
    :func:`detcnn.evaluation.bootstrap.bootstrap_indices`. Each resample's event multiplicities
    ``(n_boot, n_events)`` times the flattened per-event confusions (a matrix product, ``chunk`` resamples at a
    time to bound memory).
    """
    per_event = np.asarray(per_event)
    indices = np.asarray(indices)
    n, k = per_event.shape[0], per_event.shape[-1]
    flat = per_event.reshape(n, k * k).astype(np.float64)
    out = np.empty((len(indices), k * k), dtype=np.int64)
    for start in range(0, len(indices), chunk):
        idx = indices[start : start + chunk]
        m = len(idx)
        counts = np.bincount((idx + n * np.arange(m)[:, None]).ravel(), minlength=m * n).reshape(m, n)
        out[start : start + m] = np.rint(counts @ flat).astype(np.int64)
    return out.reshape(len(indices), k, k)


def iou(conf: np.ndarray) -> np.ndarray:
    """Intersection over union per class, ``TP / (TP + FN + FP)``, from a ``(..., K, K)`` confusion (NaN if 0/0)."""
    conf = np.asarray(conf)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    return safe_divide(tp, conf.sum(axis=-1) + conf.sum(axis=-2) - tp)


def nonempty_arrays(conf: np.ndarray, empty: int = EMPTY) -> dict[str, np.ndarray]:
    """Arrays behind :func:`nonempty_metrics`, batched over leading axes of ``conf`` ``(..., K, K)``.

    ``accuracy`` ``(...)``, and ``efficiency``, ``purity``, ``iou`` ``(..., K - 1)`` for the non-empty classes
    in increasing label order, ``mean_iou`` ``(...)``.
    """
    conf = np.asarray(conf, dtype=np.float64)
    k = conf.shape[-1]
    if not 0 <= empty < k:
        raise ValueError(f"empty label {empty} outside [0, {k - 1}]")
    keep = np.arange(k) != empty
    sub = conf[..., keep, :]  # rows: non-empty truth, all predicted columns (predicted empty = a miss)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)[..., keep]
    true_count = sub.sum(axis=-1)
    pred_count = sub.sum(axis=-2)[..., keep]
    class_iou = safe_divide(tp, true_count + pred_count - tp)
    n_valid = np.sum(~np.isnan(class_iou), axis=-1)
    return {
        "accuracy": safe_divide(tp.sum(axis=-1), true_count.sum(axis=-1)),
        "efficiency": safe_divide(tp, true_count),
        "purity": safe_divide(tp, pred_count),
        "iou": class_iou,
        "mean_iou": safe_divide(np.nansum(class_iou, axis=-1), n_valid),
    }


def nonempty_metrics(
    conf: np.ndarray, empty: int = EMPTY, class_names: Sequence[str] | None = None
) -> dict[str, float]:
    """Flat ``{name: float}`` on non-empty-truth pixels of a ``(K, K)`` pixel confusion (see module doc).

    Keys: ``accuracy``, ``mean_iou`` and ``efficiency_<c>``, ``purity_<c>``, ``iou_<c>`` for every non-empty
    class c, named by ``class_names`` (all K names, e.g. ``["empty", "track", "shower"]``) or by label.
    Ready for ``metrics.json`` and MLflow.
    """
    conf = np.asarray(conf)
    if conf.ndim != 2 or conf.shape[0] != conf.shape[1]:
        raise ValueError(f"conf must be a square (K, K) matrix, got shape {conf.shape}; batch with nonempty_arrays")
    k = conf.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else list(class_names)
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names for {k} classes: {names}")
    arrays = nonempty_arrays(conf, empty)
    out = {"accuracy": float(arrays["accuracy"]), "mean_iou": float(arrays["mean_iou"])}
    for j, name in enumerate(n for i, n in enumerate(names) if i != empty):
        for key in ("efficiency", "purity", "iou"):
            out[f"{key}_{name}"] = float(arrays[key][j])
    return out


def bootstrap_nonempty_metrics(
    per_event: np.ndarray,
    indices: np.ndarray,
    empty: int = EMPTY,
    class_names: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """``{metric: {value, err, n_bootstrap, n_nonfinite}}`` as :func:`detcnn.evaluation.bootstrap.bootstrap` gives
    them, from per-event confusions ``(n_events, K, K)`` and every resample's summed confusion at once: ``value`` on
    all events, ``err`` over the resamples where the metric is defined (the others counted in ``n_nonfinite``).
    """
    boot = bootstrap_confusions(per_event, indices)
    total = np.asarray(per_event).sum(axis=0)
    values = nonempty_metrics(total, empty, class_names)
    names = list(values)
    arrays = nonempty_arrays(boot, empty)
    columns = [arrays["accuracy"][:, None], arrays["mean_iou"][:, None]]
    columns += [arrays[key][:, [j]] for j in range(total.shape[0] - 1) for key in ("efficiency", "purity", "iou")]
    samples = np.concatenate(columns, axis=1)  # (n_boot, n_metrics), same order as ``values``
    return {name: estimate(values[name], samples[:, col]).as_dict() for col, name in enumerate(names)}
