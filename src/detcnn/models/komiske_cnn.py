"""The jet-image CNN of Komiske, Metodiev, Schwartz, JHEP 01 (2017) 110.

Three convolutional layers (64 filters of 8x8, 4x4, 4x4 in the paper), each followed by ReLU,
2x2 max pooling and dropout, then a 128-unit dense layer and the output. Filter counts, kernel sizes,
dropout and the dense width are arguments, so a leaner version trains on a laptop CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, dense_head
from detcnn.models.layers import act_layer, norm_layer, same_padding
from detcnn.models.registry import register_model


class KomiskeCNN(ImageClassifier):
    """Plain CNN classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``."""

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        filters: Sequence[int] = (64, 64, 64),
        kernels: Sequence[int] = (8, 4, 4),
        dropout: float = 0.25,
        dense: int = 128,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if len(filters) != len(kernels):
            raise ConfigError(f"filters {list(filters)} and kernels {list(kernels)} must have the same length")
        check_image_size("komiske_cnn", image_size, min_size=2 ** len(filters))
        make_norm, make_act = norm_layer(norm), act_layer(act)
        layers: list[nn.Module] = []
        channels, size = in_channels, image_size
        for width, kernel in zip(filters, kernels, strict=True):
            layers += [
                same_padding(kernel),
                nn.Conv2d(channels, width, kernel),
                make_norm(width),
                make_act(),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            ]
            channels, size = width, size // 2
        self.features = nn.Sequential(*layers)
        self.head = dense_head(channels * size * size, dense, num_classes, dropout, make_act)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


@register_model("komiske_cnn", kind=NetworkKind.CLASSIFIER)
def komiske_cnn(**kwargs: object) -> KomiskeCNN:
    """The quark/gluon jet-image CNN (JHEP 01 (2017) 110)."""
    return KomiskeCNN(**kwargs)  # type: ignore[arg-type]
