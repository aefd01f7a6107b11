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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from detcnn.config import config_hash, fill_model
from detcnn.errors import InputError, stop_on_sigterm
from detcnn.io.atomic import write_json, write_text
from detcnn.io.images import ImageFile
from detcnn.kinds import ModelKind
from detcnn.tasks import get_task
from detcnn.tracking import log_params_flat, mlflow_run, retrying, set_status, shared_params

if TYPE_CHECKING:
    import torch

    from detcnn.training.checkpoint import Checkpoint
    from detcnn.training.data import H5Source, TensorSource
    from detcnn.training.device import GpuClaim
    from detcnn.training.distributed import Ranks
    from detcnn.training.loop import History, TrainSettings
    from detcnn.training.plugin import Plugin

log = logging.getLogger(__name__)
Path = str | os.PathLike[str]


def history_csv(rows: list[dict[str, float]]) -> str:
    """The history's rows as CSV text, one line per epoch, the columns of the first row."""
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
    (``registered_name``: registered under that name); ``system_metrics``: the machine's use logged too.
    Returns the resolved config (``config``)."""
    from detcnn.training.device import configure_threads, seed_everything
    from detcnn.training.distributed import Ranks, destroy_process_group, init_process_group
    from detcnn.training.settings import TrainSettings

    model_cfg = fill_model(model_cfg, f"models.{model}")  # the workflow's is filled already
    train_cfg = model_cfg["train"]
    settings = TrainSettings.from_config(train_cfg)
    task = get_task(model_cfg.get("task"))
    task_args = dict(model_cfg.get("task_args") or {})
    ranks = Ranks.from_env()
    with ImageFile(train) as tr, ImageFile(val) as va:
        train_rows = tr.select(task.target(tr.attrs, task_args).classes, settings.max_train_events)
        plugin = task.plugin(tr.attrs, task_args, tr, train_rows)  # fits class weights, output scaling on train
        configure_threads(threads)
        device, claim = _device(train_cfg["device"], ranks)
        init_process_group(ranks, device)
        train_seed = int(train_cfg.get("seed", seed))
        generator = seed_everything(train_seed)
        log.info("training '%s' (%s) on %s with %d CPU threads, rank %d of %d", model, model_cfg["arch"], device,
                 threads, ranks.rank, ranks.world)  # fmt: skip
        training = _Training.build(tr, va, train_rows, model_cfg, task, plugin, settings, device, generator, ranks)
        resolved = training.resolved(dataset, model, task, tr.attrs, train_seed)
        training.resume_from(checkpoint, {"model": dict(model_cfg), "seed": seed, "processes": ranks.world,
                                          "data": [tr.attrs.get("config_hash"), va.attrs.get("config_hash")]},
                             tracking_uri, model)  # fmt: skip
        try:
            with stop_on_sigterm():
                if not ranks.main:
                    training.fit(progress=False)
                    return resolved
                tracking = _Tracking(tracking_uri, system_metrics, log_model, registered_name)
                outputs = _Outputs(weights, config, history, run_info)
                _fit_tracked(training, resolved, tr, va, tracking, outputs, task_args, progress)
        finally:
            destroy_process_group()
            if claim is not None:
                claim.release()
    if training.ckpt is not None:
        training.ckpt.remove()  # the finished model is in `weights`; a rerun of a finished job starts afresh
    return resolved


def _device(name: str, ranks: Ranks) -> tuple[torch.device, GpuClaim | None]:
    """The device ``name`` (``auto``, ``cpu``, ``cuda``) resolved for this process and, for a single process on
    a GPU, the claim on the GPU it takes (:func:`detcnn.training.device.claim_gpus`; to release at the end).
    Among several processes, rank ``r`` takes its local GPU ``local_rank``."""
    import torch

    from detcnn.training.device import claim_gpus, resolve_device

    device = resolve_device(name)
    claim = None
    if device.type == "cuda" and ranks.world == 1:
        claim = claim_gpus(1)
        device = torch.device("cuda", claim.indices[0]) if claim else device
    elif device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
    return device, claim


@dataclass
class _Training:
    """A training ready to run: the network, its arguments, the train and validation sources, the plug-in,
    the loop's settings, device, batch-order generator and ranks, and the checkpoint to save to (and the
    state it resumes from, None to start afresh)."""

    net: torch.nn.Module
    arch: str
    args: dict[str, Any]
    train: TensorSource | H5Source
    val: TensorSource | H5Source
    plugin: Plugin
    settings: TrainSettings
    device: torch.device
    generator: torch.Generator
    ranks: Ranks
    ckpt: Checkpoint | None = None
    resume: dict[str, Any] | None = None

    @classmethod
    def build(cls, tr: ImageFile, va: ImageFile, train_rows: np.ndarray | None, model_cfg: Mapping[str, Any],
              task: ModuleType, plugin: Plugin, settings: TrainSettings, device: torch.device,
              generator: torch.Generator, ranks: Ranks) -> _Training:  # fmt: skip
        """Open the events ``train_rows`` of the train split and the task's events of the validation split
        (an InputError when either has none), and build the network of ``model_cfg`` for them, its input
        scaling fitted on the train events."""
        from detcnn.training.data import open_source
        from detcnn.training.network import build_model

        train_src = open_source(tr, settings.max_memory_gb, plugin.target, train_rows)
        val_src = open_source(va, settings.max_memory_gb, plugin.target,
                              va.select(plugin.classes, settings.max_val_events))  # fmt: skip
        for src, f in ((train_src, tr), (val_src, va)):
            if len(src) == 0:
                raise InputError("the split holds no events of this task", path=f.path,
                                 fix="generate more events, change the split or the task's classes")  # fmt: skip
        arch = model_cfg["arch"]
        net, full_args = build_model(arch, dict(model_cfg.get("args", {})), tr.attrs, tr.image_shape[-1],
                                     train_src.scaling(), task, plugin)  # fmt: skip
        return cls(net, arch, full_args, train_src, val_src, plugin, settings, device, generator, ranks)

    def resolved(self, dataset: str, model: str, task: ModuleType, attrs: Mapping[str, Any],
                 seed: int) -> dict[str, Any]:  # fmt: skip
        """The resolved config written to ``config``: the network and its full arguments, the task and its
        settings, the train settings as used, the data's description and sizes, the parameter count."""
        from detcnn.training.data import H5Source

        train = {**self.settings.__dict__, "device": str(self.device), "seed": seed, "processes": self.ranks.world}
        return {
            "dataset": dataset,
            "model": model,
            "arch": self.arch,
            "args": self.args,
            "task": {"name": task.NAME, "target": self.plugin.target, **self.plugin.info},
            "train": train,
            "data": {k: attrs.get(k) for k in ("channels", "extent", "class_names", "config_hash")},
            "n_train": len(self.train),
            "n_val": len(self.val),
            "streamed": isinstance(self.train, H5Source),
            "n_parameters": sum(p.numel() for p in self.net.parameters()),
        }

    def resume_from(self, checkpoint: Path | None, identity: Mapping[str, Any], tracking_uri: str,
                    model: str) -> None:  # fmt: skip
        """Save to ``checkpoint`` (None: nowhere) and continue from the state there when it belongs to this
        training (its key: the hash of ``identity``); the MLflow run of a stale one is marked FAILED."""
        from detcnn.training.checkpoint import Checkpoint

        if checkpoint is None:
            return
        self.ckpt = Checkpoint(checkpoint, config_hash(dict(identity)))
        self.resume = self.ckpt.load()
        stale = self.ckpt.stale_meta
        if stale and self.ranks.main and stale.get("run_id"):
            set_status(tracking_uri, stale["run_id"], "FAILED")  # a training that will never resume
        if self.resume is not None:
            log.info("resuming '%s' after epoch %d from %s", model, self.resume["epoch"], checkpoint)

    def fit(self, on_epoch: Callable[[dict[str, float]], None] | None = None,
            progress: bool = True) -> tuple[torch.nn.Module, History]:  # fmt: skip
        """Run the training loop (:func:`detcnn.training.loop.fit`): the network of the best epoch, the history."""
        from detcnn.training.loop import fit

        return fit(self.net, self.train, self.val, self.plugin, self.settings, self.device, self.generator,
                   on_epoch, progress, ranks=self.ranks, checkpoint=self.ckpt, resume=self.resume)  # fmt: skip


