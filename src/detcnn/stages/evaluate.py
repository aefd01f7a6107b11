"""The evaluate stage: a trained network or a fitted baseline -> test-split predictions, metrics and a plot.

Networks and baselines of a task give the same kind of prediction (named arrays, :mod:`detcnn.tasks`) and go
through the same code after that:

- ``scores`` (``scores.npz``): ``y`` (event classes of the evaluated events, file order), ``rows`` (their
  indices in the test file), ``true`` (the truth, where it is one value per event) and the prediction:
  ``score`` (P(signal), or the baseline's score) with ``proba`` ``(N, K)`` and ``selected`` for
  classification; ``pred`` ``(N, V, H, W)`` for the pixel tasks, ``(N,)`` [GeV] for energy regression;
- ``metrics`` (``metrics.json``): the task's metrics (``test/<name>``) with bootstrap errors, the task,
  parameters and, for networks, inference images/s and training s/epoch (from ``history``);
- ``plot`` (``plot.png``): the task's figure of one model (ROC curve, pixel confusion, residuals).

Every evaluation is an MLflow run with the same metric names for every model of a task.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.baselines import get_baseline
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageFile, ImageSet
from detcnn.kinds import ModelKind
from detcnn.tasks import TASKS, get_task
from detcnn.tasks.common import Target
from detcnn.tracking import copy_metrics, mlflow_run

Paths = str | os.PathLike[str]


def _rows(images: ImageSet, classes: Sequence[int] | None) -> np.ndarray:
    return np.arange(len(images.y)) if classes is None else np.flatnonzero(np.isin(images.y, classes))


Scored = tuple[Any, Target, np.ndarray, dict[str, np.ndarray], dict[str, Any]]  # task, target, rows, prediction, info


def _network(model_path: Paths, test: ImageSet, threads: int, history: Paths | None) -> Scored:
    """The task, plug-in, evaluated rows (the test events of the task), prediction and info of ``weights.pt``;
    ``info`` has the cost: inference images/s on this machine (after a warm-up batch), training s/epoch."""
    from detcnn.training.data import TensorSource, predict
    from detcnn.training.device import configure_threads, resolve_device
    from detcnn.training.network import load_network

    configure_threads(threads)
    device = resolve_device("auto")
    model, payload = load_network(model_path, device)
    task = get_task(payload.get("task"))
    task_args = payload.get("task_args") or {}
    judged = task.target(test.attrs, task_args)
    plugin = task.plugin(test.attrs, task_args)
    rows = _rows(test, judged.classes)
    X = test.X[rows]
    predict(model, TensorSource(X[:256], np.zeros(min(256, len(X)))), device, transform=plugin.predict)  # warm-up
    t0 = time.perf_counter()
    out = predict(model, TensorSource(X, np.zeros(len(X))), device, transform=plugin.predict)
    seconds = time.perf_counter() - t0
    info = {"n_parameters": sum(p.numel() for p in model.parameters()), "inference_images_per_s": len(X) / seconds,
            "inference_device": str(device), "arch": payload["arch"]}  # fmt: skip
    if history is not None:
        with open(history) as fh:
            epochs = [float(row["seconds"]) for row in csv.DictReader(fh)]
        info["train_seconds_per_epoch"] = sum(epochs) / len(epochs)
    return task, judged, rows, task.prediction(out, test.attrs), info


def _baseline(model_path: Paths, test: ImageSet, threads: int, history: Paths | None) -> Scored:
    """The task, target, evaluated rows, prediction and info of a fitted baseline (``baseline.json``): no
    network, so no training plug-in (and no torch) either."""
    model = json.loads(Path(model_path).read_text())
    baseline = get_baseline(model.get("kind"))
    task = TASKS[baseline.TASK]
    judged = task.target(test.attrs, baseline.task_args(model))
    rows = _rows(test, judged.classes)
    prediction = {k: v[rows] for k, v in baseline.predict(model, test).items()}
    return task, judged, rows, prediction, {"n_parameters": baseline.fitted_numbers(model), "arch": model["kind"]}


SCORERS = {ModelKind.NETWORK: _network, ModelKind.BASELINE: _baseline}


def run(
    *, model: Paths, kind: ModelKind, test: Paths, scores: Paths, metrics: Paths, plot: Paths, dataset: str, name: str,
    efficiencies: Sequence[float], purities: Sequence[float], n_bootstrap: int, seed: int, tracking_uri: str,
    threads: int = 1, history: Paths | None = None, train_run: Paths | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Score the ``test`` split with a network (``kind`` NETWORK, ``model`` its ``weights.pt``, ``history``
    its training history) or a baseline (``kind`` BASELINE, ``model`` its ``baseline.json``); write the three
    outputs of the module doc. ``efficiencies`` and ``purities``: the classification working points;
    ``n_bootstrap`` resamples drawn from ``seed`` (the same for every model of the dataset: paired).
    ``train_run``: the network's ``run.json`` (a baseline's run is in its ``baseline.json``): the evaluation run
    is logged as its child, and its test metrics are copied onto the training run's row."""
    kind = ModelKind(kind)
    with ImageFile(test) as f:
        images = f.load(with_images=True, with_pixels=True)
    task, judged, rows, prediction, info = SCORERS[kind](model, images, threads, history)
    for array_name, values in prediction.items():
        bad = np.isinf(values) if array_name in task.PADDED else ~np.isfinite(values)
        if values.dtype.kind == "f" and np.any(bad):
            raise FloatingPointError(f"model '{name}' gave non-finite '{array_name}' on {test}")
    truth = judged.truth(images.array(judged.dataset)[rows])
    indices = bootstrap_indices(len(rows), n_bootstrap, seed)
    settings = {"efficiencies": list(efficiencies), "purities": list(purities), "event_classes": images.y[rows]}
    results = {f"test/{k}": v for k, v in task.metrics(truth, prediction, images.attrs, settings, indices).items()}
    summary = {"dataset": dataset, "model": name, "kind": kind.value, "task": task.NAME, "n_test": len(rows), **info,
               "metrics": results}  # fmt: skip
    arrays = {"y": images.y[rows], "rows": rows, **prediction}
    if truth.ndim == 1:
        arrays["true"] = truth
    with atomic_path(scores) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    write_json(metrics, summary)
    task.plot(Path(plot), name, kind, truth, prediction, images.attrs)
    parent = _training_run_id(kind, model, train_run)
    tags = {"stage": "evaluate", "model": name, "kind": kind.value, "task": task.NAME,
            **({"mlflow.parentRunId": parent} if parent else {})}  # fmt: skip
    flat = _flat_metrics(results, info)
    with mlflow_run(tracking_uri, dataset, f"eval/{name}", tags=tags) as (tracker, _run):
        tracker.log_params({"model": name, "kind": kind.value, "task": task.NAME, "n_test": len(rows),
                           "n_parameters": info["n_parameters"]})  # fmt: skip
        tracker.log_metrics(flat)
        tracker.log_image_file(test, dataset, "test", len(rows), images.attrs.get("config_hash"))
        for path in (metrics, plot):
            tracker.log_artifact(str(path))
    if parent:
        copy_metrics(tracking_uri, parent, flat)
    return summary


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
    return {k: float(v) for k, v in flat.items() if v is not None and np.isfinite(v)}
