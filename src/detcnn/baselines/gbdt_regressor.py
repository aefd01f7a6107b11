"""Baseline kind ``gbdt_regressor``: the event energy (``target``, the energy regression's) from boosted decision
trees on the observables (scikit-learn's ``HistGradientBoostingRegressor``), fitted and judged on the events of
``classes`` (:mod:`detcnn.baselines.gbdt`).

Fitted for the quantity it is judged on, the relative residual ``r = (pred - true) / true``: squared error
with event weights ``1 / true^2``, i.e. the mean of r^2 (the energy regression's ``relative_mse``, the
networks' default loss), rather than the squared error in GeV, which would let the high energies dominate,
or the squared error of log E (equal to r^2 only for small r, and biased low by ``exp(-sigma^2 / 2)`` when
undone). Early-stopped on the validation resolution (the standard deviation of r, the task's headline and
first validation figure, by which the networks' best epoch is chosen too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines import gbdt
from detcnn.baselines.common import event_rows, event_truth, train_section
from detcnn.errors import InputError
from detcnn.evaluation.regression import relative_residuals
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily
from detcnn.tasks.energy_regression import ARGS_SCHEMA

NAME = "gbdt_regressor"
TASK = "energy_regression"
CLASSES = None
PIXELS = False
FAMILY = BaselineFamily.MULTIVARIATE
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties): those of the energy regression it is
#: judged as, and the trees' (with their defaults).
SCHEMA: dict[str, Any] = {"target": ARGS_SCHEMA["target"], "classes": ARGS_SCHEMA["classes"], **gbdt.SCHEMA}


def _targets(images: ImageSet, cfg: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The events of ``cfg['classes']`` (a mask ``(N,)``) and their ``cfg['target']`` ``(n,)`` [GeV], which must be
    finite and positive (the relative residual divides by it)."""
    rows = event_rows(images, cfg.get("classes"))
    true = np.asarray(event_truth(images, cfg["target"]), dtype=np.float64)[rows]
    bad = ~(np.isfinite(true) & (true > 0))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} events have a target '{cfg['target']}' that is not finite and positive",
            path=images.path, fix="regress a positive quantity, or select its events by 'classes'",
        )  # fmt: skip
    return rows, true


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    """Trees minimising the mean squared relative residual on train, as many as minimise its standard
    deviation on ``val``."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    val = gbdt.require_val(val, NAME)
    names = gbdt.chosen_observables(images, cfg)
    rows, true = _targets(images, cfg)
    val_rows, val_true = _targets(val, cfg)
    X, X_val = gbdt.features(images, names, rows), gbdt.features(val, names, val_rows)

    def val_loss(raw: np.ndarray) -> float:
        return float(np.std(relative_residuals(raw[:, 0], val_true)))

    estimator = HistGradientBoostingRegressor(loss="squared_error", **gbdt.estimator_settings(cfg))
    fitted = gbdt.boost(estimator, X, true, 1.0 / true**2, X_val, val_loss, cfg)
    model = {**fitted, "observables": names, "target": cfg["target"], "classes": cfg.get("classes")}
    r, r_val = (relative_residuals(gbdt.raw_predict(model, x)[:, 0], t) for x, t in ((X, true), (X_val, val_true)))
    model["train"] = {
        "resolution": float(np.std(r)), "val_resolution": float(np.std(r_val)), "relative_mse": float(np.mean(r**2)),
        "val_relative_mse": float(np.mean(r_val**2)), "n_trees": fitted["n_iter"],
    }  # fmt: skip
    return model


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``pred``: the quantity of every event ``(N,)`` [GeV] (evaluation keeps the events of the model's classes)."""
    return {"pred": gbdt.raw_predict(model, gbdt.features(images, model["observables"]))[:, 0]}


def task_args(model: Mapping[str, Any]) -> dict[str, Any]:
    """The energy regression these trees are judged as: their target and classes."""
    return {"target": model["target"], "classes": model.get("classes")}


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return gbdt.count_leaves(model)


train_metrics = train_section
