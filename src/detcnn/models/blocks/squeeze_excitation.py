"""Squeeze-and-excitation (Hu, Shen, Albanie, Sun, Wu, "Squeeze-and-Excitation Networks", CVPR 2018 / TPAMI 2019).

Squeeze: global average pooling summarises each channel in one number. Excitation: a two-layer bottleneck
MLP (reduce by ``reduction``, act, expand, sigmoid) turns those summaries into a gate in (0, 1) per channel,
which rescales the channels: the block re-weights features by global context at a cost of ~2 C^2 / r weights.
"""

from __future__ import annotations

import torch
from torch import nn

from detcnn.models.layers import ActLayer


class SqueezeExcitation(nn.Module):
    """``x * gate(x)`` on ``(N, C, H, W)``; ``gate(x)`` is ``(N, C, 1, 1)`` in (0, 1).

    The fully-connected layers are 1x1 convolutions on the pooled ``(N, C, 1, 1)`` map (``reduce``: C -> C / r,
    ``expand``: C / r -> C), which is the same as ``nn.Linear`` without reshaping.
    """

    def __init__(self, channels: int, reduction: int = 4, act_layer: ActLayer = nn.ReLU) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.act = act_layer()
        self.expand = nn.Conv2d(hidden, channels, 1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel gate ``(N, C, 1, 1)`` in (0, 1)."""
        return torch.sigmoid(self.expand(self.act(self.reduce(self.pool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
