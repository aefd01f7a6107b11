"""The train stage: image files -> a trained network in ``results/models/{dataset}/{model}/``.

Writes ``weights.pt`` (a plain dict of tensors and names: loadable with ``weights_only=True``),
``config.json`` (the resolved model and data config), ``history.csv`` and ``run.json`` (the MLflow run
id). Every training is an MLflow run with per-epoch ``train/loss``, ``val/loss`` and the task's validation
scores (``val/auc`` for a classifier, ``val/accuracy`` and ``val/mean_iou`` for a segmenter, ...).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import read_attrs
from detcnn.models import create_model, model_task
from detcnn.models.registry import model_accepts
from detcnn.tracking import log_params_flat, mlflow_run
from detcnn.training.data import H5Source, InputScaling, OutputScaling, ScaledModel, open_source
from detcnn.training.device import configure_threads, resolve_device, seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.tasks import TargetStats, Task, make_task

log = logging.getLogger(__name__)


def build_model(
    arch: str,
    args: dict[str, Any],
    attrs: dict[str, Any],
    image_size: int,
    scaling: InputScaling | None = None,
    task: Task | None = None,
    output: OutputScaling | None = None,
) -> tuple[ScaledModel, dict[str, Any]]:
    """The network named ``arch`` sized for ``image_size`` images described by ``attrs``, behind input scaling.

    ``num_classes`` is the task's number of outputs (default: the dataset's classes); detector images pass
    their number of views to the networks that take ``n_views``.
    """
    channels = len(attrs["channels"])
    outputs = task.num_outputs if task is not None else len(attrs["class_names"])
    if task is not None and model_task(arch) != task.network:
        raise ValueError(
            f"task '{task.name}' needs a {task.network} but '{arch}' is a {model_task(arch)}; "
            f"choose an arch registered as {task.network} (`detcnn models`)"
        )
    full = {"in_channels": channels, "num_classes": outputs, "image_size": int(image_size)}
    if "views" in attrs and model_accepts(arch, "n_views"):
        full["n_views"] = len(attrs["views"])  # type: ignore[arg-type]
    full.update(args)
    net = create_model(arch, **full)
    return ScaledModel(scaling or InputScaling.identity(channels), net, output), full


def target_stats(path: str | os.PathLike[str], task_name: str, block: int = 4096) -> TargetStats:
    """Pixel-class frequencies of the train split (segmentation's class weights), read block by block; for
    the regressions the target's typical value and spread (energy: mean and standard deviation; pixel
    energy: no shift, the RMS over pixels with deposited energy)."""
    import h5py
    import numpy as np

    if task_name == "pixel_regression":
        with h5py.File(path, "r") as f:
            sq, n = 0.0, 0
            for start in range(0, len(f["e_pix"]), block):
                e = f["e_pix"][start : start + block]
                sq, n = sq + float(np.square(e[e > 0], dtype=np.float64).sum()), n + int(np.count_nonzero(e))
        return TargetStats(scale=float(np.sqrt(sq / max(n, 1))) or 1.0)
    if task_name != "segmentation":
        return TargetStats()
    with h5py.File(path, "r") as f:
        if "y_pix" not in f:
            raise InputError("no per-pixel labels 'y_pix'", path=path, fix="segmentation needs a detector dataset")
        n_classes = len(json.loads(f.attrs["pixel_class_names"]))
        counts = np.zeros(n_classes)
        for start in range(0, len(f["y_pix"]), block):
            counts += np.bincount(f["y_pix"][start : start + block].ravel(), minlength=n_classes)[:n_classes]
    return TargetStats(frequencies=counts / max(counts.sum(), 1))


def output_scaling(task: Task, stats: TargetStats, train_src: Any) -> OutputScaling | None:
    """The output scaling of a regression (``None`` otherwise): pixel energy in units of its RMS, event energy
    as mean + std * output, both from the train split."""
    if task.name == "pixel_regression":
        return OutputScaling(0.0, stats.scale)
    if task.name == "energy_regression":
        targets = train_src.labels.astype(float)
        return OutputScaling(float(targets.mean()), float(targets.std()) or 1.0)
    return None


def first_rows(rows: Any, limit: int | None, path: str | os.PathLike[str]) -> Any:
    """``rows`` (a boolean mask or None for all) cut to its first ``limit`` events (the split is already a
    seeded random draw, so the first N are a random subset)."""
    import h5py
    import numpy as np

    if limit is None:
        return rows
    if rows is None:
        with h5py.File(path, "r") as f:
            rows = np.ones(len(f["y"]), dtype=bool)
    keep = np.flatnonzero(rows)[: int(limit)]
    out = np.zeros(len(rows), dtype=bool)
    out[keep] = True
    return out


def event_rows(path: str | os.PathLike[str], task: Task) -> Any:
    """Boolean mask of the events a task uses (``None``: all), from the event classes ``y``."""
    import h5py
    import numpy as np

    if task.classes is None:
        return None
    with h5py.File(path, "r") as f:
        return np.isin(f["y"][...], task.classes)


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
    task_name = model_cfg.get("task", "classification")
    attrs = read_attrs(train_path)
    stats = target_stats(train_path, task_name)
    task = make_task(task_name, attrs, model_cfg.get("task_args"), stats)
    configure_threads(threads)
    device = resolve_device(train_cfg.get("device", "auto"))
    generator = seed_everything(int(train_cfg.get("seed", seed)))
    log.info("training '%s' (%s) on %s with %d CPU threads", model_name, arch, device, threads)

    train_rows = first_rows(event_rows(train_path, task), settings.max_train_events, train_path)
    train_src = open_source(train_path, settings.max_memory_gb, task.target, train_rows)
    val_rows = first_rows(event_rows(val_path, task), settings.max_val_events, val_path)
    val_src = open_source(val_path, settings.max_memory_gb, task.target, val_rows)
    for src, path in ((train_src, train_path), (val_src, val_path)):
        if len(src) == 0:
            raise InputError("the split holds no events", path=path, fix="generate more events or change the split")
    output = output_scaling(task, stats, train_src)
    model, full_args = build_model(arch, args, attrs, _image_size(train_path), train_src.scaling(), task, output)
    n_params = sum(p.numel() for p in model.parameters())
    resolved = {
        "dataset": dataset,
        "model": model_name,
        "arch": arch,
        "args": full_args,
        "task": {"name": task.name, "target": task.target, **task.info},
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
        log_params_flat(mlflow, {"arch": arch, "args": full_args, "train": resolved["train"], "task": resolved["task"]})
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
            "task": task.name,
            "task_args": dict(model_cfg.get("task_args") or {}),
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
    output = OutputScaling(0.0, 1.0) if "output.scale" in payload["state_dict"] else None
    model = ScaledModel(InputScaling.identity(channels), net, output)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    if device is not None:
        model.to(device)
    return model, payload
