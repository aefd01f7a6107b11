"""Baseline kind ``rectangular_cuts``: nested boxes of one-sided cuts on several observables (binary
classification; TMVA's MethodCuts idea), the sequence of largest train AUC, found exactly on a grid of cut
values (:mod:`detcnn.baselines.cuts`): its train AUC is at least that of each of its observables cut alone."""

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
    "grid": {"type": "integer", "minimum": 2, "default": 32,
             "description": "Cut values on an observable with more than max_values distinct train values: this many "
                            "quantiles of its train events."},
    "max_values": {"type": "integer", "minimum": 2, "default": 128,
                   "description": "An observable with at most this many distinct train values (a count such as the "
                                  "multiplicity) is cut at each of them."},
}  # fmt: skip
REQUIRED = ("observables",)


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    require_observables(images, cfg["observables"])
    model = fit_rectangular_cuts(images.observables, images.y, cfg["observables"],
                                 grid=int(cfg["grid"]), max_values=int(cfg["max_values"]))  # fmt: skip
    model["train_auc"] = train_auc(images, predict(model, images))
    return model


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score``: the index of the tightest of the nested boxes an event passes ``(N,)``."""
    return {"score": score_rectangular_cuts(model, images.observables)}


task_args = no_task_args
train_metrics = train_auc_metrics


def fitted_numbers(model: Mapping[str, Any]) -> int:
    """A cut value per box after the open one (each box tightens one cut of the one before)."""
    return len(model["boxes"]) - 1
