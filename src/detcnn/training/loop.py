"""The training loop shared by every model: Adam, early stopping on val/loss, best weights kept, a checkpoint
after every epoch to resume from, one or several processes (DistributedDataParallel).

Task-specific pieces (target, loss, prediction, validation metrics) come from the task's
:class:`~detcnn.tasks.common.Plugin`; the loop knows nothing about jets, detectors or tasks.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.tasks.common import Plugin
from detcnn.training.checkpoint import Checkpoint, rng_state, set_rng_state
from detcnn.training.data import H5Source, TensorSource, predict_with_loss
from detcnn.training.distributed import SINGLE, Ranks, all_sum, gather_rows


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and stopping settings (from the model's ``train`` config)."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 4
    amp: bool = False  # bfloat16 autocast, CUDA only
    max_memory_gb: float = 4.0  # a split larger than this is streamed from its file
    max_train_events: int | None = None  # train on the first N events of the split only (a cheaper default)
    max_val_events: int | None = None  # early stopping on the first N validation events only
    lr_schedule: str = "constant"  # or "cosine": the learning rate falls as a half cosine to 0 over `epochs`

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> TrainSettings:
        known = set(cls.__dataclass_fields__)
        elsewhere = {"device", "seed", "gpus"}  # read by the train stage and the scheduler
        unknown = set(cfg) - known - elsewhere
        if unknown:
            raise ConfigError(f"unknown train setting(s) {sorted(unknown)}; valid: {sorted(known | elsewhere)}")
        return cls(**{k: v for k, v in cfg.items() if k in known})


@dataclass
class History:
    """Per-epoch record: ``rows[i]`` has epoch, train/loss, val/loss, val/<metric>, seconds."""

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf


def fit(
    model: nn.Module,
    train: TensorSource | H5Source,
    val: TensorSource | H5Source,
    plugin: Plugin,
    settings: TrainSettings,
    device: torch.device,
    generator: torch.Generator,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    progress: bool = True,
    *,
    ranks: Ranks = SINGLE,
    checkpoint: Checkpoint | None = None,
    resume: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, History]:
    """Train ``model``; return it with the weights of the epoch with the lowest val/loss, and the history.

    ``checkpoint``: written after every complete epoch (and before the first) by rank 0; ``resume``: a state
    it saved, to continue from (the next epoch, with every random state restored). ``on_epoch`` sees each
    new row of the history after its checkpoint is written (rank 0 only). Among several ``ranks`` the
    model is wrapped in DistributedDataParallel and every rank must call this with the same arguments.
    """
    from tqdm import tqdm

    model.to(device)
    # On a GPU, data that fits is moved there once: no host-to-device copy per batch.
    train, val = (s.to(device) if isinstance(s, TensorSource) and s.fits_on(device) else s for s in (train, val))
    net = _parallel(model, device, ranks)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.lr_schedule not in ("constant", "cosine"):
        raise ConfigError(f"lr_schedule must be 'constant' or 'cosine', got '{settings.lr_schedule}'")
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, settings.epochs) if settings.lr_schedule == "cosine" else None
    )
    loss_fn = plugin.loss.to(device)
    use_amp = settings.amp and device.type == "cuda"
    run = _Progress()
    if resume is not None:
        run.restore(resume, model, opt, schedule, generator)
    elif checkpoint is not None and ranks.main:
        checkpoint.save(run.snapshot(model, opt, schedule, generator))
    n_batches = math.ceil(len(train) / settings.batch_size)
    val_part, val_rows = val.shard(ranks) if ranks.world > 1 else (val, None)
    val_truth = plugin.truth(val.labels) if ranks.main else None
    uneven = ranks.world > 1 and isinstance(train, H5Source)  # streamed blocks: ranks may get unequal batch counts
    for epoch in range(run.epoch, settings.epochs):
        if run.stopped:
            break
        t0 = time.perf_counter()
        net.train()
        total, seen = 0.0, 0
        bar = tqdm(
            train.batches(settings.batch_size, shuffle=True, generator=generator, ranks=ranks),
            total=n_batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch",
            disable=not (progress and ranks.main), mininterval=5.0, leave=False,
        )  # fmt: skip
        with net.join() if uneven else contextlib.nullcontext():
            for xb, yb in bar:
                xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                opt.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss = loss_fn(net(xb), yb)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch + 1}; lower train.lr")
                loss.backward()
                opt.step()
                total += loss.item() * len(xb)
                seen += len(xb)
        total, seen = all_sum([total, seen], ranks)
        if schedule is not None:
            schedule.step()
        pred_part, loss_part = predict_with_loss(model, val_part, device, transform=plugin.predict, loss_fn=loss_fn)
        val_loss = loss_part
        if ranks.world > 1:
            loss_sum, n_val = all_sum([loss_part * len(val_part), len(val_part)], ranks)
            val_loss = loss_sum / n_val
        val_pred = gather_rows(pred_part, val_rows, len(val), ranks) if ranks.world > 1 else pred_part
        row = {
            "epoch": epoch + 1,
            "train/loss": total / max(seen, 1),
            "val/loss": val_loss,
            **({f"val/{k}": v for k, v in plugin.score(val_truth, val_pred).items()} if ranks.main else {}),
            "seconds": time.perf_counter() - t0,
        }
        run.record(row, model, settings.patience)
        if checkpoint is not None and ranks.main:
            checkpoint.save(run.snapshot(model, opt, schedule, generator))
        if ranks.main:
            if on_epoch is not None:
                on_epoch(row)
            if progress:
                print(" ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
    if run.best_state is not None:
        model.load_state_dict(run.best_state)
    return model, run.history


def _parallel(model: nn.Module, device: torch.device, ranks: Ranks) -> nn.Module:
    """``model`` itself for one process; wrapped in DistributedDataParallel among several."""
    if ranks.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


class _Progress:
    """Where a training stands: complete epochs, history, early-stopping bookkeeping; saved and restored
    with the model, optimiser, schedule and random states (:mod:`detcnn.training.checkpoint`)."""

    def __init__(self) -> None:
        self.epoch = 0
        self.history = History()
        self.best_state: dict[str, torch.Tensor] | None = None
        self.stale = 0
        self.stopped = False

    def record(self, row: dict[str, float], model: nn.Module, patience: int) -> None:
        """Add an epoch: keep the weights if its val/loss is the lowest, stop after ``patience`` without."""
        self.epoch = int(row["epoch"])
        self.history.rows.append(row)
        if row["val/loss"] < self.history.best_val_loss:
            self.history.best_val_loss, self.history.best_epoch, self.stale = row["val/loss"], self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.stale += 1
            self.stopped = self.stale >= patience

    def snapshot(self, model: nn.Module, opt: Any, schedule: Any, generator: torch.Generator) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": schedule.state_dict() if schedule is not None else None, "history": self.history.rows,
            "best_epoch": self.history.best_epoch, "best_val_loss": self.history.best_val_loss,
            "best_state": self.best_state, "stale": self.stale, "stopped": self.stopped, "rng": rng_state(generator),
        }  # fmt: skip

    def restore(self, state: Mapping[str, Any], model: nn.Module, opt: Any, schedule: Any,
                generator: torch.Generator) -> None:  # fmt: skip
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if schedule is not None and state["scheduler"] is not None:
            schedule.load_state_dict(state["scheduler"])
        self.epoch, self.stale, self.stopped = int(state["epoch"]), int(state["stale"]), bool(state["stopped"])
        self.history = History(list(state["history"]), int(state["best_epoch"]), float(state["best_val_loss"]))
        self.best_state = state["best_state"]
        set_rng_state(state["rng"], generator)
