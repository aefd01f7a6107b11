"""Object localisation below the pixel: the emitters of single-molecule microscopy frames, ``emitters``
``(N, K, 3)`` = (x, y [nm], photons), NaN-padded, found by a localiser on a grid ``upsampling`` times finer
than the camera's, against the classical local-maximum pipeline.

The localiser outputs per fine pixel a detection logit and the emitter's sub-pixel offset from the fine
pixel's centre (bounded to +-0.5 fine pixels by 0.5 tanh). Its targets are drawn from the emitter lists in
every batch (occupancy 1 in the fine pixel of each emitter, its offset there); loss: binary cross-entropy on
the detection (positives weighted by ``pos_weight``) plus the squared offset error at the occupied pixels.
Prediction: local maxima (3 x 3) of the detection probability whose 3 x 3 sum exceeds 0.5, placed
at their pixel's centre plus offset: ``locs`` ``(N, K', 3)`` = (x, y [nm], score), NaN-padded.

Metrics (:mod:`detcnn.evaluation.localisation`, matching within the image file's ``match_tolerance_nm``,
the dataset's ``frame_images.match_tolerance_nm``, 250 nm by default as in the SMLM challenge 2016, the
same for every model of the dataset: :func:`match_tolerance_nm`): ``recall``, ``precision``,
``jaccard``, ``rmse_nm``, ``efficiency`` over all frames and, per sample (emitter density), ``jaccard_<s>``,
``rmse_nm_<s>``, ``efficiency_<s>``, ``recall_<s>``, ``precision_<s>``; bootstrap over frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.config import fill_task_args
from detcnn.errors import InputError
from detcnn.evaluation.bootstrap import Metrics, bootstrap
from detcnn.evaluation.localisation import frame_counts, padded, scores
from detcnn.kinds import NetworkKind
from detcnn.tasks.common import Target, TargetStats, no_working_points, validation_score
from detcnn.training.plugin import Plugin

NAME = "localisation"
NETWORK = NetworkKind.LOCALISER
PIXEL_TRUTH = True
HEADLINE = ("efficiency", True)
VALIDATION = ("jaccard", "rmse_nm", "efficiency")
#: Prefixes of the metrics followed in bins of a per-event variable and under systematic variations.
STUDY_METRICS: tuple[str, ...] = ("efficiency", "jaccard")
PER_CLASS = ("recall_", "precision_", "jaccard_", "rmse_nm_", "efficiency_")
PER_CLASS_TITLE = "Per sample (frames of one emitter density, or the filaments)"
FIGURES = ("versus_density", "examples", "super_resolution")
PADDED = ("locs",)  # localisations, NaN beyond the found ones of a frame
DETECTION_THRESHOLD = 0.5  # of the 3 x 3 summed detection probability
#: Its ``task_args`` (JSON-schema properties, the defaults filled by :func:`plugin`).
ARGS_SCHEMA: dict[str, Any] = {
    "pos_weight": {"type": "number", "exclusiveMinimum": 0, "default": 4.0,
                   "description": "Weight of the occupied fine pixels in the detection loss (they are few)."},
}  # fmt: skip


def fine_pixel_nm(attrs: Mapping[str, Any]) -> float:
    """The localiser's output pixel [nm]: the camera pixel ``pixel_nm`` over ``upsampling``."""
    return float(attrs["pixel_nm"]) / int(attrs.get("upsampling", 1))


def match_tolerance_nm(attrs: Mapping[str, Any]) -> float:
    """The lateral distance [nm] within which a localisation matches a true emitter: the image file's
    ``match_tolerance_nm`` (written by the rasteriser from the dataset's ``frame_images.match_tolerance_nm``)."""
    if "match_tolerance_nm" not in attrs:
        raise InputError(f"the image file of dataset '{attrs.get('dataset', '')}' has no match_tolerance_nm (it "
                         "was written before the tolerance was configurable)",
                         fix="run the rasterise step of this dataset again")  # fmt: skip
    return float(attrs["match_tolerance_nm"])


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    """The emitter lists ``emitters`` of every frame (all samples)."""
    return Target("emitters")


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """Nothing: the targets are drawn from the emitter lists batch by batch."""
    return TargetStats()


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """The loss of :class:`~detcnn.training.losses.LocalisationLoss`; ``task_args``: ``pos_weight``, the weight
    of occupied fine pixels in the detection loss. The prediction: the detection probability and
    the offsets [fine pixels], ``(N, 3, F, F)``."""
    args = fill_task_args(NAME, args)
    import torch

    from detcnn.training.losses import LocalisationLoss

    fine = fine_pixel_nm(attrs)
    pos_weight = float(args["pos_weight"])

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.sigmoid(out[:, :1].float()), 0.5 * torch.tanh(out[:, 1:3].float())], dim=1)

    return Plugin(
        target=target(attrs, args).dataset,
        num_outputs=3,
        loss=LocalisationLoss(pos_weight, fine),
        predict=predict,
        score=validation_score(metrics, prediction, VALIDATION, attrs),
        info={"pos_weight": pos_weight, "fine_pixel_nm": fine, "tolerance_nm": match_tolerance_nm(attrs)},
    )


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
    counts = frame_counts(prediction["locs"], emitters, match_tolerance_nm(attrs))
    classes = settings.get("event_classes")
    names = list(attrs.get("class_names") or [])

    def fn(rows: np.ndarray) -> dict[str, float]:
        out = scores(counts[rows])
        if classes is not None:
            for k, name in enumerate(names):
                mine = rows[np.asarray(classes)[rows] == k]
                out.update({f"{key}_{name}": v for key, v in scores(counts[mine]).items()})
        return out

    return bootstrap(fn, len(emitters), indices)


working_points = no_working_points


def plot(path: Path, name: str, kind: str, emitters: np.ndarray, prediction: Mapping[str, np.ndarray],
         attrs: Mapping[str, Any]) -> None:  # fmt: skip
    """The errors (found - true) of the matched localisations, x and y [nm]."""
    from detcnn.evaluation.localisation import match
    from detcnn.report.plots import pyplot, save_figure

    locs, dx, dy, tolerance = prediction["locs"], [], [], match_tolerance_nm(attrs)
    for i in range(min(len(emitters), 500)):
        a, b = match(locs[i], emitters[i], tolerance)
        dx.append(locs[i, a, 0] - emitters[i, b, 0])
        dy.append(locs[i, a, 1] - emitters[i, b, 1])
    from detcnn.report.histograms import step

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for values, label in ((np.concatenate(dx), "x"), (np.concatenate(dy), "y")):
        rms = np.sqrt(np.mean(values**2)) if len(values) else float("nan")
        label = f"{label}: RMS {rms:.1f} nm"
        step(ax, values, np.linspace(-tolerance, tolerance, 61), label)
    ax.set_xlabel(f"found - true [nm] (matched within {tolerance:g} nm)")
    ax.set_ylabel("localisations")
    ax.set_title(name, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Jaccard, RMSE and efficiency against emitter density; the paired Jaccard difference of the best network
    and the best baseline on the densest sample; example frames; the super-resolved filaments."""
    from detcnn.tasks.localisation_report import report as draw

    return draw(loaded, test, figures, settings, indices, HEADLINE, match_tolerance_nm(test.attrs))
