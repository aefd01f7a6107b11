"""The evaluate stage: a trained network or a fitted baseline -> test-split predictions, metrics and a plot.

The model first scores the validation split, where the task sets its working points (the thresholds of
``working_points``: a signal efficiency, a purity), then the test split, where those fixed thresholds are
judged: no working point is tuned on the test events.

Networks and baselines of a task give the same kind of prediction (named arrays, :mod:`detcnn.tasks`) and go
through the same code after that:

- ``scores`` (``scores.npz``): ``y`` (event classes of the evaluated events, file order), ``rows`` (their
  indices in the test file), ``true`` (the truth, where it is one value per event) and the prediction:
  ``score`` (P(signal), or the baseline's score) with ``proba`` ``(N, K)`` and ``selected`` for
  classification; ``pred`` ``(N, V, H, W)`` for the pixel tasks, ``(N,)`` [GeV] for energy regression; for a
  task with working points also ``val_y``, ``val_score`` and (where the model has it) ``val_selected``, the
  validation events' classes and scores, from which the report sets one model's working point at another's
  purity;
- ``metrics`` (``metrics.json``): the task's metrics (``test/<name>``) with bootstrap errors, the task,
  parameters, the working points' thresholds (``working_points``; null: no cut reaches it), a baseline's
  ``family`` and, for networks, inference images/s and training s/epoch (from ``history``); with ``bins``
  also ``binned``: the task's study metrics (``STUDY_METRICS``) in bins of per-event variables of the test
  file (:mod:`detcnn.evaluation.binned`: the validation working points applied as they are, bootstrap errors
  per bin); for a systematic variation ``variation`` (its name) and, given its nominal twin (a test-only sample
  of the nominal settings with the variation's size and seeds, scored by the same model), ``nominal_test``
  (``{n_test, metrics}``: the twin's own test metrics with bootstrap errors) and ``shift`` (``{metric: {value,
  err, significance, n_bootstrap, n_nonfinite, paired, n_variation, n_nominal}}``: variation - twin with a
  paired bootstrap error, :mod:`detcnn.evaluation.paired_shift`);
- ``plot`` (``plot.png``): the task's figure of one model (ROC curve, pixel confusion, residuals).

Every evaluation is an MLflow run (``eval/<model>``, a variation's ``eval/<model>/<variation>`` tagged
``variation``) with the same metric names for every model of a task (a variation's also
``test/<metric>_shift`` and ``_shift_err``). Its test metrics are copied onto the training run's row as
``test/<metric>``, a variation's as ``test/<variation>/<metric>`` (``_err``, ``_shift``, ``_shift_err``), so a
variation never overwrites the nominal numbers there.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.baselines import get_baseline
from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.binned import binned_metrics, check_edges
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.evaluation.paired_shift import Evaluated, Shift, paired_shifts
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageFile, ImageSet
from detcnn.kinds import ModelKind
from detcnn.tasks import TASKS, get_task
from detcnn.tasks.common import Target, no_working_points
from detcnn.tracking import copy_metrics, mlflow_run

Paths = str | os.PathLike[str]


def _rows(images: ImageSet, classes: Sequence[int] | None) -> np.ndarray:
    return np.arange(len(images.y)) if classes is None else np.flatnonzero(np.isin(images.y, classes))


PredictRows = Callable[[ImageSet, np.ndarray], dict[str, np.ndarray]]  # (images, rows) -> prediction on the rows


@dataclass
class Scorer:
    """A loaded model: its task, what it is judged against, ``predict_rows`` (the prediction on given rows of any
    images, whatever their class: the predict stage's) and ``info`` (parameters, arch, family)."""

    task: Any
    judged: Target
    predict_rows: PredictRows
    info: dict[str, Any]

    def predict(self, images: ImageSet) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The evaluated rows of a split (the events of the task's classes) and the prediction on them."""
        rows = _rows(images, self.judged.classes)
        return rows, self.predict_rows(images, rows)


def _network(model_path: Paths, attrs: Mapping[str, Any], threads: int, history: Paths | None) -> Scorer:
    """The scorer of ``weights.pt``; ``info`` has the training cost, s/epoch from ``history``."""
    from detcnn.training.data import TensorSource, predict
    from detcnn.training.device import configure_threads, resolve_device
    from detcnn.training.network import load_network

    configure_threads(threads)
    device = resolve_device("auto")
    model, payload = load_network(model_path, device)
    task = get_task(payload.get("task"))
    task_args = payload.get("task_args") or {}
    judged = task.target(attrs, task_args)
    plugin = task.plugin(attrs, task_args)

    def on_rows(images: ImageSet, rows: np.ndarray) -> dict[str, np.ndarray]:
        out = predict(model, TensorSource(images.X[rows], np.zeros(len(rows))), device, transform=plugin.predict)
        return task.prediction(out, images.attrs)

    info = {"n_parameters": sum(p.numel() for p in model.parameters()), "inference_device": str(device),
            "arch": payload["arch"]}  # fmt: skip
    if history is not None:
        with open(history) as fh:
            epochs = [float(row["seconds"]) for row in csv.DictReader(fh)]
        info["train_seconds_per_epoch"] = sum(epochs) / len(epochs)
    return Scorer(task, judged, on_rows, info)


def _baseline(model_path: Paths, attrs: Mapping[str, Any], threads: int, history: Paths | None) -> Scorer:
    """The scorer of a fitted baseline (``baseline.json``): no network, so no training plug-in (and no torch)."""
    model = json.loads(Path(model_path).read_text())
    baseline = get_baseline(model.get("kind"))
    task = TASKS[baseline.TASK]
    judged = task.target(attrs, baseline.task_args(model))

    def on_rows(images: ImageSet, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[rows] for k, v in baseline.predict(model, images).items()}

    info = {"n_parameters": baseline.fitted_numbers(model), "arch": model["kind"], "family": baseline.FAMILY.value}
    return Scorer(task, judged, on_rows, info)


SCORERS = {ModelKind.NETWORK: _network, ModelKind.BASELINE: _baseline}


def _timed(scorer: Scorer, images: ImageSet, kind: ModelKind) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The test rows and prediction; for a network also ``inference_images_per_s`` in ``scorer.info`` (on this
    machine, after a warm-up batch of 256 events)."""
    if kind is ModelKind.NETWORK:
        scorer.predict(dataclasses.replace(images, X=images.X[:256], y=images.y[:256]))
    t0 = time.perf_counter()
    rows, prediction = scorer.predict(images)
    if kind is ModelKind.NETWORK:
        scorer.info["inference_images_per_s"] = len(rows) / (time.perf_counter() - t0)
    return rows, prediction


def _check_finite(task: Any, prediction: Mapping[str, np.ndarray], name: str, path: Paths) -> None:
    """A FloatingPointError naming the model, the array and the split for a NaN or inf prediction (NaN is the
    padding of the task's ``PADDED`` arrays)."""
    for array_name, values in prediction.items():
        bad = np.isinf(values) if array_name in task.PADDED else ~np.isfinite(values)
        if values.dtype.kind == "f" and np.any(bad):
            raise FloatingPointError(f"model '{name}' gave non-finite '{array_name}' on {path}")


def _working_points(
    scorer: Scorer, val: Paths, kind: ModelKind, name: str, settings: Mapping[str, Any]
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The task's thresholds set on the validation split ``val``, and the validation arrays ``scores.npz``
    keeps (``val_y``, ``val_score``, ``val_selected``); nothing, and the split not read, for a task without."""
    if scorer.task.working_points is no_working_points:
        return {}, {}
    with ImageFile(val) as f:
        images = f.load(with_images=True, with_pixels=scorer.task.PIXEL_TRUTH)
    rows, prediction = scorer.predict(images)
    _check_finite(scorer.task, prediction, name, val)
    truth = scorer.judged.truth(images.array(scorer.judged.dataset)[rows])
    thresholds = scorer.task.working_points(truth, prediction, images.attrs, settings)
    kept = {f"val_{k}": prediction[k] for k in ("score", "selected") if k in prediction}
    return thresholds, {"val_y": images.y[rows], **kept}


def run(
    *, model: Paths, kind: ModelKind, val: Paths, test: Paths, scores: Paths, metrics: Paths, plot: Paths,
    dataset: str, name: str, efficiencies: Sequence[float], purities: Sequence[float], n_bootstrap: int, seed: int,
    tracking_uri: str, threads: int = 1, history: Paths | None = None, train_run: Paths | None = None,
    bins: Sequence[Mapping[str, Any]] = (), variation: str | None = None, nominal_test: Paths | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Score the ``test`` split with a network (``kind`` NETWORK, ``model`` its ``weights.pt``, ``history``
    its training history) or a baseline (``kind`` BASELINE, ``model`` its ``baseline.json``) at the working
    points it reaches on the ``val`` split; write the three outputs of the module doc. ``efficiencies`` and
    ``purities``: the classification working points; ``n_bootstrap`` resamples drawn from ``seed`` (the same
    for every model of the dataset: paired). ``train_run``: the network's ``run.json`` (a baseline's run is in
    its ``baseline.json``): the evaluation run is logged as its child, and its test metrics are copied onto the
    training run's row. ``bins``: ``[{variable: "truth/<name>" | "observables/<name>", abs, edges}]``, the
    per-event variables (their absolute value where ``abs``) in whose bins the study metrics are computed.
    ``variation``: the name of the systematic variation ``test`` was made with (None: the nominal test split);
    ``nominal_test``: the variation's nominal twin (its ``test.h5``), scored by the same model, against which
    ``shift`` is taken with paired bootstrap errors (:mod:`detcnn.evaluation.paired_shift`)."""
    kind = ModelKind(kind)
    if nominal_test is not None and variation is None:
        raise ConfigError("a nominal twin to take shifts against needs the name of the variation",
                          key="variation")  # fmt: skip
    with ImageFile(test) as f:
        images = f.load(with_images=True, with_pixels=True)
    for spec in bins:  # a misnamed variable or bad edges fail before the model runs
        _bin_values(images, spec)
        check_edges(spec["edges"], spec["variable"])
    scorer = SCORERS[kind](model, images.attrs, threads, history)
    task, judged, info = scorer.task, scorer.judged, scorer.info
    settings: dict[str, Any] = {"efficiencies": list(efficiencies), "purities": list(purities)}
    thresholds, val_arrays = _working_points(scorer, val, kind, name, settings)
    rows, prediction = _timed(scorer, images, kind)
    _check_finite(task, prediction, name, test)
    truth = judged.truth(images.array(judged.dataset)[rows])
    indices = bootstrap_indices(len(rows), n_bootstrap, seed)
    settings.update(thresholds=thresholds, event_classes=images.y[rows])
    results = {f"test/{k}": v for k, v in task.metrics(truth, prediction, images.attrs, settings, indices).items()}
    summary = {"dataset": dataset, "model": name, "kind": kind.value, "task": task.NAME, "n_test": len(rows), **info,
               "metrics": results}  # fmt: skip
    if thresholds:
        summary["working_points"] = {k: v if np.isfinite(v) else None for k, v in thresholds.items()}
    if bins:
        summary["binned"] = [
            _binned(task, truth, prediction, images, rows, settings, spec, n_bootstrap, seed) for spec in bins
        ]
    if variation is not None:
        summary["variation"] = variation
    if nominal_test is not None:
        varied = Evaluated(truth, prediction, images.attrs, settings)
        summary["nominal_test"], summary["shift"] = _twin(scorer, nominal_test, images, varied, name, n_bootstrap, seed)
    _write_scores(scores, {"y": images.y[rows], "rows": rows, **prediction, **val_arrays}, truth)
    write_json(metrics, summary)
    task.plot(Path(plot), name, kind, truth, prediction, images.attrs)
    _log(tracking_uri, dataset, name, kind, model, train_run, test, summary, images.attrs, (metrics, plot))
    return summary


def _twin(
    scorer: Scorer, path: Paths, images: ImageSet, varied: Evaluated, name: str, n_bootstrap: int, seed: int
) -> tuple[dict[str, Any], dict[str, Shift]]:
    """The nominal twin ``path`` scored by the model: its own test metrics (``{n_test, metrics}``, bootstrap
    errors as for the test split) and the paired shifts of the variation ``varied`` against it (the thresholds
    of ``varied.settings``, set on the nominal validation split, applied to both)."""
    with ImageFile(path) as f:
        twin_images = f.load(with_images=True, with_pixels=True)
    _check_twin(images, twin_images, path)
    rows, prediction = scorer.predict(twin_images)
    _check_finite(scorer.task, prediction, name, path)
    truth = scorer.judged.truth(twin_images.array(scorer.judged.dataset)[rows])
    twin = Evaluated(truth, prediction, twin_images.attrs, {**varied.settings, "event_classes": twin_images.y[rows]})
    own = scorer.task.metrics(truth, prediction, twin.attrs, twin.settings,
                              bootstrap_indices(len(rows), n_bootstrap, seed))  # fmt: skip
    shift = paired_shifts(scorer.task.metrics, varied, twin, n_bootstrap=n_bootstrap, seed=seed)
    return {"n_test": len(rows), "metrics": {f"test/{k}": v for k, v in own.items()}}, shift


def _check_twin(images: ImageSet, twin: ImageSet, path: Paths) -> None:
    """An InputError naming the twin ``path`` where its class names or image shape are not the variation's."""
    for key in ("class_names", "pixel_class_names"):
        mine, theirs = list(images.attrs.get(key) or []), list(twin.attrs.get(key) or [])
        if mine != theirs:
            raise InputError(f"the nominal twin has {key} {theirs}, the variation {mine}", path=path,
                             fix="pass the nominal twin of the same dataset")  # fmt: skip
    if images.X.shape[1:] != twin.X.shape[1:]:
        raise InputError(f"the nominal twin's images are {twin.X.shape[1:]}, the variation's {images.X.shape[1:]}",
                         path=path, fix="rasterise the nominal twin with the dataset's image settings")  # fmt: skip


def _write_scores(path: Paths, arrays: dict[str, np.ndarray], truth: np.ndarray) -> None:
    """``scores.npz``: ``arrays`` and, where the truth is one value per event, ``true``."""
    if truth.ndim == 1:
        arrays["true"] = truth
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def _binned(
    task: Any, truth: np.ndarray, prediction: Mapping[str, np.ndarray], images: ImageSet, rows: np.ndarray,
    settings: Mapping[str, Any], spec: Mapping[str, Any], n_bootstrap: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """``{variable, abs, edges, bins}``: the task's study metrics in the bins ``spec['edges']`` of the per-event
    variable ``spec['variable']`` of the evaluated ``rows`` (absolute value where ``spec['abs']``)."""
    variable, absolute = str(spec["variable"]), bool(spec.get("abs"))
    values = _bin_values(images, spec)[rows]
    found = binned_metrics(
        task.metrics, truth, prediction, images.attrs, settings, values, spec["edges"],
        n_bootstrap=n_bootstrap, seed=seed, prefixes=task.STUDY_METRICS, variable=variable,
    )  # fmt: skip
    return {"variable": variable, "abs": absolute, "edges": [float(e) for e in spec["edges"]], "bins": found}


def _bin_values(images: ImageSet, spec: Mapping[str, Any]) -> np.ndarray:
    """The per-event variable ``spec['variable']`` (``truth/<name>`` or ``observables/<name>``) of every event of
    the file ``(N,)`` float64, its absolute value where ``spec['abs']``; an InputError listing the file's."""
    group, _, column = str(spec["variable"]).partition("/")
    groups = {"truth": images.truth, "observables": images.observables}
    if column not in groups.get(group, {}):
        have = [f"{g}/{k}" for g, table in groups.items() for k in table]
        raise InputError(f"no per-event variable '{spec['variable']}' to bin in (has {', '.join(have)})",
                         path=images.path, fix="name one of those as the variable of bins")  # fmt: skip
    values = np.asarray(groups[group][column], dtype=np.float64)
    return np.abs(values) if spec.get("abs") else values


def variation_keys(flat: Mapping[str, float], variation: str | None) -> dict[str, float]:
    """The keys under which the test metrics ``flat`` (``test/<metric>``) go onto the training run: as they are
    for the nominal test split, ``test/<variation>/<metric>`` for a variation."""
    if variation is None:
        return dict(flat)
    return {f"test/{variation}/{k.removeprefix('test/')}": v for k, v in flat.items()}


def _log(
    tracking_uri: str, dataset: str, name: str, kind: ModelKind, model: Paths, train_run: Paths | None, test: Paths,
    summary: Mapping[str, Any], attrs: Mapping[str, Any], artifacts: Sequence[Paths],
) -> None:  # fmt: skip
    """The evaluation's MLflow run, a child of the training's (a variation's named and tagged with it); its test
    metrics copied onto the training run (a variation's under :func:`variation_keys`)."""
    parent = _training_run_id(kind, model, train_run)
    task, variation = summary["task"], summary.get("variation")
    tags = {"stage": "evaluate", "model": name, "kind": kind.value, "task": task,
            **({"mlflow.parentRunId": parent} if parent else {}),
            **({"variation": variation} if variation is not None else {})}  # fmt: skip
    flat = _flat_metrics(summary["metrics"], summary)
    run_name = f"eval/{name}" if variation is None else f"eval/{name}/{variation}"
    with mlflow_run(tracking_uri, dataset, run_name, tags=tags) as (tracker, _run):
        tracker.log_params({"model": name, "kind": kind.value, "task": task, "n_test": summary["n_test"],
                           "n_parameters": summary["n_parameters"]})  # fmt: skip
        tracker.log_metrics(flat)
        tracker.log_image_file(test, dataset, "test", summary["n_test"], attrs.get("config_hash"))
        for path in artifacts:
            tracker.log_artifact(str(path))
    if parent:
        copy_metrics(tracking_uri, parent, variation_keys(flat, variation))


def _training_run_id(kind: ModelKind, model: Paths, train_run: Paths | None) -> str | None:
    """The MLflow run of the training or fit that made ``model`` (None if it was not recorded)."""
    source = Path(model) if kind is ModelKind.BASELINE else (Path(train_run) if train_run is not None else None)
    if source is None or not source.is_file():
        return None
    return json.loads(source.read_text()).get("mlflow_run_id")


def _flat_metrics(metrics: Mapping[str, Mapping[str, float]], info: Mapping[str, Any]) -> dict[str, float]:
    flat = {}
    for name, m in metrics.items():
        flat[name] = m["value"]
        flat[f"{name}_err"] = m["err"]
    if "inference_images_per_s" in info:
        flat["test/inference_images_per_s"] = info["inference_images_per_s"]
    for name, shift in (info.get("shift") or {}).items():
        flat[f"test/{name}_shift"] = shift["value"]
        flat[f"test/{name}_shift_err"] = shift["err"]
    return {k: float(v) for k, v in flat.items() if v is not None and np.isfinite(v)}
