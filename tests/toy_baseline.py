"""A baseline kind that the baselines table does not have (docs/extending.md: a module with the names of every
baseline kind and a line in :data:`detcnn.baselines.BASELINES`): one observable as the score, oriented on
train so that the signal (class 1) scores higher."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.common import no_task_args, require_observables, train_auc, train_auc_metrics
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily, ClassCount

NAME = "oriented_observable"
TASK = "classification"
CLASSES = ClassCount.BINARY
PIXELS = False
FAMILY = BaselineFamily.SINGLE_OBSERVABLE
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties).
SCHEMA: dict[str, Any] = {
    "observables": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 1,
                    "description": "The observable that is the score."},
}  # fmt: skip


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    """The observable and its sign: +1 if the signal's train mean is above the background's, else -1."""
    (name,) = cfg["observables"]
    require_observables(images, [name])
    values, signal = images.observables[name], images.y == 1
    sign = 1 if values[signal].mean() >= values[~signal].mean() else -1
    model: dict[str, Any] = {"observables": [name], "sign": sign}
    model["train_auc"] = train_auc(images, predict(model, images))
    return model


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score``: the oriented observable ``(N,)``."""
    return {"score": model["sign"] * images.observables[model["observables"][0]]}


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 1


train_metrics = train_auc_metrics
