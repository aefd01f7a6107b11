"""Object localisation below the pixel: the emitters of single-molecule microscopy frames, ``emitters``
``(N, K, 3)`` = (x, y [nm], photons), NaN-padded, found by a localiser on a grid ``upsampling`` times finer
than the camera's, against the classical local-maximum pipeline.

The localiser outputs per fine pixel a detection logit and the emitter's sub-pixel offset from the fine
pixel's centre (bounded to +-0.5 fine pixels by 0.5 tanh). Its targets are drawn from the emitter lists in
every batch (occupancy 1 in the fine pixel of each emitter, its offset there); loss: binary cross-entropy on
the detection (positives weighted by ``pos_weight``) plus the squared offset error at the occupied pixels.
Prediction: local maxima (3 x 3) of the detection probability whose 3 x 3 sum exceeds 0.5, placed
at their pixel's centre plus offset: ``locs`` ``(N, K', 3)`` = (x, y [nm], score), NaN-padded.

Metrics (:mod:`detcnn.evaluation.localisation`, matching within 100 nm): ``recall``, ``precision``,
``jaccard``, ``rmse_nm``, ``efficiency`` over all frames and, per sample (emitter density), ``jaccard_<s>``,
``rmse_nm_<s>``, ``efficiency_<s>``, ``recall_<s>``, ``precision_<s>``; bootstrap over frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.localisation import frame_counts, padded, scores
from detcnn.tasks.common import Metrics, Plugin, TargetStats, bootstrap_values, check_args

NAME = "localisation"
NETWORK = "localiser"
PIXEL_TRUTH = True
HEADLINE = ("efficiency", True)
VALIDATION = ("jaccard", "rmse_nm", "efficiency")
PER_CLASS = ("recall_", "precision_", "jaccard_", "rmse_nm_", "efficiency_")
PER_CLASS_TITLE = "Per sample (frames of one emitter density, or the filaments)"
FIGURES = ("versus_density", "examples", "super_resolution")
PADDED = ("locs",)  # localisations, NaN beyond the found ones of a frame
TOLERANCE_NM = 100.0
DETECTION_THRESHOLD = 0.5  # of the 3 x 3 summed detection probability


def fine_pixel_nm(attrs: Mapping[str, Any]) -> float:
    return float(attrs["pixel_nm"]) / int(attrs.get("upsampling", 1))


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """Nothing: the targets are drawn from the emitter lists batch by batch."""
    return TargetStats()


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """``task_args``: ``pos_weight``, the weight of occupied fine pixels in the detection loss (default 4)."""
    check_args(NAME, args, ("pos_weight",))
    import torch
    from torch import nn
    from torch.nn import functional as F

    fine = fine_pixel_nm(attrs)
    pos_weight = float(args.get("pos_weight", 4.0))

    class LocalisationLoss(nn.Module):
        def forward(self, out: torch.Tensor, emitters: torch.Tensor) -> torch.Tensor:
            occupancy, offsets, occupied = fine_targets(emitters, out.shape[-1], fine)
            weight = torch.tensor(pos_weight, device=out.device)
            detection = F.binary_cross_entropy_with_logits(out[:, 0].float(), occupancy, pos_weight=weight)
            err = (0.5 * torch.tanh(out[:, 1:3].float()) - offsets).square().sum(dim=1)
            return detection + (err[occupied].mean() if occupied.any() else err.sum() * 0.0)

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.sigmoid(out[:, :1].float()), 0.5 * torch.tanh(out[:, 1:3].float())], dim=1)

    return Plugin(
        target="emitters",
        num_outputs=3,
        loss=LocalisationLoss(),
        predict=predict,
        info={"pos_weight": pos_weight, "fine_pixel_nm": fine, "tolerance_nm": TOLERANCE_NM},
    )


def fine_targets(emitters: Any, n_fine: int, fine_nm: float) -> tuple[Any, Any, Any]:
    """From emitter lists ``(N, K, >=2)`` [nm] (torch, NaN-padded): the occupancy ``(N, F, F)``, the offsets
    of each emitter from its fine pixel's centre ``(N, 2, F, F)`` [fine pixels] and the occupied mask."""
    import torch

    x, y = emitters[..., 0].float() / fine_nm, emitters[..., 1].float() / fine_nm
    ok = torch.isfinite(x) & torch.isfinite(y) & (x >= 0) & (y >= 0) & (x < n_fine) & (y < n_fine)
    n = torch.arange(len(emitters), device=emitters.device)[:, None].expand_as(x)[ok]
    ix, iy = x[ok].floor().long(), y[ok].floor().long()
    occupancy = torch.zeros(len(emitters), n_fine, n_fine, device=emitters.device)
    offsets = torch.zeros(len(emitters), 2, n_fine, n_fine, device=emitters.device)
    occupancy[n, iy, ix] = 1.0
    offsets[n, 0, iy, ix] = x[ok] - ix - 0.5
    offsets[n, 1, iy, ix] = y[ok] - iy - 0.5
    return occupancy, offsets, occupancy > 0


