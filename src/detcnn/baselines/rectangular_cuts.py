"""Baseline kind ``rectangular_cuts``: nested boxes of one-sided cuts on several observables (binary
classification; TMVA's MethodCuts idea, :func:`detcnn.baselines.cuts.fit_rectangular_cuts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.common import no_task_args, require_observables, train_auc, train_auc_metrics
from detcnn.baselines.cuts import fit_rectangular_cuts, score_rectangular_cuts
from detcnn.io.images import ImageSet

NAME = "rectangular_cuts"
TASK = "classification"
CLASSES = "binary"
PIXELS = False


def fit(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    require_observables(images, cfg["observables"])
    model = fit_rectangular_cuts(images.observables, images.y, cfg["observables"], working_points,
                                 grid=int(cfg.get("grid", 16)), n_targets=int(cfg.get("n_targets", 49)))  # fmt: skip
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
