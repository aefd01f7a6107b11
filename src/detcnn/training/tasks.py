"""Task plug-ins of the one training loop: what to predict, the loss, the prediction and the validation score.

A task names its target in the image file (``y``, ``y_pix``, ``e_pix`` or ``truth/<name>``), the kind of
network it needs (classifier: one output vector per event; segmenter: one map per view and pixel) and how
many outputs, the loss on the network's raw outputs, the transformation of raw outputs into the stored
prediction (class probabilities, pixel classes, energies) and the validation score. The loop in
:mod:`detcnn.training.loop` knows nothing else about tasks.

- ``classification``: event classes ``y``; cross-entropy; softmax probabilities ``(N, K)``.
- ``segmentation``: pixel classes ``y_pix (N, V, H, W)``; cross-entropy per pixel, either with class weights
  (``class_weights``: ``inverse_frequency`` from the train split, as the empty pixels are most of the image,
  or a list, or ``none``) or ignoring the empty pixels altogether (``ignore_empty: true``). Predictions are
  pixel classes; a pixel with no charge in any channel of its view is empty whatever the network says.
- ``pixel_regression``: deposited energy per pixel ``e_pix`` [MeV]; mean squared error over all pixels; the
  prediction is zero where a pixel has no charge (the energy of what the detector saw).
- ``energy_regression``: one event quantity ``truth/<target>`` [GeV] (default the neutrino energy), optionally
  on some classes only (``classes``); loss ``relative_mse`` (``((pred - true) / true)^2``, the quantity the
  resolution measures) or ``mse``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class Task:
    """What a task contributes to the loop; see the module doc."""

    name: str
    target: str
    network: str  # "classifier" or "segmenter" (the registry's kinds)
    num_outputs: int
    loss: nn.Module
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (raw outputs, inputs) -> stored prediction
    score: Callable[[np.ndarray, np.ndarray], dict[str, float]]
    classes: list[int] | None = None  # event classes used (energy regression on some classes only)
    info: dict[str, Any] = field(default_factory=dict)  # resolved settings, saved with the model


def classification_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """``auc`` (binary: class 1 as signal; multiclass: macro one-vs-rest) and ``accuracy``."""
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        auc = roc_auc_score(y, proba[:, 1]) if len(np.unique(y)) == 2 else float("nan")
    elif len(np.unique(y)) == proba.shape[1]:
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=np.arange(proba.shape[1]))
    else:
        auc = float("nan")
    return {"auc": float(auc), "accuracy": float(np.mean(proba.argmax(axis=1) == y))}


def segmentation_scores(y_pix: np.ndarray, pred: np.ndarray, n_classes: int) -> dict[str, float]:
    """``accuracy`` on pixels whose truth is not empty, and ``mean_iou`` over the classes."""
    from detcnn.evaluation.segmentation import iou, nonempty_metrics, pixel_confusion

    conf = pixel_confusion(y_pix, pred, n_classes)
    return {"accuracy": float(nonempty_metrics(conf)["accuracy"]), "mean_iou": float(np.nanmean(iou(conf)))}


def regression_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """``resolution`` (RMS of (pred - true) / true) and ``bias`` (its median), on non-zero truth."""
    mask = true != 0
    rel = (pred[mask] - true[mask]) / true[mask]
    return {"resolution": float(np.sqrt(np.mean(rel**2))), "bias": float(np.median(rel))}


def pixel_regression_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """``rmse`` [MeV] over pixels with deposited energy, and the ``event_resolution`` of the summed energy."""
    hit = true > 0
    out = {"rmse": float(np.sqrt(np.mean((pred[hit] - true[hit]) ** 2)))}
    sums = true.reshape(len(true), -1).sum(axis=1), pred.reshape(len(pred), -1).sum(axis=1)
    out["event_resolution"] = regression_scores(*sums)["resolution"]
    return out


class SegmentationLoss(nn.Module):
    """Per-pixel cross-entropy on ``(N, K, V, H, W)`` logits against ``(N, V, H, W)`` classes, with class
    weights ``(K,)`` or ignoring one class (``ignore_index``; -100 ignores nothing)."""

    def __init__(self, weight: torch.Tensor | None = None, ignore_index: int = -100) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target.long(), weight=self.weight, ignore_index=self.ignore_index)


class PixelMSE(nn.Module):
    """Mean squared error of ``(N, 1, V, H, W)`` outputs against ``(N, V, H, W)`` targets."""

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out.float().squeeze(1), target.float())


class EventRegressionLoss(nn.Module):
    """``mse`` or ``relative_mse`` of ``(N, 1)`` outputs against ``(N,)`` targets."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in ("mse", "relative_mse"):
            raise ValueError(f"energy regression loss must be 'mse' or 'relative_mse', got '{kind}'")
        self.relative = kind == "relative_mse"

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        diff = out.float().squeeze(1) - target
        if self.relative:
            diff = diff / target.clamp_min(1e-6)
        return diff.square().mean()


