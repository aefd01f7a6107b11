"""The training loop shared by every model: Adam, early stopping on val/loss, best checkpoint kept.

Task-specific pieces (target, loss, prediction, validation metrics) come from the task's
:class:`~detcnn.tasks.common.Plugin`; the loop knows nothing about jets, detectors or tasks.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.tasks.common import Plugin
from detcnn.training.data import H5Source, TensorSource, predict_with_loss


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
) -> tuple[nn.Module, History]:
    """Train ``model``; return it with the weights of the epoch with the lowest val/loss, and the history."""
    from tqdm import tqdm

    model.to(device)
    # On a GPU, data that fits is moved there once: no host-to-device copy per batch.
    train, val = (s.to(device) if isinstance(s, TensorSource) and s.fits_on(device) else s for s in (train, val))
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.lr_schedule not in ("constant", "cosine"):
        raise ConfigError(f"lr_schedule must be 'constant' or 'cosine', got '{settings.lr_schedule}'")
    schedule = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, settings.epochs) if settings.lr_schedule == "cosine" else None
    )
    loss_fn = plugin.loss.to(device)
    use_amp = settings.amp and device.type == "cuda"
    history = History()
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    n_batches = math.ceil(len(train) / settings.batch_size)
    val_truth = plugin.truth(val.labels)
    for epoch in range(settings.epochs):
        t0 = time.perf_counter()
        model.train()
        total, seen = 0.0, 0
        bar = tqdm(
            train.batches(settings.batch_size, shuffle=True, generator=generator),
            total=n_batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch",
            disable=not progress, mininterval=5.0, leave=False,
        )  # fmt: skip
        for xb, yb in bar:
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss = loss_fn(model(xb), yb)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at epoch {epoch + 1}; lower train.lr")
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            seen += len(xb)
        if schedule is not None:
            schedule.step()
        val_pred, val_loss = predict_with_loss(model, val, device, transform=plugin.predict, loss_fn=loss_fn)
        row = {
            "epoch": epoch + 1,
            "train/loss": total / max(seen, 1),
            "val/loss": val_loss,
            **{f"val/{k}": v for k, v in plugin.score(val_truth, val_pred).items()},
            "seconds": time.perf_counter() - t0,
        }
        history.rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
        if progress:
            print(" ".join(f"{k}={v:.4g}" for k, v in row.items()), flush=True)
        if val_loss < history.best_val_loss:
            history.best_val_loss, history.best_epoch, stale = val_loss, epoch + 1, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= settings.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, history
