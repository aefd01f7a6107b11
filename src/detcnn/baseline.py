"""The baseline stage: fit what one does without a network on the train split -> ``cuts.json``.

Every baseline kind belongs to a task and is a pair of functions in the :data:`BASELINES` table: ``fit`` on
the train split and ``predict`` on any split, giving the same kind of prediction as a network of that task
(see :mod:`detcnn.evaluate`), so the evaluate stage scores both with the same code:

- ``single_cut``, ``rectangular_cuts`` (binary classification: jets): cuts on observables;
- ``sequential_cuts`` (multiclass: the signal class against the rest): an ordered list of one-sided cuts;
- ``pixel_cuts`` (segmentation): track/shower from local charge density, occupancy and elongation;
- ``calorimetric`` (energy regression): summed charge times a calibration;
- ``pixel_calibration`` (pixel regression): pixel charge times a calibration.

Each fit is an MLflow run (params: the config; metrics: the train figures of merit).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.baselines.calorimetric import apply_calibration, fit_calibration
from detcnn.baselines.cuts import fit_baseline, score_baseline
from detcnn.baselines.pixel_cuts import fit_pixel_cuts, predict_pixel_cuts
from detcnn.baselines.sequential import apply_sequential_cuts, fit_sequential_cuts, score_sequential_cuts
from detcnn.errors import InputError
from detcnn.io.atomic import write_json
from detcnn.io.images import ImageSet, read_images
from detcnn.tracking import log_params_flat, mlflow_run

Prediction = dict[str, np.ndarray]


def charge_images(images: ImageSet) -> np.ndarray:
    """The charge channel of every view, ``(N, V, H, W)`` [ke-], from detector images ``(N, V * C, H, W)``."""
    views = list(images.attrs.get("views") or [])
    if not views:
        raise InputError("not a detector image file (no 'views' attribute)", path=images.attrs.get("dataset"),
                         fix="pixel baselines need detector images")  # fmt: skip
    per_view = len(images.channels) // len(views)
    return images.X[:, ::per_view]


def event_rows(images: ImageSet, cfg: Mapping[str, Any]) -> np.ndarray:
    """Events of the classes listed under ``classes`` (all when absent), as a boolean mask."""
    names = list(images.class_names)
    classes = cfg.get("classes")
    if not classes:
        return np.ones(len(images.y), dtype=bool)
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise ValueError(f"classes {unknown} are not classes of this dataset; valid: {names}")
    return np.isin(images.y, [names.index(c) for c in classes])


def _truth(images: ImageSet, cfg: Mapping[str, Any]) -> np.ndarray:
    target = cfg.get("target", "nu_energy")
    if target not in images.truth:
        raise InputError(f"no truth '{target}' in the image file (has {sorted(images.truth)})",
                         fix="choose a target among the dataset's truth branches")  # fmt: skip
    return images.truth[target]


def _signal(images: ImageSet) -> int:
    return int(images.attrs.get("signal_class", 0))


def _fit_cuts(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    return fit_baseline(dict(cfg), images.observables, images.y, working_points)


def _fit_sequential(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    cuts = cfg.get("cuts") or [{"observable": o, "direction": "auto"} for o in cfg["observables"]]
    return fit_sequential_cuts(images.observables, images.y, cuts, signal_class=_signal(images),
                               fom=cfg.get("fom", "eff_x_purity"))  # fmt: skip


def _predict_sequential(model: Mapping[str, Any], images: ImageSet) -> Prediction:
    obs = images.observables
    return {"score": score_sequential_cuts(model, obs), "selected": apply_sequential_cuts(model, obs)}


def _fit_pixel_cuts(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    return fit_pixel_cuts(charge_images(images), images.y_pix, window=int(cfg.get("window", 5)))


def _fit_calorimetric(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    rows = event_rows(images, cfg)
    model = fit_calibration(images.observables["total_charge"][rows], _truth(images, cfg)[rows])
    return {**model, "target": cfg.get("target", "nu_energy"), "classes": cfg.get("classes")}


def _predict_calorimetric(model: Mapping[str, Any], images: ImageSet) -> Prediction:
    return {"pred": apply_calibration(model, images.observables["total_charge"])}


def _fit_pixel_calibration(images: ImageSet, cfg: Mapping[str, Any], working_points: list[float]) -> dict[str, Any]:
    charge, energy = charge_images(images), images.e_pix
    both = (charge > 0) & (energy > 0)
    return fit_calibration(charge[both].astype(np.float64), energy[both].astype(np.float64))


def _predict_pixel_calibration(model: Mapping[str, Any], images: ImageSet) -> Prediction:
    charge = charge_images(images)
    return {"pred": np.where(charge > 0, apply_calibration(model, charge), 0.0).astype(np.float32)}


@dataclass(frozen=True)
class BaselineKind:
    """A baseline: its task, what it reads (``pixels``: images and per-pixel truth), ``fit`` and ``predict``."""

    task: str
    fit: Callable[[ImageSet, Mapping[str, Any], list[float]], dict[str, Any]]
    predict: Callable[[Mapping[str, Any], ImageSet], Prediction]
    pixels: bool = False


BASELINES: dict[str, BaselineKind] = {
    "single_cut": BaselineKind("classification", _fit_cuts, lambda m, s: {"score": score_baseline(m, s.observables)}),
    "rectangular_cuts": BaselineKind(
        "classification", _fit_cuts, lambda m, s: {"score": score_baseline(m, s.observables)}
    ),
    "sequential_cuts": BaselineKind("classification", _fit_sequential, _predict_sequential),
    "pixel_cuts": BaselineKind("segmentation", _fit_pixel_cuts,
                               lambda m, s: {"pred": predict_pixel_cuts(m, charge_images(s))}, pixels=True),
    "calorimetric": BaselineKind("energy_regression", _fit_calorimetric, _predict_calorimetric),
    "pixel_calibration": BaselineKind(
        "pixel_regression", _fit_pixel_calibration, _predict_pixel_calibration, pixels=True
    ),
}  # fmt: skip


def baseline_kind(cfg: Mapping[str, Any]) -> BaselineKind:
    kind = cfg.get("kind")
    if kind not in BASELINES:
        raise KeyError(f"unknown baseline kind '{kind}'; valid: {sorted(BASELINES)}")
    return BASELINES[kind]


def fit_cut_baseline(
    train_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    dataset: str,
    name: str,
    cfg: dict[str, Any],
    working_points: list[float],
    tracking_uri: str,
) -> dict[str, Any]:
    """Fit baseline ``name`` (config ``cfg``) on ``train_path``; write ``out_dir/cuts.json``."""
    kind = baseline_kind(cfg)
    train = read_images(train_path, with_images=kind.pixels, with_pixels=kind.pixels)
    model = kind.fit(train, cfg, list(working_points))
    model.update(name=name, dataset=dataset, kind=cfg["kind"], task=kind.task, n_train=len(train.y))
    train_metrics: dict[str, float] = {}
    if cfg["kind"] in ("single_cut", "rectangular_cuts"):
        from detcnn.evaluation.metrics import auc

        train_metrics["train/auc"] = model["train_auc"] = auc(train.y, score_baseline(model, train.observables))
    elif "train" in model and isinstance(model["train"], dict):
        train_metrics = {f"train/{k}": float(v) for k, v in model["train"].items() if isinstance(v, int | float)}
    tags = {"stage": "train", "model": name, "kind": "cuts", "task": kind.task}
    with mlflow_run(tracking_uri, dataset, f"train/{name}", tags=tags) as (mlflow, run):
        log_params_flat(mlflow, {"model": name, "task": kind.task, **{k: v for k, v in cfg.items() if k != "datasets"}})
        mlflow.log_metrics({k: v for k, v in train_metrics.items() if np.isfinite(v)})
        model["mlflow_run_id"] = run.info.run_id
        out = Path(out_dir) / "cuts.json"
        write_json(out, model)
        mlflow.log_artifact(str(out))
    return model
