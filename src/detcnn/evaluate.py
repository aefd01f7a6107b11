"""The evaluate stage: a trained network or a fitted baseline -> test-split predictions, metrics and a plot.

Networks and baselines of a task give the same kind of prediction and go through the same code after
that, into ``results/eval/{dataset}/{model}/``:

- ``scores.npz``: ``y`` (event classes of the evaluated events, file order), ``rows`` (their indices in the
  test file) and the prediction: ``score`` (P(signal), or the baseline's score) with ``proba`` ``(N, K)``
  and ``selected`` for classification; ``pred`` ``(N, V, H, W)`` for the pixel tasks; ``pred`` and ``true``
  ``(N,)`` [GeV] for energy regression;
- ``metrics.json``: the task's metrics with bootstrap errors (:mod:`detcnn.evaluation.task_metrics`), the
  task, parameters and, for networks, inference images/s and training s/epoch;
- ``plot.png``: ROC curve, pixel confusion matrix or residual distribution.

Every evaluation is an MLflow run with the same metric names for every model of a task.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.metrics import bootstrap_indices
from detcnn.evaluation.task_metrics import TASK_METRICS
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageSet, read_images
from detcnn.report.task_plots import TASK_PLOTS
from detcnn.tracking import mlflow_run

Prediction = dict[str, np.ndarray]


def _selected_rows(test: ImageSet, classes: Sequence[int] | None) -> np.ndarray:
    return np.arange(len(test.y)) if classes is None else np.flatnonzero(np.isin(test.y, classes))


def score_network(
    model_path: str | os.PathLike[str], test: ImageSet, threads: int = 1
) -> tuple[str, np.ndarray, Prediction, dict]:
    """``(task, rows, prediction, info)`` of ``weights.pt`` on the test split; ``info`` has the cost:
    inference images/s on this machine (after a warm-up batch) and the mean training seconds per epoch."""
    from detcnn.train import load_network
    from detcnn.training.data import TensorSource, predict
    from detcnn.training.device import configure_threads, resolve_device
    from detcnn.training.tasks import make_task

    configure_threads(threads)
    device = resolve_device("auto")
    model, payload = load_network(model_path, device)
    task = make_task(payload.get("task", "classification"), test.attrs, payload.get("task_args"))
    rows = _selected_rows(test, task.classes)
    X = test.X[rows]
    source = TensorSource(X, np.zeros(len(X)))
    predict(model, TensorSource(X[:256], np.zeros(min(256, len(X)))), device, transform=task.predict)  # warm-up
    t0 = time.perf_counter()
    out = predict(model, source, device, transform=task.predict)
    seconds = time.perf_counter() - t0
    info = {
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "inference_images_per_s": len(source) / seconds,
        "inference_device": str(device),
        "arch": payload["arch"],
        "truth_target": task.target.removeprefix("truth/"),
    }
    history = Path(model_path).with_name("history.csv")
    if history.is_file():
        with history.open() as fh:
            epochs = [float(row["seconds"]) for row in csv.DictReader(fh)]
        info["train_seconds_per_epoch"] = sum(epochs) / len(epochs)
    if task.name == "classification":
        signal = int(test.attrs.get("signal_class", 1 if out.shape[1] == 2 else 0))
        prediction = {"score": out[:, signal], "proba": out, "selected": out.argmax(axis=1) == signal}
    else:
        prediction = {"pred": out}
    return task.name, rows, prediction, info


def score_cuts(
    model_path: str | os.PathLike[str], test: ImageSet, threads: int = 1
) -> tuple[str, np.ndarray, Prediction, dict]:
    """``(task, rows, prediction, info)`` of a fitted baseline (``cuts.json``)."""
    from detcnn.baseline import baseline_kind, event_rows

    model = json.loads(Path(model_path).read_text())
    kind = baseline_kind(model)
    rows = np.arange(len(test.y))
    if kind.task == "energy_regression":
        rows = np.flatnonzero(event_rows(test, model))
    prediction = kind.predict(model, test)
    if kind.task == "energy_regression":
        prediction = {"pred": prediction["pred"][rows]}
    info = {"n_parameters": fitted_numbers(model), "arch": model["kind"], "truth_target": model.get("target")}
    return kind.task, rows, prediction, info


def fitted_numbers(model: dict[str, Any]) -> int:
    """How many numbers a baseline fitted on train (its 'parameters' in the tables): thresholds that are
    set, working-point boxes, calibration constants."""
    if "boxes" in model:
        return len(model["observables"]) * len(model["boxes"])
    if "slope" in model:
        return 2
    thresholds = list(model.get("thresholds") or [])
    for part in ("box", "noise"):
        section = model.get(part) or {}
        thresholds += list(section.get("thresholds") or [])
        thresholds += [v for k, v in section.items() if k.startswith("min_")]
    n = sum(t is not None for t in thresholds)
    return n or len(model.get("observables", [])) or 1


SCORERS: dict[str, Callable[..., tuple[str, np.ndarray, Prediction, dict]]] = {
    "network": score_network,
    "cuts": score_cuts,
}


def task_truth(task: str, test: ImageSet, rows: np.ndarray, target: str | None) -> np.ndarray:
    """What the task's predictions are compared with, for the evaluated ``rows``; ``target`` names the
    event truth of an energy regression (from the model, so the weights are not read twice)."""
    if task == "classification":
        return test.y[rows]
    if task in ("segmentation", "pixel_regression"):
        truth = test.y_pix if task == "segmentation" else test.e_pix
        if truth is None:
            raise ValueError(f"task '{task}' needs per-pixel truth, which this test file lacks")
        return truth[rows]
    target = target or "nu_energy"
    if target not in test.truth:
        raise ValueError(f"no truth '{target}' in the test file (has {sorted(test.truth)})")
    return test.truth[target][rows]


def evaluate_model(
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    kind: str,
    dataset: str,
    model_name: str,
    efficiencies: Sequence[float],
    n_bootstrap: int,
    seed: int,
    tracking_uri: str,
    threads: int = 1,
    purities: Sequence[float] = (0.8, 0.9),
) -> dict[str, Any]:
    """Score the test split with a network (``kind='network'``) or a baseline (``kind='cuts'``); see module doc."""
    if kind not in SCORERS:
        raise KeyError(f"unknown model kind '{kind}'; valid: {sorted(SCORERS)}")
    out_dir = Path(out_dir)
    test = read_images(test_path, with_images=True, with_pixels=True)
    task, rows, prediction, info = SCORERS[kind](model_path, test, threads)
    for name, values in prediction.items():
        if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
            raise FloatingPointError(f"model '{model_name}' gave non-finite '{name}' on {test_path}")
    truth = task_truth(task, test, rows, info.pop("truth_target", None))
    indices = bootstrap_indices(len(rows), n_bootstrap, seed)
    settings = {"efficiencies": list(efficiencies), "purities": list(purities)}
    metrics = TASK_METRICS[task](truth, prediction, test.attrs, settings, indices)
    summary = {"dataset": dataset, "model": model_name, "kind": kind, "task": task, "n_test": len(rows), **info,
               "metrics": metrics}  # fmt: skip
    arrays = {"y": test.y[rows], "rows": rows, **prediction}
    if task == "energy_regression":
        arrays["true"] = truth
    with atomic_path(out_dir / "scores.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    write_json(out_dir / "metrics.json", summary)
    TASK_PLOTS[task](out_dir / "plot.png", model_name, kind, truth, prediction, test.attrs)
    tags = {"stage": "evaluate", "model": model_name, "kind": kind, "task": task}
    with mlflow_run(tracking_uri, dataset, f"eval/{model_name}", tags=tags) as (mlflow, _run):
        mlflow.log_params({"model": model_name, "kind": kind, "task": task, "n_test": len(rows),
                           "n_parameters": info["n_parameters"]})  # fmt: skip
        mlflow.log_metrics(_flat_metrics(metrics, info))
        for name in ("metrics.json", "plot.png"):
            mlflow.log_artifact(str(out_dir / name))
    return summary


def _flat_metrics(metrics: Mapping[str, Mapping[str, float]], info: Mapping[str, Any]) -> dict[str, float]:
    flat = {}
    for name, m in metrics.items():
        flat[name] = m["value"]
        flat[f"{name}_err"] = m["err"]
    if "inference_images_per_s" in info:
        flat["test/inference_images_per_s"] = info["inference_images_per_s"]
    return {k: float(v) for k, v in flat.items() if v is not None and np.isfinite(v)}
