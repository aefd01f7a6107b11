"""Baselines: what a physicist does without a network, fitted on the train split and evaluated exactly like
a network of the same task. One module per kind, each with the same names, and :data:`BASELINES`, the one
table:

- ``NAME``; ``TASK``: the task whose predictions it makes (a key of :data:`detcnn.tasks.TASKS`);
  ``CLASSES``: a :class:`~detcnn.kinds.ClassCount` (``BINARY``: datasets of two classes only, ``MULTICLASS``:
  of more) or None (any);
  ``PIXELS``: whether it reads the images and per-pixel truth (else the observables and event truth);
  ``FAMILY``: a :class:`~detcnn.kinds.BaselineFamily` (single observable, cuts, calibration, multivariate):
  the report sets the best network against the best baseline of each family;
  ``SCHEMA``: its config keys besides ``kind`` and ``datasets`` (JSON-schema properties with defaults and
  descriptions, composed into the config schema by :func:`detcnn.config.schema`), and optionally
  ``REQUIRED``, those it cannot do without;
- ``fit(images, cfg, working_points, val=None)``: the JSON-able model from the train split (``images`` an
  :class:`~detcnn.io.images.ImageSet`, ``cfg`` the baseline's filled config section; ``val``, the validation
  split, loaded alike, for kinds that stop early on it; never the test split);
- ``predict(model, images)``: the named prediction arrays of its task for every event of a split;
- ``task_args(model)``: the task settings its predictions are judged by (target, classes);
- ``fitted_numbers(model)``: how many numbers it fitted (its "parameters" in the tables);
- ``train_metrics(model)``: its figures of merit on the train split.

The algorithms sit in the kind's module, or in a shared one when two kinds share them
(:mod:`~detcnn.baselines.cuts`, :mod:`~detcnn.baselines.calibration`, :mod:`~detcnn.baselines.gbdt`).
Importing this package does not import torch (nor scikit-learn: the boosted trees import it when they fit).
"""

from __future__ import annotations

from types import ModuleType

from detcnn.baselines import (
    calorimetric,
    gbdt_classifier,
    gbdt_regressor,
    local_maxima,
    pixel_calibration,
    pixel_cuts,
    rectangular_cuts,
    sequential_cuts,
    single_cut,
)
from detcnn.errors import ConfigError

BASELINES: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        single_cut,
        rectangular_cuts,
        sequential_cuts,
        pixel_cuts,
        calorimetric,
        pixel_calibration,
        local_maxima,
        gbdt_classifier,
        gbdt_regressor,
    )
}


def get_baseline(kind: str, key: str = "kind") -> ModuleType:
    """The baseline kind ``kind``; a ConfigError listing the kinds for an unknown one."""
    if kind not in BASELINES:
        raise ConfigError(f"unknown baseline kind '{kind}'; valid: {sorted(BASELINES)}", key=key)
    return BASELINES[kind]
