"""The train stage: a dataset's train and val image files -> a trained network.

Writes ``weights`` (``weights.pt``: a plain dict of tensors and names, loadable with ``weights_only=True``),
``config`` (the resolved model and data config, JSON), ``history`` (one CSV row per epoch) and ``run`` (the
MLflow run id, JSON). Every training is an MLflow run with per-epoch ``train/loss``, ``val/loss`` and the
task's validation metrics (``val/auc`` for a classifier, ``val/accuracy`` and ``val/mean_iou`` for a
segmenter, ...), the same functions as the test metrics of the same names.

Resumable: with a ``checkpoint`` path (no declared output, so Snakemake keeps it when a job fails) the
whole training state is saved after every epoch; a rerun of the same training continues at the next epoch
and in the same MLflow run, so the history holds every epoch once. SIGTERM (a time limit, a preemption)
ends the job with the run marked KILLED and the checkpoint kept; a stale checkpoint (another config) is
ignored and its run, if still RUNNING, marked FAILED. Several processes (``train.gpus`` > 1, under
``torchrun``): every rank trains its share, rank 0 logs and writes. On a machine of several GPUs each job
takes GPUs of its own (:func:`detcnn.training.device.claim_gpus`).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from detcnn.config import config_hash
from detcnn.errors import InputError, stop_on_sigterm
from detcnn.io.atomic import write_json, write_text
from detcnn.io.images import ImageFile
from detcnn.tasks import get_task, plugin_of
from detcnn.tracking import log_params_flat, mlflow_run, retrying, set_status, shared_params

log = logging.getLogger(__name__)
Path = str | os.PathLike[str]


def history_csv(rows: list[dict[str, float]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def run(
    *, train: Path, val: Path, weights: Path, config: Path, history: Path, run_info: Path, dataset: str,
    model: str, model_cfg: Mapping[str, Any], seed: int, threads: int, tracking_uri: str, progress: bool = True,
    checkpoint: Path | None = None, log_model: bool = False, registered_name: str | None = None,
    system_metrics: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Train ``model_cfg = {arch, args, task, task_args, train}`` on the ``train`` split, stopping early on
    ``val``; ``seed`` (or the model's ``train.seed``) seeds the weights and the batch order; ``threads`` CPU
    threads; ``checkpoint``: where to save (and find) the state to resume from. Writes the four outputs of
    the module doc and logs the run to ``tracking_uri``; ``log_model``: the network also as an MLflow model
    (``registered_name``: registered under that name); ``system_metrics``: the machine's use logged too."""
    import torch

    from detcnn.training.checkpoint import Checkpoint
    from detcnn.training.data import H5Source, open_source
    from detcnn.training.device import claim_gpus, configure_threads, resolve_device, seed_everything
    from detcnn.training.distributed import Ranks, destroy_process_group, init_process_group
    from detcnn.training.loop import TrainSettings, fit
    from detcnn.training.network import build_model, save_network

    arch, args, train_cfg = model_cfg["arch"], dict(model_cfg.get("args", {})), dict(model_cfg.get("train", {}))
    settings = TrainSettings.from_config(train_cfg)
    task = get_task(model_cfg.get("task"))
    task_args = dict(model_cfg.get("task_args") or {})
    ranks = Ranks.from_env()
    with ImageFile(train) as tr, ImageFile(val) as va:
        attrs = tr.attrs
        train_rows = tr.select(task.plugin(attrs, task_args).classes, settings.max_train_events)
        plugin = plugin_of(task, attrs, task_args, tr, train_rows)  # fits class weights, output scaling on train
        configure_threads(threads)
        device = resolve_device(train_cfg.get("device", "auto"))
        claim = None
        if device.type == "cuda" and ranks.world == 1:
            claim = claim_gpus(1)
            device = torch.device("cuda", claim.indices[0]) if claim else device
        elif device.type == "cuda":
            device = torch.device("cuda", ranks.local_rank)
        init_process_group(ranks, device)
        train_seed = int(train_cfg.get("seed", seed))
        generator = seed_everything(train_seed)
        log.info("training '%s' (%s) on %s with %d CPU threads, rank %d of %d", model, arch, device, threads,
                 ranks.rank, ranks.world)  # fmt: skip
        train_src = open_source(tr, settings.max_memory_gb, plugin.target, train_rows)
        val_src = open_source(va, settings.max_memory_gb, plugin.target,
                              va.select(plugin.classes, settings.max_val_events))  # fmt: skip
        for src, path in ((train_src, train), (val_src, val)):
            if len(src) == 0:
                raise InputError("the split holds no events of this task", path=path,
                                 fix="generate more events, change the split or the task's classes")  # fmt: skip
        net, full_args = build_model(arch, args, attrs, tr.image_shape[-1], train_src.scaling(), task, plugin)
        n_params = sum(p.numel() for p in net.parameters())
        resolved = {
            "dataset": dataset,
            "model": model,
            "arch": arch,
            "args": full_args,
            "task": {"name": task.NAME, "target": plugin.target, **plugin.info},
            "train": {**settings.__dict__, "device": str(device), "seed": train_seed, "processes": ranks.world},
            "data": {k: attrs.get(k) for k in ("channels", "extent", "class_names", "config_hash")},
            "n_train": len(train_src),
            "n_val": len(val_src),
            "streamed": isinstance(train_src, H5Source),
            "n_parameters": n_params,
        }
        key = config_hash({"model": dict(model_cfg), "seed": seed, "processes": ranks.world,
                           "data": [tr.attrs.get("config_hash"), va.attrs.get("config_hash")]})  # fmt: skip
        ckpt = Checkpoint(checkpoint, key) if checkpoint is not None else None
        resume = ckpt.load() if ckpt is not None else None
        if ckpt is not None and ckpt.stale_meta and ranks.main and ckpt.stale_meta.get("run_id"):
            set_status(tracking_uri, ckpt.stale_meta["run_id"], "FAILED")  # a training that will never resume
        if resume is not None:
            log.info("resuming '%s' after epoch %d from %s", model, resume["epoch"], checkpoint)
        fit_args = (net, train_src, val_src, plugin, settings, device, generator)
        try:
            with stop_on_sigterm():
                if not ranks.main:
                    fit(*fit_args, progress=False, ranks=ranks, checkpoint=ckpt, resume=resume)
                    return resolved
                run_id = ckpt.meta.get("run_id") if resume is not None and ckpt is not None else None
                tags = {"stage": "train", "model": model}
                with mlflow_run(tracking_uri, dataset, f"train/{model}", tags=tags, run_id=run_id,
                                system_metrics=system_metrics) as (tracker, mlrun):  # fmt: skip
                    if resume is None:
                        flat = {"args": full_args, "train": resolved["train"], "task": resolved["task"]}
                        log_params_flat(tracker, flat)
                        tracker.log_params({"model": model, **shared_params("network", arch, task.NAME, n_params,
                                                                             len(train_src))})  # fmt: skip
                        for split, f, n in (("train", tr, len(train_src)), ("validation", va, len(val_src))):
                            tracker.log_image_file(f.path, dataset, split, n, f.attrs.get("config_hash"))
                    else:  # epochs saved but not yet logged when the job died
                        logged = tracker.logged_steps("train/loss")
                        for row in resume["history"]:
                            if int(row["epoch"]) not in logged:
                                tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, int(row["epoch"]))
                    if ckpt is not None:
                        ckpt.meta["run_id"] = mlrun.info.run_id

                    def on_epoch(row: dict[str, float]) -> None:
                        tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))

                    t0 = time.perf_counter()
                    net, hist = fit(*fit_args, on_epoch, progress, ranks=ranks, checkpoint=ckpt, resume=resume)
                    seconds = time.perf_counter() - t0
                    tracker.log_metrics({"best_epoch": hist.best_epoch, "best/val_loss": hist.best_val_loss})
                    resolved.update(best_epoch=hist.best_epoch, train_seconds=seconds, mlflow_run_id=mlrun.info.run_id,
                                    resumed_after_epoch=int(resume["epoch"]) if resume is not None else 0)  # fmt: skip
                    payload = {"arch": arch, "args": full_args, "class_names": list(attrs.get("class_names", [])),
                               "task": task.NAME, "task_args": task_args}  # fmt: skip
                    save_network(weights, net, payload)
                    write_json(config, resolved)
                    write_text(history, history_csv(hist.rows))
                    for path in (weights, config, history):
                        tracker.log_artifact(str(path))
                    if log_model or registered_name:
                        from detcnn.deploy.mlflow_model import log_network

                        example = tr.read("X", np.arange(tr.n_events) < 2)
                        retrying(log_network, net, example, registered_name)
                    write_json(run_info, {"mlflow_run_id": mlrun.info.run_id, "tracking_uri": tracking_uri})
        finally:
            destroy_process_group()
            if claim is not None:
                claim.release()
    if ckpt is not None:
        ckpt.remove()  # the finished model is in `weights`; a rerun of a finished job starts afresh
    return resolved
