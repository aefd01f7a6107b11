"""The evaluate stage: a trained network or a fitted baseline -> test-split scores, metrics and plots.

Networks and baselines go through the same code after scoring, into ``results/eval/{dataset}/{model}/``:
``scores.npz`` (``y``, ``score``: P(signal) or the baseline's score, per test event in file order),
``metrics.json`` (value and bootstrap error of ``test/auc`` and ``test/rej_at_<eff>``) and ``roc.png``.
Every evaluation is an MLflow run with the same metric names.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.baselines.cuts import score_baseline
from detcnn.evaluation.metrics import bootstrap_indices, evaluate_with_bootstrap, metric_functions, roc
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageSet, read_images
from detcnn.report.plots import plot_roc_overlay
from detcnn.tracking import mlflow_run


def score_network(model_path: str | os.PathLike[str], test: ImageSet, threads: int = 1) -> tuple[np.ndarray, dict]:
    """P(class 1) per test image from ``weights.pt``, and cost: inference images/s on this machine (after a
    warm-up batch) and the mean training seconds per epoch (from ``history.csv`` beside the weights)."""
    from detcnn.train import load_network
    from detcnn.training.data import TensorSource, predict
    from detcnn.training.device import configure_threads, resolve_device

    configure_threads(threads)
    device = resolve_device("auto")
    model, payload = load_network(model_path, device)
    source = TensorSource(test.X, test.y)
    predict(model, TensorSource(test.X[:256], test.y[:256]), device)  # warm-up: allocations, kernel choice
    t0 = time.perf_counter()
    proba = predict(model, source, device)
    seconds = time.perf_counter() - t0
    info = {
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "inference_images_per_s": len(source) / seconds,
        "inference_device": str(device),
        "arch": payload["arch"],
    }
    history = Path(model_path).with_name("history.csv")
    if history.is_file():
        with history.open() as fh:
            epochs = [float(row["seconds"]) for row in csv.DictReader(fh)]
        info["train_seconds_per_epoch"] = sum(epochs) / len(epochs)
    return proba[:, 1], info


def score_cuts(model_path: str | os.PathLike[str], test: ImageSet, threads: int = 1) -> tuple[np.ndarray, dict]:
    """Per-event scores of a fitted cut baseline (``cuts.json``)."""
    model = json.loads(Path(model_path).read_text())
    n_cuts = len(model["observables"]) * (len(model["boxes"]) if "boxes" in model else 1)
    return score_baseline(model, test.observables), {"n_parameters": n_cuts, "arch": model["kind"]}


SCORERS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {"network": score_network, "cuts": score_cuts}


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
) -> dict[str, Any]:
    """Score the test split with a network (``kind='network'``) or a baseline (``kind='cuts'``); see module doc."""
    if kind not in SCORERS:
        raise KeyError(f"unknown model kind '{kind}'; valid: {sorted(SCORERS)}")
    out_dir = Path(out_dir)
    test = read_images(test_path, with_images=(kind == "network"))
    score, info = SCORERS[kind](model_path, test, threads)
    if not np.all(np.isfinite(score)):
        raise FloatingPointError(f"model '{model_name}' gave non-finite scores on {test_path}")
    indices = bootstrap_indices(len(test.y), n_bootstrap, seed)
    results = evaluate_with_bootstrap(test.y, score, metric_functions(efficiencies), indices)
    metrics = {f"test/{k}": v for k, v in results.items()}
    summary = {"dataset": dataset, "model": model_name, "kind": kind, "n_test": len(test.y), **info, "metrics": metrics}
    with atomic_path(out_dir / "scores.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, y=test.y, score=score)
    write_json(out_dir / "metrics.json", summary)
    eff_s, eff_b = roc(test.y, score)
    class_names = test.class_names or ["background", "signal"]
    curve = {model_name: (eff_s, eff_b, metrics["test/auc"]["value"])}
    plot_roc_overlay(
        out_dir / "roc.png", curve, class_names[1], class_names[0], dashed={model_name} if kind == "cuts" else ()
    )
    with mlflow_run(tracking_uri, dataset, f"eval/{model_name}", tags={"stage": "evaluate", "model": model_name,
                                                                      "kind": kind}) as (mlflow, _run):  # fmt: skip
        mlflow.log_params(
            {"model": model_name, "kind": kind, "n_test": len(test.y), "n_parameters": info["n_parameters"]}
        )
        flat = {}
        for name, m in metrics.items():
            flat[name] = m["value"]
            flat[f"{name}_err"] = m["err"]
        if "inference_images_per_s" in info:
            flat["test/inference_images_per_s"] = info["inference_images_per_s"]
        mlflow.log_metrics({k: v for k, v in flat.items() if np.isfinite(v)})
        for name in ("metrics.json", "roc.png"):
            mlflow.log_artifact(str(out_dir / name))
    return summary
