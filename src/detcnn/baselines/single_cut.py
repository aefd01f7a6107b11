"""Baseline kind ``single_cut``: one observable cut on the side where the signal sits (binary classification;
the side chosen on train, :func:`detcnn.baselines.cuts.fit_single_cut`). Its score is the oriented observable;
the cut at a working point is chosen on it like any model's, on the validation split, by the evaluate stage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.common import no_task_args, require_observables, train_auc, train_auc_metrics
from detcnn.baselines.cuts import fit_single_cut, score_single_cut
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily, ClassCount

NAME = "single_cut"
TASK = "classification"
CLASSES = ClassCount.BINARY
PIXELS = False
FAMILY = BaselineFamily.SINGLE_OBSERVABLE
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties), and those it needs.
SCHEMA: dict[str, Any] = {
    "observables": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1,
                    "description": "The observable cut on (one of the image file's; the side is chosen on train)."},
}  # fmt: skip
REQUIRED = ("observables",)


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    require_observables(images, cfg["observables"])
    model = fit_single_cut(images.observables, images.y, cfg["observables"])
    model["train_auc"] = train_auc(images, predict(model, images))
    return model


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score``: the oriented observable ``(N,)``."""
    return {"score": score_single_cut(model, images.observables)}


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 1


train_metrics = train_auc_metrics
