"""What the boosted-decision-tree baselines share (:mod:`~detcnn.baselines.gbdt_classifier`,
:mod:`~detcnn.baselines.gbdt_regressor`): the multivariate classical combination of the observables, as TMVA's
BDTs have done in HEP analyses since 2005, with scikit-learn's histogram gradient boosting.

- Fitted on the train split, EARLY-STOPPED ON THE VALIDATION SPLIT: trees are added ``patience`` iterations
  at a time (scikit-learn's own early stopping, which would hold out part of train, is off), the validation
  figure of merit is computed after every iteration, and boosting stops once the best iteration is
  ``patience`` iterations behind; the model keeps the trees up to the best iteration. The test split is never
  seen.
- Saved as JSON: every tree's nodes (feature index, threshold, where missing values go, children, leaf flag,
  value; learning rate already applied to the values, as scikit-learn stores them) and the baseline (the
  prediction before the first tree), evaluated by :func:`raw_predict`, a numpy tree walk over all events at
  once (a loop over trees and depth, never over events). The validation curve is computed by the same walk.

scikit-learn attributes read (private, checked by tests/test_gbdt.py against ``predict_proba``/``predict``):
``_predictors`` (per iteration, per tree of the iteration, a ``TreePredictor`` whose ``nodes`` structured array
has the fields ``feature_idx``, ``num_threshold``, ``missing_go_to_left``, ``left``, ``right``, ``is_leaf``,
``value``, ``is_categorical``) and ``_baseline_prediction`` (``(1, trees per iteration)`` since 1.4), as in
scikit-learn 1.4 to 1.9.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.baselines.common import require_observables
from detcnn.errors import ConfigError
from detcnn.io.images import ImageSet

_LIST = {"type": "array", "items": {"type": "string"}, "minItems": 1}
#: The keys both kinds take (JSON-schema properties with their defaults).
SCHEMA: dict[str, Any] = {
    "observables": {**_LIST, "type": ["array", "null"], "default": None,
                    "description": "The observables the trees split on (null: every observable of the image file, as "
                                   "the file lists them; the model records them)."},
    "learning_rate": {"type": "number", "exclusiveMinimum": 0, "default": 0.1,
                      "description": "Shrinkage of every tree's values."},
    "max_iter": {"type": "integer", "minimum": 1, "default": 500,
                 "description": "Most boosting iterations (trees; one per class per iteration for more than two "
                                "classes)."},
    "max_leaf_nodes": {"type": "integer", "minimum": 2, "default": 31, "description": "Leaves per tree at most."},
    "min_samples_leaf": {"type": "integer", "minimum": 1, "default": 20,
                         "description": "Train events per leaf at least."},
    "l2_regularization": {"type": "number", "minimum": 0, "default": 0.0,
                          "description": "L2 penalty on the leaf values."},
    "patience": {"type": "integer", "minimum": 1, "default": 20,
                 "description": "Stop boosting when the validation figure of merit has not improved for this many "
                                "iterations; the model keeps the trees up to its best iteration."},
    "seed": {"type": "integer", "default": 0,
             "description": "scikit-learn's random_state (its binning subsample of more than 200 000 train events); "
                            "the same config gives the same trees."},
}  # fmt: skip
#: The scikit-learn settings taken from the config as they are.
TREE_SETTINGS = ("learning_rate", "max_leaf_nodes", "min_samples_leaf", "l2_regularization")


def require_val(val: ImageSet | None, name: str) -> ImageSet:
    """The validation split a boosted-tree fit stops on; a ConfigError without one."""
    if val is None:
        raise ConfigError(f"baseline kind '{name}' stops early on the validation split, and none was given",
                          key="val", fix="pass the validation image file (detcnn fit-baseline --val)")  # fmt: skip
    return val


def chosen_observables(images: ImageSet, cfg: Mapping[str, Any]) -> list[str]:
    """The config's ``observables``, or every observable of the file, in its order."""
    return list(cfg.get("observables") or images.observables)


