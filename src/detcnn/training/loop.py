"""The training loop shared by every model: Adam, early stopping on val/loss, best weights kept, a checkpoint
after every epoch to resume from, one or several processes (DistributedDataParallel).

Task-specific pieces (target, loss, prediction, validation metrics) come from the task's
:class:`~detcnn.training.plugin.Plugin`; the loop knows nothing about jets, detectors or tasks.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.training.checkpoint import Checkpoint, rng_state, set_rng_state
from detcnn.training.data import H5Source, TensorSource, predict_with_loss
from detcnn.training.distributed import SINGLE, Ranks, all_sum, gather_rows
from detcnn.training.plugin import Plugin
from detcnn.training.settings import TrainSettings


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
    model.to(device)
    # On a GPU, data that fits is moved there once: no host-to-device copy per batch.
    train, val = (s.to(device) if isinstance(s, TensorSource) and s.fits_on(device) else s for s in (train, val))
    trainer = _Trainer.start(model, plugin, settings, device, generator, ranks)
    run = _Progress()
    if resume is not None:
        run.restore(resume, trainer)
    elif checkpoint is not None and ranks.main:
        checkpoint.save(run.snapshot(trainer))
    validation = _Validation.of(val, plugin, ranks)
    for epoch in range(run.epoch, settings.epochs):
        if run.stopped:
            break
        t0 = time.perf_counter()
        train_loss = trainer.train_epoch(train, epoch, progress)
        val_loss, scores = trainer.validate(validation)
        row = {"epoch": epoch + 1, "train/loss": train_loss, "val/loss": val_loss, **scores,
               "seconds": time.perf_counter() - t0}  # fmt: skip
        run.record(row, model, settings.patience)
        if checkpoint is not None and ranks.main:
            checkpoint.save(run.snapshot(trainer))
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


@dataclass(frozen=True)
class _Validation:
    """The validation split as one rank sees it: ``part`` its share of ``source`` (all of it in one process),
    at the rows ``rows`` of the split (None in one process), and ``truth``, what the plug-in scores the
    predictions of the whole split against (rank 0 only)."""

    source: TensorSource | H5Source
    part: TensorSource | H5Source
    rows: np.ndarray | None
    truth: np.ndarray | None

    @classmethod
    def of(cls, val: TensorSource | H5Source, plugin: Plugin, ranks: Ranks) -> _Validation:
        """This rank's view of the validation split ``val``."""
        part, rows = val.shard(ranks) if ranks.world > 1 else (val, None)
        return cls(val, part, rows, plugin.truth(val.labels) if ranks.main else None)


