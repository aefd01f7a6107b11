"""A small DenseNet-BC (Huang et al., CVPR 2017): a 3x3 stem convolution, dense blocks separated by
compressing transition layers, a final norm-act, global average pooling and a linear head.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, pooled_head
from detcnn.models.blocks.dense import DenseBlock, Transition
from detcnn.models.layers import act_layer, is_identity_norm, norm_layer
from detcnn.models.registry import register_model


class DenseNet(ImageClassifier):
    """DenseNet classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    The ``stem`` convolution gives ``2 * growth_rate`` channels (no norm-act: every dense layer starts with
    one). Stage ``i`` of ``stages`` is a ``transition`` (for ``i > 0``: compress by ``compression``, halve the
    resolution) then a ``dense`` block of ``block_layers[i]`` layers. Then ``final_norm``, ``final_act`` and
    the ``head``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        growth_rate: int = 8,
        block_layers: Sequence[int] = (2, 4, 4),
        compression: float = 0.5,
        bn_size: int = 4,
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if not block_layers:
            raise ConfigError("block_layers must list at least one dense block")
        check_image_size("densenet", image_size, min_size=2 ** (len(block_layers) - 1))
        make_norm, make_act = norm_layer(norm), act_layer(act)
        channels = 2 * growth_rate
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=is_identity_norm(make_norm))
        stages: list[nn.Module] = []
        for i, n_layers in enumerate(block_layers):
            parts: OrderedDict[str, nn.Module] = OrderedDict()
            if i > 0:
                parts["transition"] = Transition(channels, compression, make_norm, make_act)
                channels = parts["transition"].out_channels
            parts["dense"] = DenseBlock(channels, n_layers, growth_rate, bn_size, make_norm, make_act)
            channels = parts["dense"].out_channels
            stages.append(nn.Sequential(parts))
        self.stages = nn.Sequential(*stages)
        self.final_norm = make_norm(channels)
        self.final_act = make_act()
        self.head = pooled_head(channels, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_act(self.final_norm(self.stages(self.stem(x))))


@register_model("densenet", kind=NetworkKind.CLASSIFIER)
def densenet(**kwargs: object) -> DenseNet:
    """A small DenseNet-BC: dense blocks with growth rate and compressing transitions (Huang et al. 2017)."""
    return DenseNet(**kwargs)  # type: ignore[arg-type]
