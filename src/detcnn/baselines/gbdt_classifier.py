"""Baseline kind ``gbdt_classifier``: boosted decision trees on the observables (scikit-learn's
``HistGradientBoostingClassifier``, log loss), two classes or more, early-stopped on the validation log loss
(:mod:`detcnn.baselines.gbdt`). Its prediction is a classifier's: the class probabilities ``(N, K)``, P(signal)
as the score and the arg-max selection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.baselines import gbdt
from detcnn.baselines.common import no_task_args, train_section
from detcnn.evaluation.metrics import auc
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily
from detcnn.tasks.classification import prediction, signal_class

NAME = "gbdt_classifier"
TASK = "classification"
CLASSES = None
PIXELS = False
FAMILY = BaselineFamily.MULTIVARIATE
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties with their defaults).
SCHEMA: dict[str, Any] = dict(gbdt.SCHEMA)
#: The smallest probability of the log loss (scikit-learn's ``log_loss`` clips alike).
EPS = 1e-15


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    """Trees on the train split's observables, as many as minimise the log loss on ``val``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    val = gbdt.require_val(val, NAME)
    names = gbdt.chosen_observables(images, cfg)
    classes = np.unique(images.y).astype(int)
    n_classes = max(len(images.class_names), int(images.y.max(initial=0)) + 1, 2)

    def val_loss(raw: np.ndarray) -> float:
        return log_loss(val.y, _proba(raw, classes, n_classes))

    estimator = HistGradientBoostingClassifier(loss="log_loss", **gbdt.estimator_settings(cfg))
    X, X_val = gbdt.features(images, names), gbdt.features(val, names)
    fitted = gbdt.boost(estimator, X, images.y, None, X_val, val_loss, cfg)
    model = {**fitted, "observables": names, "classes": classes.tolist(), "n_classes": n_classes}
    proba = _proba(gbdt.raw_predict(model, X), classes, n_classes)
    signal = signal_class(images.attrs)
    model["train"] = {
        "log_loss": log_loss(images.y, proba), "val_log_loss": fitted["val_curve"][fitted["n_iter"] - 1],
        "n_trees": fitted["n_iter"], "auc": auc(images.y == signal, proba[:, signal]),
    }  # fmt: skip
    return model


def _proba(raw: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities ``(N, n_classes)`` from the raw scores ``(N, 1)`` (two train classes: the logit of the
    second) or ``(N, len(classes))`` (softmax); a class absent from train gets probability 0."""
    if raw.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
        per_class = np.stack([1.0 - p, p], axis=1)
    else:
        shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
        per_class = shifted / shifted.sum(axis=1, keepdims=True)
    proba = np.zeros((len(raw), n_classes))
    proba[:, classes] = per_class
    return proba


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean ``-ln P(true class)`` over events (probabilities clipped to [1e-15, 1])."""
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], EPS, 1.0))))


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score`` P(signal) ``(N,)``, ``proba`` ``(N, K)``, ``selected`` (arg max is the signal) ``(N,)``."""
    raw = gbdt.raw_predict(model, gbdt.features(images, model["observables"]))
    return prediction(_proba(raw, np.asarray(model["classes"]), int(model["n_classes"])), images.attrs)


task_args = no_task_args


def fitted_numbers(model: Mapping[str, Any]) -> int:
    return gbdt.count_leaves(model)


train_metrics = train_section