def _charge_empty(x: torch.Tensor, n_views: int) -> torch.Tensor:
    """``(N, V, H, W)`` True where a view's pixel has no signal in any of its channels."""
    n, c, h, w = x.shape
    return (x.reshape(n, n_views, c // n_views, h, w) == 0).all(dim=2)


def _class_weights(setting: str | Sequence[float] | None, frequencies: np.ndarray) -> torch.Tensor | None:
    if setting in (None, "none"):
        return None
    if setting == "inverse_frequency":
        freq = np.maximum(frequencies, 1e-6)
        w = 1.0 / freq
        return torch.tensor(w / w.sum() * len(w), dtype=torch.float32)
    if isinstance(setting, Sequence) and not isinstance(setting, str) and len(setting) == len(frequencies):
        return torch.tensor(list(setting), dtype=torch.float32)
    raise ValueError(
        f"class_weights must be 'inverse_frequency', 'none' or a list of {len(frequencies)} numbers, got {setting!r}"
    )


def _check_args(name: str, args: Mapping[str, Any], valid: Sequence[str]) -> None:
    unknown = set(args) - set(valid)
    if unknown:
        raise ValueError(f"unknown task_args {sorted(unknown)} for task '{name}'; valid: {sorted(valid)}")


def classification(attrs: Mapping[str, Any], args: Mapping[str, Any], stats: TargetStats) -> Task:
    _check_args("classification", args, ())
    n = len(attrs["class_names"])
    return Task(
        "classification", "y", "classifier", n, nn.CrossEntropyLoss(),
        predict=lambda out, x: torch.softmax(out.float(), dim=1), score=classification_scores,
    )  # fmt: skip


def segmentation(attrs: Mapping[str, Any], args: Mapping[str, Any], stats: TargetStats) -> Task:
    _check_args("segmentation", args, ("class_weights", "ignore_empty"))
    names = list(attrs.get("pixel_class_names") or [])
    if not names:
        raise ValueError("segmentation needs per-pixel labels (y_pix): a detector dataset")
    n_views = len(attrs.get("views", [None]))
    ignore = bool(args.get("ignore_empty", False))
    weight = None if ignore else _class_weights(args.get("class_weights", "inverse_frequency"), stats.frequencies)

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if ignore:  # the network never learnt 'empty': choose among the other classes
            out = out.clone()
            out[:, 0] = -torch.inf
        labels = out.argmax(dim=1)
        return torch.where(_charge_empty(x, n_views), torch.zeros_like(labels), labels).to(torch.int8)

    info = {"class_weights": None if weight is None else weight.tolist(), "ignore_empty": ignore}
    return Task(
        "segmentation", "y_pix", "segmenter", len(names), SegmentationLoss(weight, 0 if ignore else -100),
        predict=predict, score=lambda t, p: segmentation_scores(t, p, len(names)), info=info,
    )  # fmt: skip


def pixel_regression(attrs: Mapping[str, Any], args: Mapping[str, Any], stats: TargetStats) -> Task:
    _check_args("pixel_regression", args, ())
    if "pixel_class_names" not in attrs:
        raise ValueError("pixel_regression needs the deposited energy per pixel (e_pix): a detector dataset")
    n_views = len(attrs.get("views", [None]))

    def predict(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        # the energy of what the detector saw: nothing where a view's pixel has no charge (as for segmentation)
        energy = out.float().squeeze(1)
        return torch.where(_charge_empty(x, n_views), torch.zeros_like(energy), energy)

    return Task("pixel_regression", "e_pix", "segmenter", 1, PixelMSE(), predict=predict, score=pixel_regression_scores)


def energy_regression(attrs: Mapping[str, Any], args: Mapping[str, Any], stats: TargetStats) -> Task:
    _check_args("energy_regression", args, ("target", "classes", "loss"))
    names = list(attrs["class_names"])
    classes = args.get("classes")
    unknown = [c for c in classes or [] if c not in names]
    if unknown:
        raise ValueError(f"task_args.classes {unknown} are not classes of this dataset; valid: {names}")
    target = f"truth/{args.get('target', 'nu_energy')}"
    info = {"target": target, "classes": classes, "loss": args.get("loss", "relative_mse")}
    return Task(
        "energy_regression", target, "classifier", 1, EventRegressionLoss(info["loss"]),
        predict=lambda out, x: out.float().squeeze(1), score=regression_scores,
        classes=[names.index(c) for c in classes] if classes else None, info=info,
    )  # fmt: skip


@dataclass
class TargetStats:
    """What a task may need to know about the train split: pixel-class frequencies ``(K,)`` (segmentation),
    and the typical value and spread of a regression target (``shift``, ``scale``)."""

    frequencies: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shift: float = 0.0
    scale: float = 1.0


TaskFactory = Callable[[Mapping[str, Any], Mapping[str, Any], TargetStats], Task]
TASKS: dict[str, TaskFactory] = {
    "classification": classification,
    "segmentation": segmentation,
    "pixel_regression": pixel_regression,
    "energy_regression": energy_regression,
}


def make_task(name: str, attrs: Mapping[str, Any], args: Mapping[str, Any] | None = None,
              stats: TargetStats | None = None) -> Task:  # fmt: skip
    """The task ``name`` for a dataset with file attributes ``attrs`` and the model's ``task_args``."""
    if name not in TASKS:
        raise KeyError(f"unknown task '{name}'; valid: {sorted(TASKS)}")
    return TASKS[name](attrs, dict(args or {}), stats or TargetStats())
