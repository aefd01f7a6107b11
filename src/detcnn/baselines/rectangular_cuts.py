"""Baseline kind ``rectangular_cuts``: nested boxes of one-sided cuts on several observables (binary
classification; TMVA's MethodCuts idea, :func:`detcnn.baselines.cuts.fit_rectangular_cuts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.common import no_task_args, require_observables, train_auc, train_auc_metrics
from detcnn.baselines.cuts import fit_rectangular_cuts, score_rectangular_cuts
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily, ClassCount

NAME = "rectangular_cuts"
TASK = "classification"
CLASSES = ClassCount.BINARY
PIXELS = False
FAMILY = BaselineFamily.CUTS
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties), and those it needs.
SCHEMA: dict[str, Any] = {
    "observables": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                    "description": "The observables cut on (of the image file's; each side chosen on train)."},
    "grid": {"type": "integer", "minimum": 2, "default": 16,
             "description": "Thresholds per observable (signal quantiles) in the rectangular-cut search."},
    "n_targets": {"type": "integer", "minimum": 2, "default": 49,
                  "description": "Target signal efficiencies of the rectangular-cut search, evenly spaced in (0, 1)."},
}  # fmt: skip
REQUIRED = ("observables",)


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    require_observables(images, cfg["observables"])
    model = fit_rectangular_cuts(images.observables, images.y, cfg["observables"], working_points,
                                 grid=int(cfg["grid"]), n_targets=int(cfg["n_targets"]))  # fmt: skip
    model["train_auc"] = train_auc(images, predict(model, images))
    return model


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score``: ``1 - eps`` of the tightest box an event passes ``(N,)``."""
    return {"score": score_rectangular_cuts(model, images.observables)}


task_args = no_task_args
train_metrics = train_auc_metrics


def fitted_numbers(model: Mapping[str, Any]) -> int:
    """A threshold per observable and box."""
    return len(model["observables"]) * len(model["boxes"])
