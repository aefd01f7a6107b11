"""Baseline kind ``pixel_calibration``: the deposited energy of a pixel [MeV] as a calibration line in its
charge, fitted on the train pixels with both charge and energy (:mod:`detcnn.baselines.calibration`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines.calibration import apply_calibration, fit_calibration
from detcnn.baselines.common import charge_images, no_task_args, train_section
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily

NAME = "pixel_calibration"
TASK = "pixel_regression"
CLASSES = None
PIXELS = True
FAMILY = BaselineFamily.CALIBRATION
SCHEMA: dict[str, Any] = {}  # no keys besides kind and datasets


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    charge, energy = charge_images(images), images.e_pix
    both = (charge > 0) & (energy > 0)
    return fit_calibration(charge[both].astype(np.float64), energy[both].astype(np.float64))


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: energy per pixel ``(N, V, H, W)`` [MeV], zero where a pixel has no charge."""
    charge = charge_images(images)
    return {"pred": np.where(charge > 0, apply_calibration(model, charge), 0.0).astype(np.float32)}


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 2  # slope and offset


train_metrics = train_section
