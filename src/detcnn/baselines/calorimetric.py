"""Baseline kind ``calorimetric``: the event energy (``target``, default the neutrino energy [GeV]) as a
calibration line in the event's summed charge, fitted on the train events of ``classes``
(:mod:`detcnn.baselines.calibration`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.calibration import apply_calibration, fit_calibration
from detcnn.baselines.common import event_rows, event_truth, train_section
from detcnn.io.images import ImageSet

NAME = "calorimetric"
TASK = "energy_regression"
CLASSES = None
PIXELS = False


def fit(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    rows = event_rows(images, cfg.get("classes"))
    target = cfg.get("target", "nu_energy")
    model = fit_calibration(images.observables["total_charge"][rows], event_truth(images, target)[rows])
    return {**model, "target": target, "classes": cfg.get("classes")}


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: the energy of every event ``(N,)`` [GeV] (evaluation keeps the events of the model's classes)."""
    return {"pred": apply_calibration(model, images.observables["total_charge"])}


def task_args(model: Mapping[str, Any]) -> dict[str, Any]:
    """The energy regression this calibration is judged as: its target and classes."""
    return {"target": model.get("target", "nu_energy"), "classes": model.get("classes")}


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 2  # slope and offset


train_metrics = train_section
