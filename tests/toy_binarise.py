"""A toy task written as docs/extending.md says, outside the package: image binarisation, the lecture's first
example of semantic segmentation. Is a pixel brighter than its neighbourhood (its image smoothed by a 5 x 5
box filter), by more than a margin? The target is made from the image itself (``target = "X"``), so any
image file has it. A segmenter with two outputs per pixel learns it by cross-entropy."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.bootstrap import Metrics, bootstrap
from detcnn.kinds import NetworkKind
from detcnn.tasks.common import Target, TargetStats, check_args, no_working_points, validation_score
from detcnn.training.plugin import Plugin

NAME = "binarisation"
NETWORK = NetworkKind.SEGMENTER
PIXEL_TRUTH = False
HEADLINE = ("accuracy", True)
VALIDATION = ("accuracy", "foreground_fraction")
PER_CLASS: tuple[str, ...] = ()
PER_CLASS_TITLE = ""
FIGURES = ("examples",)
PADDED: tuple[str, ...] = ()
MARGIN = 0.1


def binarise(images: Any) -> Any:
    """``(N, C, H, W)`` images (tensor or array) -> ``(N, 1, H, W)`` int64 truth of the first channel: 1 where
    the pixel exceeds the 5 x 5 mean around it by ``MARGIN``."""
    import torch
    from torch.nn import functional as F

    x = torch.as_tensor(images)[:, :1].float()
    local = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    out = (x > local + MARGIN).long()
    return out if isinstance(images, torch.Tensor) else out.numpy()


def target(attrs: Mapping[str, Any], args: Mapping[str, Any]) -> Target:
    return Target("X", truth=binarise)


def target_stats(train: Any, rows: np.ndarray | None) -> TargetStats:
    return TargetStats()


def plugin(attrs: Mapping[str, Any], args: Mapping[str, Any], train: Any = None, rows: Any = None) -> Plugin:
    check_args(NAME, args, ())
    import torch
    from torch import nn

    class BinariseLoss(nn.Module):
        def forward(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.cross_entropy(logits.float(), binarise(x))

    return Plugin(
        target=target(attrs, args).dataset, num_outputs=2, loss=BinariseLoss(), truth=target(attrs, args).truth,
        predict=lambda out, x: out.argmax(dim=1).to(torch.int8),
        score=validation_score(metrics, prediction, VALIDATION, attrs),
    )  # fmt: skip


def prediction(pred: np.ndarray, attrs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {"pred": pred}


def metrics(
    truth: np.ndarray, prediction: Mapping[str, np.ndarray], attrs: Mapping[str, Any], settings: Mapping[str, Any],
    indices: np.ndarray,
) -> Metrics:  # fmt: skip
    """``accuracy`` over all pixels and the predicted ``foreground_fraction``, bootstrapped over images."""
    n = len(truth)
    right = (prediction["pred"] == truth).reshape(n, -1).mean(axis=1)
    fore = (prediction["pred"] == 1).reshape(n, -1).mean(axis=1)
    return bootstrap(lambda rows: {"accuracy": float(right[rows].mean()),
                                   "foreground_fraction": float(fore[rows].mean())}, n, indices)  # fmt: skip


working_points = no_working_points


def plot(path: Path, name: str, kind: str, truth: np.ndarray, prediction: Mapping[str, np.ndarray],
         attrs: Mapping[str, Any]) -> None:  # fmt: skip
    from detcnn.evaluation.multiclass import confusion_matrix
    from detcnn.report.plots import plot_confusion

    conf = confusion_matrix(truth.ravel(), prediction["pred"].ravel(), 2)
    plot_confusion(path, f"{name}: pixels (rows: truth)", conf, ["background", "foreground"])


def report(loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]], test: Any,
           figures: Mapping[str, Path], settings: Mapping[str, Any], indices: np.ndarray,
           ) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    from detcnn.report.plots import pyplot, save_figure

    plt = pyplot()
    truth = binarise(test.X[:3])
    fig, axes = plt.subplots(3, 2 + len(loaded), squeeze=False)
    for i in range(3):
        axes[i, 0].imshow(test.X[i, 0])
        axes[i, 1].imshow(truth[i, 0])
        for j, (_, arrays) in enumerate(loaded.values()):
            axes[i, 2 + j].imshow(arrays["pred"][i, 0])
    save_figure(fig, figures["examples"])
    return {"models": {m: s["metrics"]["test/accuracy"]["value"] for m, (s, _) in loaded.items()}}, []
