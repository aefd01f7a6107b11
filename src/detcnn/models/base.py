"""What every image classifier shares: the ``forward_features`` / ``forward_head`` split and the
global-average-pooling head."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class ImageClassifier(nn.Module):
    """Base of the classifiers: ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    Subclasses build ``self.head`` and define ``forward_features``; ``forward`` is the two in turn, so
    features can be taken out (for inspection, or a new head) without touching the network.
    """

    head: nn.Module

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def pooled_head(channels: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    """Global average pooling, dropout and a linear layer: ``(N, channels, H, W)`` -> ``(N, num_classes)``."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))


def dense_head(
    in_features: int, hidden: int, num_classes: int, dropout: float, act_layer: Callable[[], nn.Module]
) -> nn.Sequential:
    """Flatten, one hidden dense layer with activation and dropout, and the output layer (the jet-image
    CNN's head): ``(N, ...)`` with ``in_features`` values per image -> ``(N, num_classes)``."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, hidden),
        act_layer(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )
