"""The baseline stage: fit a cut-based classifier on the train split's observables -> ``cuts.json``.

Each fit is an MLflow run (params: kind and observables; metrics: train efficiencies of the working
points), and the fitted cuts are evaluated later by the same evaluate stage as the networks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from detcnn.baselines.cuts import fit_baseline, score_baseline
from detcnn.evaluation.metrics import auc
from detcnn.io.atomic import write_json
from detcnn.io.images import read_images
from detcnn.tracking import log_params_flat, mlflow_run


def fit_cut_baseline(
    train_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    dataset: str,
    name: str,
    cfg: dict[str, Any],
    working_points: Sequence[float],
    tracking_uri: str,
) -> dict[str, Any]:
    """Fit baseline ``name`` (config ``cfg``) on ``train_path``; write ``out_dir/cuts.json``."""
    train = read_images(train_path, with_images=False)
    model = fit_baseline(cfg, train.observables, train.y, working_points)
    train_auc = auc(train.y, score_baseline(model, train.observables))
    model.update(name=name, dataset=dataset, train_auc=train_auc, n_train=len(train.y))
    with mlflow_run(tracking_uri, dataset, f"train/{name}", tags={"stage": "train", "model": name, "kind": "cuts"}) as (
        mlflow,
        run,
    ):
        log_params_flat(mlflow, {"kind": cfg["kind"], "observables": cfg["observables"], "model": name})
        mlflow.log_metrics({"train/auc": train_auc})
        model["mlflow_run_id"] = run.info.run_id
        out = Path(out_dir) / "cuts.json"
        write_json(out, model)
        mlflow.log_artifact(str(out))
    return model
