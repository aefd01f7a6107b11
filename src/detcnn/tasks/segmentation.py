"""Pixel classes of detector views: ``y_pix`` ``(N, V, H, W)`` (0 empty, 1 track, 2 shower) from a segmenter
with one output per class and pixel ``(N, K, V, H, W)``, against the pixel cuts.

Loss: cross-entropy per pixel, either with class weights (``class_weights``: ``inverse_frequency`` of the
train split, as the empty pixels are most of the image, a list, or ``none``) or ignoring the empty pixels
(``ignore_empty: true``). Prediction: the pixel classes; a pixel with no charge in any channel of its view
is empty whatever the network says.

Metrics on the pixels whose truth is not empty (:mod:`detcnn.evaluation.segmentation`), bootstrapped over
events through per-event confusions: ``accuracy``, ``mean_iou``, and per class ``iou_<c>``,
``efficiency_<c>``, ``purity_<c>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.config import fill_task_args
from detcnn.errors import ConfigError
from detcnn.evaluation.bootstrap import Metrics, paired
from detcnn.evaluation.segmentation import bootstrap_nonempty_metrics, event_confusions
from detcnn.kinds import ModelKind, NetworkKind
from detcnn.tasks.common import Target, TargetStats, charge_empty, no_working_points, validation_score
from detcnn.training.plugin import Plugin

NAME = "segmentation"
NETWORK = NetworkKind.SEGMENTER
PIXEL_TRUTH = True
HEADLINE = ("accuracy", True)
VALIDATION = ("accuracy", "mean_iou")
#: Prefixes of the metrics followed in bins of a per-event variable and under systematic variations.
STUDY_METRICS: tuple[str, ...] = ("accuracy",)
PER_CLASS: tuple[str, ...] = ()
PER_CLASS_TITLE = ""
FIGURES = ("confusion", "examples")
PADDED: tuple[str, ...] = ()  # no prediction array is NaN-padded
BLOCK_ROWS = 4096
#: Its ``task_args`` (JSON-schema properties, the defaults filled by :func:`plugin`).
ARGS_SCHEMA: dict[str, Any] = {
    "class_weights": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "number"}}],
                      "default": "inverse_frequency",
                      "description": "Loss weight of each pixel class: inverse_frequency (of the train split, "
                                     "normalised to a mean of 1), none, or a list of one number per class."},
    "ignore_empty": {"type": "boolean", "default": False,
                     "description": "Leave the empty pixels out of the loss (instead of weighting the classes)."},
}  # fmt: skip


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    """The pixel classes ``y_pix`` of every event."""
    return Target("y_pix")


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    """Pixel-class frequencies ``(K,)`` of the whole train split (all its events, whatever ``rows``), read
    block by block: the inverse-frequency class weights."""
    names = list(train.attrs.get("pixel_class_names") or [])
    y_pix = train.dataset("y_pix")
    counts = np.zeros(len(names))
    for start in range(0, len(y_pix), BLOCK_ROWS):
        counts += np.bincount(y_pix[start : start + BLOCK_ROWS].ravel(), minlength=len(names))[: len(names)]
    return TargetStats(frequencies=counts / max(counts.sum(), 1))


def class_weights(setting: str | Sequence[float] | None, frequencies: np.ndarray) -> list[float] | None:
    """The loss weight of each pixel class: ``inverse_frequency`` (normalised to a mean of 1), a list, or none."""
    if setting in (None, "none"):
        return None
    if setting == "inverse_frequency":
        w = 1.0 / np.maximum(frequencies, 1e-6)
        return list(w / w.sum() * len(w))
    if isinstance(setting, Sequence) and not isinstance(setting, str) and len(setting) == len(frequencies):
        return [float(v) for v in setting]
    raise ConfigError(
        f"class_weights must be 'inverse_frequency', 'none' or a list of {len(frequencies)} numbers, got {setting!r}",
        key="task_args.class_weights",
    )  # fmt: skip


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    """Weighted (or empty-ignoring) per-pixel cross-entropy; pixel classes as the prediction (module doc)."""
    args = fill_task_args(NAME, args)
    names = list(attrs.get("pixel_class_names") or [])
    if not names:
        raise ConfigError("segmentation needs per-pixel labels (y_pix): a detector dataset", key="task")
    import torch

    from detcnn.training.losses import SegmentationLoss

    n_views = len(attrs.get("views", [None]))
    ignore = bool(args["ignore_empty"])
    stats = target_stats(train, rows) if train is not None else TargetStats(frequencies=np.full(len(names), 1.0))
    weight = None if ignore else class_weights(args["class_weights"], stats.frequencies)
    weight_t = None if weight is None else torch.tensor(weight, dtype=torch.float32)

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if ignore:  # the network never learnt 'empty': choose among the other classes
            out = out.clone()
            out[:, 0] = -torch.inf
        labels = out.argmax(dim=1)
        return torch.where(charge_empty(x, n_views), torch.zeros_like(labels), labels).to(torch.int8)

    info = {"class_weights": None if weight_t is None else weight_t.tolist(), "ignore_empty": ignore}
    return Plugin(
        target=target(attrs, args).dataset, num_outputs=len(names), predict=predict, info=info,
        loss=SegmentationLoss(weight_t, 0 if ignore else -100),
        score=validation_score(metrics, prediction, VALIDATION, attrs),
    )  # fmt: skip


def prediction(pred: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``pred``: pixel classes ``(N, V, H, W)``."""
    return {"pred": pred}