@dataclass(frozen=True)
class _Tracking:
    """Where and what the train stage logs (:func:`run`'s arguments): the MLflow ``uri``, the machine's use
    (``system_metrics``), the network as an MLflow model (``log_model``, registered as ``registered_name``)."""

    uri: str
    system_metrics: bool
    log_model: bool
    registered_name: str | None


@dataclass(frozen=True)
class _Outputs:
    """The train stage's four outputs (module doc)."""

    weights: Path
    config: Path
    history: Path
    run_info: Path


def _fit_tracked(training: _Training, resolved: dict[str, Any], tr: ImageFile, va: ImageFile, tracking: _Tracking,
                 outputs: _Outputs, task_args: Mapping[str, Any], progress: bool) -> None:  # fmt: skip
    """Train within an MLflow run: the run of the checkpoint when resuming (the epochs it has not logged yet
    logged first), else a new one with the parameters and the image files as inputs; every epoch's row
    logged as metrics. Completes ``resolved`` (best epoch, seconds, run id) and writes the ``outputs``."""
    ckpt, resume, model = training.ckpt, training.resume, resolved["model"]
    run_id = ckpt.meta.get("run_id") if resume is not None and ckpt is not None else None
    tags = {"stage": "train", "model": model}
    with mlflow_run(tracking.uri, resolved["dataset"], f"train/{model}", tags=tags, run_id=run_id,
                    system_metrics=tracking.system_metrics) as (tracker, mlrun):  # fmt: skip
        if resume is None:
            _log_inputs(tracker, resolved, tr, va)
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
        net, hist = training.fit(on_epoch, progress)
        seconds = time.perf_counter() - t0
        tracker.log_metrics({"best_epoch": hist.best_epoch, "best/val_loss": hist.best_val_loss})
        resolved.update(best_epoch=hist.best_epoch, train_seconds=seconds, mlflow_run_id=mlrun.info.run_id,
                        resumed_after_epoch=int(resume["epoch"]) if resume is not None else 0)  # fmt: skip
        _write_outputs(outputs, tracker, net, hist, resolved, tr, task_args)
        if tracking.log_model or tracking.registered_name:
            from detcnn.deploy.mlflow_model import log_network

            example = tr.read("X", np.arange(tr.n_events) < 2)
            retrying(log_network, net, example, tracking.registered_name)
        write_json(outputs.run_info, {"mlflow_run_id": mlrun.info.run_id, "tracking_uri": tracking.uri})


