"""Baseline kind ``pixel_calibration``: the deposited energy of a pixel [MeV] as a calibration line in its
charge, ``slope * q + offset`` on each pixel with charge (zero elsewhere). The pixel regression is judged on
the relative residual of the energy summed over each event (its headline ``event_resolution``), so the line
is fitted on the train events for the smallest mean squared relative residual of that sum,
``slope * Q + offset * n`` (``Q`` the event's charge, ``n`` its pixels with charge) against the event's
deposited energy (:mod:`detcnn.baselines.calibration`)."""

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
    charge = charge_images(images)
    n = len(charge)
    q = charge.reshape(n, -1).sum(axis=1, dtype=np.float64)
    hits = np.count_nonzero(charge.reshape(n, -1) > 0, axis=1).astype(np.float64)
    energy = images.e_pix.reshape(n, -1).sum(axis=1, dtype=np.float64)
    judged = energy > 0  # an event without deposited energy has no relative residual
    return fit_calibration(q[judged], energy[judged], units=hits[judged])


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: energy per pixel ``(N, V, H, W)`` [MeV], zero where a pixel has no charge."""
    charge = charge_images(images)
    return {"pred": np.where(charge > 0, apply_calibration(model, charge), 0.0).astype(np.float32)}


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return 2  # slope and offset


train_metrics = train_section
