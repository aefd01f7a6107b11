"""Losses of the pixel and regression tasks, on the networks' raw outputs (classification uses PyTorch's own
cross-entropy). Shapes: segmenters give ``(N, K, V, H, W)``, classifiers ``(N, K)``."""

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
