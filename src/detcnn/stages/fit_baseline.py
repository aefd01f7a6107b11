"""The fit-baseline stage: what one does without a network, fitted on the train split -> a JSON model.

The kind (:data:`detcnn.baselines.BASELINES`) fits on the train images (observables, or images and
per-pixel truth); a kind that stops its fit early (boosted trees) watches the validation split, as a network's
training does, and never sees the test split. The model it writes (``baseline.json``) is evaluated by the
evaluate stage like a network of its task.
Every fit is an MLflow run (params: the config; metrics: the train figures of merit).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.baselines import get_baseline
from detcnn.config import fill_baseline
from detcnn.io.atomic import write_json
from detcnn.io.images import ImageFile
from detcnn.kinds import ModelKind
from detcnn.tracking import log_params_flat, mlflow_run, shared_params


def run(
    *, train: str | os.PathLike[str], val: str | os.PathLike[str], model: str | os.PathLike[str], dataset: str,
    name: str, cfg: Mapping[str, Any], efficiencies: Sequence[float], tracking_uri: str,
) -> dict[str, Any]:  # fmt: skip
    """Fit baseline ``name`` (its config section ``cfg``, ``kind`` first; its defaults filled here) on the
    ``train`` split at the signal ``efficiencies`` working points (``val``: the validation split, for the kinds
    that stop early on it); write the fitted model to ``model`` (JSON, atomically) and log the fit."""
    cfg = fill_baseline(cfg, key=f"baselines.{name}")
    kind = get_baseline(cfg["kind"], key=f"baselines.{name}.kind")
    with ImageFile(train) as f:
        images = f.load(with_images=kind.PIXELS, with_pixels=kind.PIXELS)
    with ImageFile(val) as f:
        val_images = f.load(with_images=kind.PIXELS, with_pixels=kind.PIXELS)
    fitted = kind.fit(images, cfg, list(efficiencies), val_images)
    fitted.update(name=name, dataset=dataset, kind=kind.NAME, task=kind.TASK, n_train=len(images.y))
    train_metrics = {f"train/{k}": v for k, v in kind.train_metrics(fitted).items()}
    tags = {"stage": "train", "model": name, "kind": ModelKind.BASELINE.value, "task": kind.TASK}
    with mlflow_run(tracking_uri, dataset, f"train/{name}", tags=tags) as (tracker, run):
        shared = shared_params(ModelKind.BASELINE, kind.NAME, kind.TASK, kind.fitted_numbers(fitted), len(images.y))
        tracker.log_params({"model": name, **shared})
        settings = {k: v for k, v in cfg.items() if k not in ("datasets", "kind")}
        log_params_flat(tracker, settings, prefix=ModelKind.BASELINE.value)
        tracker.log_image_file(train, dataset, "train", len(images.y), images.attrs.get("config_hash"))
        tracker.log_metrics({k: v for k, v in train_metrics.items() if np.isfinite(v)})
        fitted["mlflow_run_id"] = run.info.run_id
        write_json(model, fitted)
        tracker.log_artifact(str(model))
    return fitted
