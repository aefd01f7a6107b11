"""Tensors for training: input scaling fitted on the train split, seeded mini-batches."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn


class InputScaling(nn.Module):
    """Per-channel standardisation ``(x - mean) / std`` with statistics of the train split.

    Stored as buffers, so they travel with the weights and evaluation needs nothing else.
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1).float())
        self.register_buffer("std", std.reshape(1, -1, 1, 1).float())

    @classmethod
    def fit(cls, images: np.ndarray) -> InputScaling:
        """Fit on ``images (N, C, H, W)``; a channel with zero spread keeps std 1."""
        mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
        std = images.std(axis=(0, 2, 3), dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
        return cls(torch.from_numpy(mean), torch.from_numpy(std))

    @classmethod
    def identity(cls, channels: int) -> InputScaling:
        return cls(torch.zeros(channels), torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ScaledModel(nn.Module):
    """``net(scaling(x))``: the unit that is trained, checkpointed and evaluated."""

    def __init__(self, scaling: InputScaling, net: nn.Module) -> None:
        super().__init__()
        self.scaling = scaling
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.scaling(x))


def batches(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool, generator: torch.Generator | None = None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Mini-batches of ``(X[i], y[i])``; shuffled with ``generator`` when ``shuffle``."""
    n = len(X)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield X[idx], y[idx]


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, device: torch.device, batch_size: int = 1024) -> np.ndarray:
    """Softmax probabilities ``(N, num_classes)`` of ``model`` on ``X`` (eval mode)."""
    model.eval()
    out = []
    for start in range(0, len(X), batch_size):
        logits = model(X[start : start + batch_size].to(device, non_blocking=True))
        out.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(out).numpy()
