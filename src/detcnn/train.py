"""The train stage: image files -> a trained network in ``results/models/{dataset}/{model}/``.

Writes ``weights.pt`` (a plain dict of tensors and names: loadable with ``weights_only=True``),
``config.json`` (the resolved model and data config), ``history.csv`` and ``run.json`` (the MLflow run
id). Every training is an MLflow run with per-epoch ``train/loss``, ``val/loss``, ``val/auc``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import read_attrs
from detcnn.models import create_model
from detcnn.tracking import log_params_flat, mlflow_run
from detcnn.training.data import H5Source, InputScaling, ScaledModel, open_source
from detcnn.training.device import configure_threads, resolve_device, seed_everything
from detcnn.training.loop import TASKS, TrainSettings, fit

log = logging.getLogger(__name__)


def build_model(
    arch: str, args: dict[str, Any], attrs: dict[str, Any], image_size: int, scaling: InputScaling | None = None
) -> tuple[ScaledModel, dict[str, Any]]:
    """The network named ``arch`` sized for ``image_size`` images described by ``attrs``, behind input scaling."""
    channels = len(attrs["channels"])
    full = {"in_channels": channels, "num_classes": len(attrs["class_names"]), "image_size": int(image_size), **args}
    net = create_model(arch, **full)
    return ScaledModel(scaling or InputScaling.identity(channels), net), full


def _image_size(path: str | os.PathLike[str]) -> int:
    import h5py

    with h5py.File(path, "r") as f:
        return int(f["X"].shape[-1])


def history_csv(rows: list[dict[str, float]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def train_network(
    train_path: str | os.PathLike[str],
    val_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    dataset: str,
    model_name: str,
    model_cfg: dict[str, Any],
    seed: int,
    threads: int,
    tracking_uri: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Train the model ``model_cfg = {arch, args, train}`` on a dataset's train split; see module doc."""
    out_dir = Path(out_dir)
    arch, args, train_cfg = model_cfg["arch"], dict(model_cfg.get("args", {})), dict(model_cfg.get("train", {}))
    settings = TrainSettings.from_config(train_cfg)
    task = TASKS["classification"]()
    configure_threads(threads)
    device = resolve_device(train_cfg.get("device", "auto"))
    generator = seed_everything(int(train_cfg.get("seed", seed)))
    log.info("training '%s' (%s) on %s with %d CPU threads", model_name, arch, device, threads)

    attrs = read_attrs(train_path)
    train_src = open_source(train_path, settings.max_memory_gb)
    val_src = open_source(val_path, settings.max_memory_gb)
    for src, path in ((train_src, train_path), (val_src, val_path)):
        if len(src) == 0:
            raise InputError("the split holds no events", path=path, fix="generate more events or change the split")
    model, full_args = build_model(arch, args, attrs, _image_size(train_path), train_src.scaling())
    n_params = sum(p.numel() for p in model.parameters())
    resolved = {
        "dataset": dataset,
        "model": model_name,
        "arch": arch,
        "args": full_args,
        "train": {**settings.__dict__, "device": str(device), "seed": int(train_cfg.get("seed", seed))},
        "data": {k: attrs.get(k) for k in ("channels", "extent", "class_names", "config_hash")},
        "n_train": len(train_src),
        "n_val": len(val_src),
        "streamed": isinstance(train_src, H5Source),
        "n_parameters": n_params,
    }
    with mlflow_run(tracking_uri, dataset, f"train/{model_name}", tags={"stage": "train", "model": model_name}) as (
        mlflow,
        run,
    ):
        log_params_flat(mlflow, {"arch": arch, "args": full_args, "train": resolved["train"]})
        mlflow.log_params({"n_parameters": n_params, "n_train": len(train_src), "model": model_name})

        def on_epoch(row: dict[str, float]) -> None:
            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))

        t0 = time.perf_counter()
        model, history = fit(model, train_src, val_src, task, settings, device, generator, on_epoch, progress)
        seconds = time.perf_counter() - t0
        mlflow.log_metrics({"best_epoch": history.best_epoch, "best/val_loss": history.best_val_loss})
        resolved.update(best_epoch=history.best_epoch, train_seconds=seconds, mlflow_run_id=run.info.run_id)
        payload = {
            "arch": arch,
            "args": full_args,
            "class_names": list(attrs.get("class_names", [])),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        }
        with atomic_path(out_dir / "weights.pt") as tmp:
            torch.save(payload, tmp)
        write_json(out_dir / "config.json", resolved)
        with atomic_path(out_dir / "history.csv") as tmp:
            tmp.write_text(history_csv(history.rows))
        for name in ("weights.pt", "config.json", "history.csv"):
            mlflow.log_artifact(str(out_dir / name))
        write_json(out_dir / "run.json", {"mlflow_run_id": run.info.run_id, "tracking_uri": tracking_uri})
    return resolved


def load_network(path: str | os.PathLike[str], device: torch.device | None = None) -> tuple[torch.nn.Module, dict]:
    """Load ``weights.pt`` safely (``weights_only=True``) and rebuild the network in eval mode."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    channels = payload["args"]["in_channels"]
    net = create_model(payload["arch"], **payload["args"])
    model = ScaledModel(InputScaling.identity(channels), net)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    if device is not None:
        model.to(device)
    return model, payload
