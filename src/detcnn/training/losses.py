"""Losses of the pixel, regression and localisation tasks, on the networks' raw outputs (classification uses
PyTorch's own cross-entropy). Shapes: segmenters give ``(N, K, V, H, W)``, classifiers ``(N, K)``, localisers
``(N, 3, F, F)`` on a grid of ``F x F`` fine pixels."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SegmentationLoss(nn.Module):
    """Per-pixel cross-entropy on ``(N, K, V, H, W)`` logits against ``(N, V, H, W)`` classes, with class
    weights ``(K,)`` or ignoring one class (``ignore_index``; -100 ignores nothing)."""

    def __init__(self, weight: torch.Tensor | None = None, ignore_index: int = -100) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target.long(), weight=self.weight, ignore_index=self.ignore_index)


class PixelMSE(nn.Module):
    """Mean squared error of ``(N, 1, V, H, W)`` outputs against ``(N, V, H, W)`` targets."""

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(out.float().squeeze(1), target.float())


class EventRegressionLoss(nn.Module):
    """``mse`` or ``relative_mse`` (``((pred - true) / true)^2``) of ``(N, 1)`` outputs against ``(N,)`` targets."""

    KINDS = ("mse", "relative_mse")

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.relative = kind == "relative_mse"

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.float()
        diff = out.float().squeeze(1) - target
        if self.relative:
            diff = diff / target.clamp_min(1e-6)
        return diff.square().mean()


class LocalisationLoss(nn.Module):
    """The localiser's loss against emitter lists ``(N, K, >=2)`` [nm] (NaN-padded): binary cross-entropy of the
    detection logit ``out[:, 0]`` against the occupancy of the fine pixels (occupied pixels weighted by
    ``pos_weight``), plus the mean squared error of the bounded offsets ``0.5 tanh(out[:, 1:3])`` [fine pixels]
    at the occupied pixels (:func:`fine_targets`). ``fine_nm``: the fine pixel [nm]."""

    def __init__(self, pos_weight: float, fine_nm: float) -> None:
        super().__init__()
        self.pos_weight = float(pos_weight)
        self.fine_nm = float(fine_nm)

    def forward(self, out: torch.Tensor, emitters: torch.Tensor) -> torch.Tensor:
        occupancy, offsets, occupied = fine_targets(emitters, out.shape[-1], self.fine_nm)
        weight = torch.tensor(self.pos_weight, device=out.device)
        detection = F.binary_cross_entropy_with_logits(out[:, 0].float(), occupancy, pos_weight=weight)
        err = (0.5 * torch.tanh(out[:, 1:3].float()) - offsets).square().sum(dim=1)
        return detection + (err[occupied].mean() if occupied.any() else err.sum() * 0.0)


def fine_targets(emitters: torch.Tensor, n_fine: int, fine_nm: float) -> tuple[torch.Tensor, ...]:
    """From emitter lists ``(N, K, >=2)`` [nm] (NaN-padded): the occupancy ``(N, F, F)`` (1 in the fine pixel of
    each emitter, ``F = n_fine`` pixels of ``fine_nm``), the offsets of each emitter from its fine pixel's
    centre ``(N, 2, F, F)`` [fine pixels] and the occupied mask ``(N, F, F)``."""
    x, y = emitters[..., 0].float() / fine_nm, emitters[..., 1].float() / fine_nm
    ok = torch.isfinite(x) & torch.isfinite(y) & (x >= 0) & (y >= 0) & (x < n_fine) & (y < n_fine)
    n = torch.arange(len(emitters), device=emitters.device)[:, None].expand_as(x)[ok]
    ix, iy = x[ok].floor().long(), y[ok].floor().long()
    occupancy = torch.zeros(len(emitters), n_fine, n_fine, device=emitters.device)
    offsets = torch.zeros(len(emitters), 2, n_fine, n_fine, device=emitters.device)
    occupancy[n, iy, ix] = 1.0
    offsets[n, 0, iy, ix] = x[ok] - ix - 0.5
    offsets[n, 1, iy, ix] = y[ok] - iy - 0.5
    return occupancy, offsets, occupancy > 0
