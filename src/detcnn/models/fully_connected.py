"""A fully-connected network on the flattened image: the reference point against which the lecture
measures what convolutions buy (weight sharing, locality, far fewer parameters per unit of capacity).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size
from detcnn.models.layers import act_layer, norm_layer_1d
from detcnn.models.registry import register_model


class FullyConnectedNet(ImageClassifier):
    """MLP classifier on ``(N, C, H, W)`` images, flattened to ``(N, C * H * W)`` -> logits ``(N, num_classes)``.

    ``hidden``: one Linear-norm-act-dropout layer per ``hidden_sizes`` entry (norm ``"batch"`` is
    ``nn.BatchNorm1d``); ``head``: the output Linear. ``forward_features`` flattens and applies ``hidden``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        hidden_sizes: Sequence[int] = (32, 32),
        dropout: float = 0.1,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__()
        check_image_size("fully_connected", image_size, min_size=1)
        make_norm, make_act = norm_layer_1d(norm), act_layer(act)
        self.flatten = nn.Flatten()
        features, layers = in_channels * image_size * image_size, []
        for width in hidden_sizes:
            norm_mod = make_norm(width)
            linear = nn.Linear(features, width, bias=isinstance(norm_mod, nn.Identity))
            layers.append(
                nn.Sequential(OrderedDict(linear=linear, norm=norm_mod, act=make_act(), dropout=nn.Dropout(dropout)))
            )
            features = width
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(self.flatten(x))


@register_model("fully_connected", kind=NetworkKind.CLASSIFIER)
def fully_connected(**kwargs: object) -> FullyConnectedNet:
    """A multilayer perceptron on the flattened image (the fully-connected reference)."""
    return FullyConnectedNet(**kwargs)  # type: ignore[arg-type]