@dataclass(frozen=True)
class _Trainer:
    """The fixed parts of one training: the model and what runs it (``net``: the model itself, or its
    DistributedDataParallel wrapper among several ranks), the optimiser (Adam), the learning-rate schedule
    (None: constant) and the plug-in's loss on ``device``."""

    model: nn.Module
    net: nn.Module
    opt: torch.optim.Optimizer
    schedule: Any
    loss_fn: nn.Module
    plugin: Plugin
    settings: TrainSettings
    device: torch.device
    generator: torch.Generator
    ranks: Ranks

    @classmethod
    def start(cls, model: nn.Module, plugin: Plugin, settings: TrainSettings, device: torch.device,
              generator: torch.Generator, ranks: Ranks) -> _Trainer:  # fmt: skip
        """Wrap ``model`` (already on ``device``) for ``ranks``, and make its optimiser and schedule."""
        net = _parallel(model, device, ranks)
        opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        if settings.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"lr_schedule must be 'constant' or 'cosine', got '{settings.lr_schedule}'")
        cosine = settings.lr_schedule == "cosine"
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, settings.epochs) if cosine else None
        return cls(model, net, opt, schedule, plugin.loss.to(device), plugin, settings, device, generator, ranks)

    def train_epoch(self, train: TensorSource | H5Source, epoch: int, progress: bool) -> float:
        """One pass over ``train`` in the generator's random order, then a step of the schedule: the mean
        training loss of its events, over every rank. ``epoch`` counts from 0; ``progress``: a progress bar."""
        from tqdm import tqdm

        settings, ranks = self.settings, self.ranks
        self.net.train()
        total, seen = 0.0, 0
        bar = tqdm(
            train.batches(settings.batch_size, shuffle=True, generator=self.generator, ranks=ranks),
            total=math.ceil(len(train) / settings.batch_size), desc=f"epoch {epoch + 1}/{settings.epochs}",
            unit="batch", disable=not (progress and ranks.main), mininterval=5.0, leave=False,
        )  # fmt: skip
        uneven = ranks.world > 1 and isinstance(train, H5Source)  # streamed blocks: ranks may get unequal batch counts
        with self.net.join() if uneven else contextlib.nullcontext():
            for xb, yb in bar:
                total += self._step(xb, yb, epoch) * len(xb)
                seen += len(xb)
        total, seen = all_sum([total, seen], ranks)
        if self.schedule is not None:
            self.schedule.step()
        return total / max(seen, 1)

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, epoch: int) -> float:
        """One optimiser step on the batch ``(xb, yb)``; its loss. A FloatingPointError when it is not finite."""
        xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
        self.opt.zero_grad(set_to_none=True)
        use_amp = self.settings.amp and self.device.type == "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = self.loss_fn(self.net(xb), yb)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch + 1}; lower train.lr")
        loss.backward()
        self.opt.step()
        return loss.item()

    def validate(self, validation: _Validation) -> tuple[float, dict[str, float]]:
        """The mean loss over the validation split and, on rank 0, the plug-in's scores ``{val/<metric>: value}``
        of the predictions of the whole split (empty on the other ranks)."""
        ranks = self.ranks
        pred_part, val_loss = predict_with_loss(self.model, validation.part, self.device,
                                                transform=self.plugin.predict, loss_fn=self.loss_fn)  # fmt: skip
        if ranks.world > 1:
            loss_sum, n_val = all_sum([val_loss * len(validation.part), len(validation.part)], ranks)
            val_loss = loss_sum / n_val
        n = len(validation.source)
        pred = gather_rows(pred_part, validation.rows, n, ranks) if ranks.world > 1 else pred_part
        if not ranks.main:
            return val_loss, {}
        return val_loss, {f"val/{k}": v for k, v in self.plugin.score(validation.truth, pred).items()}


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

    def snapshot(self, t: _Trainer) -> dict[str, Any]:
        """This state with the trainer's model, optimiser, schedule and random states, as a checkpoint holds it."""
        return {
            "epoch": self.epoch, "model": t.model.state_dict(), "optimizer": t.opt.state_dict(),
            "scheduler": t.schedule.state_dict() if t.schedule is not None else None, "history": self.history.rows,
            "best_epoch": self.history.best_epoch, "best_val_loss": self.history.best_val_loss,
            "best_state": self.best_state, "stale": self.stale, "stopped": self.stopped,
            "rng": rng_state(t.generator),
        }  # fmt: skip

    def restore(self, state: Mapping[str, Any], t: _Trainer) -> None:
        """Continue from a :meth:`snapshot`: this state, and the trainer's model, optimiser, schedule and random
        states."""
        t.model.load_state_dict(state["model"])
        t.opt.load_state_dict(state["optimizer"])
        if t.schedule is not None and state["scheduler"] is not None:
            t.schedule.load_state_dict(state["scheduler"])
        self.epoch, self.stale, self.stopped = int(state["epoch"]), int(state["stale"]), bool(state["stopped"])
        self.history = History(list(state["history"]), int(state["best_epoch"]), float(state["best_val_loss"]))
        self.best_state = state["best_state"]
        set_rng_state(state["rng"], t.generator)
