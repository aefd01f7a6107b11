"""Baseline kind ``calorimetric``: the event energy (``target``, the energy regression's) as a
calibration line in the event's summed charge, fitted on the train events of ``classes`` for the smallest mean
squared relative residual, what the energy regression measures (:mod:`detcnn.baselines.calibration`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.calibration import apply_calibration, fit_calibration
from detcnn.baselines.common import event_rows, event_truth, train_section
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily
from detcnn.tasks.energy_regression import ARGS_SCHEMA

NAME = "calorimetric"
TASK = "energy_regression"
CLASSES = None
PIXELS = False
FAMILY = BaselineFamily.CALIBRATION
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties): those of the energy regression it is
#: judged as, with their defaults.
SCHEMA: dict[str, Any] = {"target": ARGS_SCHEMA["target"], "classes": ARGS_SCHEMA["classes"]}


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    rows = event_rows(images, cfg.get("classes"))
    target = cfg["target"]
    model = fit_calibration(images.observables["total_charge"][rows], event_truth(images, target)[rows])
    return {**model, "target": target, "classes": cfg.get("classes")}


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: the energy of every event ``(N,)`` [GeV] (evaluation keeps the events of the model's classes)."""
    return {"pred": apply_calibration(model, images.observables["total_charge"])}


def task_args(model: Mapping[str, Any]) -> dict[str, Any]:
    """The energy regression this calibration is judged as: its target and classes."""
    return {"target": model["target"], "classes": model.get("classes")}


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 2  # slope and offset


train_metrics = train_section