def decode(maps: np.ndarray, fine_nm: float, threshold: float) -> np.ndarray:
    """Localisations ``(N, K', 3)`` = (x, y [nm], score) of predicted maps ``(N, 3, F, F)`` (module doc)."""
    from scipy.ndimage import maximum_filter, uniform_filter

    p = maps[:, 0]
    summed = uniform_filter(p, size=(1, 3, 3), mode="constant") * 9.0
    peaks = (p == maximum_filter(p, size=(1, 3, 3), mode="constant")) & (summed > threshold)
    frame, iy, ix = np.nonzero(peaks)
    x = (ix + 0.5 + maps[frame, 1, iy, ix]) * fine_nm
    y = (iy + 0.5 + maps[frame, 2, iy, ix]) * fine_nm
    return padded(frame, np.stack([x, y, np.minimum(summed[frame, iy, ix], 1.0)], axis=1), len(maps))


def prediction(maps: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``locs``: the localisations of a localiser's maps ``(N, 3, F, F)`` (detection threshold 0.5)."""
    return {"locs": decode(maps, fine_pixel_nm(attrs), DETECTION_THRESHOLD)}


def metrics(
    emitters: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """The metrics of the module doc; per sample when ``settings['event_classes']`` gives each frame's."""
    counts = frame_counts(prediction["locs"], emitters, TOLERANCE_NM)
    classes = settings.get("event_classes")
    names = list(attrs.get("class_names") or [])

    def fn(rows: np.ndarray) -> dict[str, float]:
        out = scores(counts[rows])
        if classes is not None:
            for k, name in enumerate(names):
                mine = rows[np.asarray(classes)[rows] == k]
                out.update({f"{key}_{name}": v for key, v in scores(counts[mine]).items()})
        return out

    return bootstrap_values(fn, len(emitters), indices)


def plot(path: Path, name: str, kind: str, emitters: np.ndarray, prediction: Mapping[str, np.ndarray],
         attrs: Mapping[str, Any]) -> None:  # fmt: skip
    """The errors (found - true) of the matched localisations, x and y [nm]."""
    from detcnn.evaluation.localisation import match
    from detcnn.report.plots import _plt, _save

    locs, dx, dy = prediction["locs"], [], []
    for i in range(min(len(emitters), 500)):
        a, b = match(locs[i], emitters[i], TOLERANCE_NM)
        dx.append(locs[i, a, 0] - emitters[i, b, 0])
        dy.append(locs[i, a, 1] - emitters[i, b, 1])
    from detcnn.report.histograms import step

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for values, label in ((np.concatenate(dx), "x"), (np.concatenate(dy), "y")):
        rms = np.sqrt(np.mean(values**2)) if len(values) else float("nan")
        label = f"{label}: RMS {rms:.1f} nm"
        step(ax, values, np.linspace(-TOLERANCE_NM, TOLERANCE_NM, 61), label)
    ax.set_xlabel("found - true [nm] (matched within 100 nm)")
    ax.set_ylabel("localisations")
    ax.set_title(name, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Jaccard, RMSE and efficiency against emitter density; the paired Jaccard difference of the best network
    and the best baseline on the densest sample; example frames; the super-resolved filaments."""
    from detcnn.tasks.localisation_report import report as draw

    return draw(loaded, test, figures, settings, indices, HEADLINE, TOLERANCE_NM)