def metrics(
    y_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """Pixel metrics on non-empty truth pixels, bootstrapped over events through per-event confusions."""
    names = list(attrs["pixel_class_names"])
    per_event = event_confusions(y_pix, prediction["pred"], len(names))
    return bootstrap_nonempty_metrics(per_event, indices, class_names=names)


working_points = no_working_points


def plot(
    path: Path, name: str, kind: str, y_pix: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any]
) -> None:
    """Pixel confusion matrix over all test pixels, rows normalised."""
    from detcnn.evaluation.segmentation import pixel_confusion
    from detcnn.report.plots import plot_confusion

    labels = list(attrs["pixel_class_names"])
    conf = pixel_confusion(y_pix, prediction["pred"], len(labels))
    plot_confusion(path, f"{name}: pixel confusion (rows: truth)", conf, labels)


def report(
    loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any, figures: Mapping[str, Path],
    settings: Mapping[str, Any], indices: np.ndarray,
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Pixel confusion matrices, input / truth / prediction examples, paired accuracy difference."""
    from detcnn.evaluation.segmentation import nonempty_arrays
    from detcnn.report import figures as draw
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_kind

    summaries = [s for s, _ in loaded.values()]
    labels = list(test.attrs["pixel_class_names"])
    per_event = {m: event_confusions(test.y_pix, a["pred"], len(labels)) for m, (_, a) in loaded.items()}
    out: dict[str, Any] = {"models": {m: s["metrics"]["test/accuracy"]["value"] for m, (s, _) in loaded.items()}}
    text: list[str] = []
    best_net = best_of_kind(summaries, ModelKind.NETWORK, HEADLINE)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, HEADLINE)
    if best_net and best_cut:

        def accuracy(model: str) -> Any:
            return lambda rows: float(nonempty_arrays(per_event[model][rows].sum(axis=0))["accuracy"])

        diff = paired(accuracy(best_net), accuracy(best_cut), len(test.y), indices).as_dict()
        out["paired_accuracy_difference"] = {"network": best_net, "baseline": best_cut, **diff}
        text.append(sentence("Pixel accuracy on non-empty pixels", best_net, best_cut, diff))
    draw.plot_pixel_confusions(figures["confusion"], {m: c.sum(axis=0) for m, c in per_event.items()}, labels)
    draw.plot_segmentation_examples(figures["examples"], test, {m: a["pred"] for m, (_, a) in loaded.items()},
                                    settings["seed"])  # fmt: skip
    return out, text