def features(images: ImageSet, names: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
    """The observables ``names`` of the events ``rows`` (all by default) as ``(N, F)`` float64; the one-line
    InputError of :func:`~detcnn.baselines.common.require_observables` for one the file lacks."""
    require_observables(images, names)
    X = np.stack([np.asarray(images.observables[n], dtype=np.float64) for n in names], axis=1)
    return X if rows is None else X[rows]


def estimator_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a scikit-learn histogram gradient-boosting estimator: the config's tree settings,
    its seed, no internal early stopping (the validation split decides), warm start (trees added in steps)."""
    return {**{k: cfg[k] for k in TREE_SETTINGS}, "random_state": int(cfg["seed"]), "early_stopping": False,
            "warm_start": True, "max_iter": 1}  # fmt: skip


def boost(
    estimator: Any, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, X_val: np.ndarray,
    val_loss: Callable[[np.ndarray], float], cfg: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """Fit ``estimator`` on train (``X`` ``(N, F)``, ``y``, ``weight``), ``cfg['patience']`` iterations at a time
    up to ``cfg['max_iter']``, with ``val_loss(raw)`` (lower is better) of the raw predictions ``(N_val, K)`` of
    ``X_val`` after every iteration. Returns the serialised model of the best iteration: ``baseline``
    ``(K,)``, ``trees`` (per iteration, per tree), ``val_curve`` (the loss after every fitted iteration) and
    ``n_iter`` (the best iteration, 1-based)."""
    trees: list[list[dict[str, list[Any]]]] = []
    curve: list[float] = []
    raw_val: np.ndarray | None = None
    max_iter, patience = int(cfg["max_iter"]), int(cfg["patience"])
    while len(trees) < max_iter:
        estimator.set_params(max_iter=min(len(trees) + patience, max_iter))
        estimator.fit(X, y, sample_weight=weight)
        if raw_val is None:
            baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
            raw_val = np.tile(baseline, (len(X_val), 1))
        new = [[serialise_tree(p) for p in iteration] for iteration in estimator._predictors[len(trees) :]]
        if not new:
            break  # scikit-learn added no iteration
        for iteration in new:
            raw_val += iteration_values(iteration, X_val)
            curve.append(float(val_loss(raw_val)))
        trees += new
        if len(curve) - 1 - best_iteration(curve) >= patience:
            break
    best = best_iteration(curve) + 1
    return {"baseline": baseline.tolist(), "trees": trees[:best], "val_curve": curve, "n_iter": best}


def best_iteration(curve: Sequence[float]) -> int:
    """The (0-based) iteration of the lowest finite validation loss, the first of equals (0 when none is
    finite)."""
    values = np.asarray(curve, dtype=np.float64)
    return int(np.argmin(np.where(np.isfinite(values), values, np.inf))) if len(values) else 0


def serialise_tree(predictor: Any) -> dict[str, list[Any]]:
    """One scikit-learn ``TreePredictor`` as JSON-able columns over its nodes (node 0 the root): ``feature``,
    ``threshold`` (go left when ``x <= threshold``; None for +inf, a split of the missing values from the
    rest), ``missing_left`` (NaN goes left), ``left``, ``right``, ``leaf``, ``value``."""
    nodes = predictor.nodes
    if np.any(nodes["is_categorical"]):
        raise NotImplementedError("categorical splits are not serialised (the observables are numerical)")
    threshold = nodes["num_threshold"].astype(np.float64)
    return {
        "feature": nodes["feature_idx"].astype(int).tolist(),
        "threshold": [float(t) if np.isfinite(t) else None for t in threshold],
        "missing_left": nodes["missing_go_to_left"].astype(bool).tolist(),
        "left": nodes["left"].astype(int).tolist(),
        "right": nodes["right"].astype(int).tolist(),
        "leaf": nodes["is_leaf"].astype(bool).tolist(),
        "value": nodes["value"].astype(np.float64).tolist(),
    }


def tree_values(tree: Mapping[str, Sequence[Any]], X: np.ndarray) -> np.ndarray:
    """The leaf value of every event ``(N,)`` of one serialised tree, for the features ``X`` ``(N, F)``: all
    events walk down together, one level per step, as scikit-learn's predictor does for one (NaN follows
    ``missing_left``, else ``x <= threshold`` goes left)."""
    feature = np.asarray(tree["feature"], dtype=np.intp)
    threshold = np.array([np.inf if t is None else t for t in tree["threshold"]], dtype=np.float64)
    missing_left = np.asarray(tree["missing_left"], dtype=bool)
    left, right = np.asarray(tree["left"], dtype=np.intp), np.asarray(tree["right"], dtype=np.intp)
    leaf = np.asarray(tree["leaf"], dtype=bool)
    node = np.zeros(len(X), dtype=np.intp)
    walking = np.flatnonzero(~leaf[node])
    while len(walking):
        at = node[walking]
        x = X[walking, feature[at]]
        go_left = np.where(np.isnan(x), missing_left[at], x <= threshold[at])
        node[walking] = np.where(go_left, left[at], right[at])
        walking = walking[~leaf[node[walking]]]
    return np.asarray(tree["value"], dtype=np.float64)[node]


def iteration_values(iteration: Sequence[Mapping[str, Sequence[Any]]], X: np.ndarray) -> np.ndarray:
    """The values ``(N, K)`` of one boosting iteration's K trees."""
    return np.stack([tree_values(tree, X) for tree in iteration], axis=1)


def raw_predict(model: Mapping[str, Any], X: np.ndarray) -> np.ndarray:
    """The raw prediction ``(N, K)`` of a serialised model: its baseline plus the values of all its trees
    (logits of a classifier, the quantity of a regressor), summed iteration by iteration as scikit-learn does."""
    raw = np.tile(np.asarray(model["baseline"], dtype=np.float64), (len(X), 1))
    for iteration in model["trees"]:
        raw += iteration_values(iteration, X)
    return raw


def count_leaves(model: Mapping[str, Any]) -> int:
    """The leaves of all trees: the numbers the fit set (one value each)."""
    return sum(sum(tree["leaf"]) for iteration in model["trees"] for tree in iteration)
