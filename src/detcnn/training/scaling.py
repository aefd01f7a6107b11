"""The unit that is trained, saved and evaluated: a registered network between input standardisation (fitted
on the train split) and, for regressions, output scaling (:class:`ScaledModel`). Both scalings are buffers,
so they travel with the weights (``weights.pt`` keys ``scaling.mean``, ``scaling.std``, ``output.shift``,
``output.scale``, the network's under ``net.``) and evaluation needs nothing else."""

from __future__ import annotations

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
    def from_moments(cls, mean: np.ndarray, mean_sq: np.ndarray) -> InputScaling:
        """From per-channel E[x] and E[x^2]; a channel with zero spread keeps std 1."""
        std = np.sqrt(np.maximum(mean_sq - mean**2, 0.0))
        std = np.where(std > 0, std, 1.0)
        return cls(torch.from_numpy(np.asarray(mean, np.float64)), torch.from_numpy(std))

    @classmethod
    def fit(cls, images: np.ndarray) -> InputScaling:
        """Fit on ``images (N, C, H, W)``."""
        mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
        mean_sq = np.square(images, dtype=np.float64).mean(axis=(0, 2, 3))
        return cls.from_moments(mean, mean_sq)

    @classmethod
    def identity(cls, channels: int) -> InputScaling:
        """No scaling of ``channels`` channels (mean 0, std 1): the statistics are then loaded with the weights."""
        return cls(torch.zeros(channels), torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class OutputScaling(nn.Module):
    """``shift + scale * out``: a regression network predicts in units of the target's spread around its
    typical value (train statistics), so it starts at the right scale (an energy of 2 GeV, not 0)."""

    def __init__(self, shift: float, scale: float) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor(float(shift)))
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, out: torch.Tensor) -> torch.Tensor:
        return self.shift + self.scale * out


class ScaledModel(nn.Module):
    """``output(net(scaling(x)))``: the unit that is trained, checkpointed and evaluated (``output`` only for
    regressions)."""

    def __init__(self, scaling: InputScaling, net: nn.Module, output: OutputScaling | None = None) -> None:
        super().__init__()
        self.scaling = scaling
        self.net = net
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(self.scaling(x))
        return out if self.output is None else self.output(out)