def _write_outputs(outputs: _Outputs, tracker: Any, net: torch.nn.Module, hist: History, resolved: Mapping[str, Any],
                   tr: ImageFile, task_args: Mapping[str, Any]) -> None:  # fmt: skip
    """``weights`` (the network, its arguments, class names, task and task arguments), ``config`` (the resolved
    config) and ``history``, each also logged as an artifact of the run."""
    from detcnn.training.network import save_network

    payload = {"arch": resolved["arch"], "args": resolved["args"], "class_names": list(tr.attrs.get("class_names", [])),
               "task": resolved["task"]["name"], "task_args": dict(task_args)}  # fmt: skip
    save_network(outputs.weights, net, payload)
    write_json(outputs.config, resolved)
    write_text(outputs.history, history_csv(hist.rows))
    for path in (outputs.weights, outputs.config, outputs.history):
        tracker.log_artifact(str(path))


def _log_inputs(tracker: Any, resolved: Mapping[str, Any], tr: ImageFile, va: ImageFile) -> None:
    """A new run's parameters (the network's arguments, the train settings, the task's settings and the
    parameters every training run has) and its inputs, the train and validation image files."""
    log_params_flat(tracker, {"args": resolved["args"], "train": resolved["train"], "task": resolved["task"]})
    shared = shared_params(ModelKind.NETWORK, resolved["arch"], resolved["task"]["name"], resolved["n_parameters"],
                           resolved["n_train"])  # fmt: skip
    tracker.log_params({"model": resolved["model"], **shared})
    for split, f, n in (("train", tr, resolved["n_train"]), ("validation", va, resolved["n_val"])):
        tracker.log_image_file(f.path, resolved["dataset"], split, n, f.attrs.get("config_hash"))
