"""Residual networks (He et al., CVPR 2016): ``y = act(x + f(x))`` with projection shortcuts.

Small by design for jet images: a 3x3 stem, stages of basic or bottleneck blocks (``blocks/residual.py``)
given by ``layers``, global average pooling and a linear head. ``se=True`` adds squeeze-and-excitation to
every residual branch (Hu et al., CVPR 2018); that variant is registered as ``se_resnet`` in ``se_resnet.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, pooled_head
from detcnn.models.blocks.residual import BLOCKS
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model


class ResNet(ImageClassifier):
    """ResNet classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    Stage ``i`` has ``layers[i]`` blocks of ``width * 2**i * expansion`` output channels (expansion 1 for
    ``block="basic"``, 4 for ``"bottleneck"``); every stage after the first halves the resolution.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        width: int = 16,
        layers: Sequence[int] = (1, 1, 1),
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
        block: str = "basic",
        se: bool = False,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise KeyError(f"unknown block '{block}'; valid: {sorted(BLOCKS)}")
        check_image_size("se_resnet" if se else "resnet", image_size, min_size=2 ** (len(layers) - 1))
        make_norm, make_act, block_cls = norm_layer(norm), act_layer(act), BLOCKS[block]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), make_norm(width), make_act())
        stages: list[nn.Module] = []
        channels = width
        for i, depth in enumerate(layers):
            out = width * 2**i * block_cls.expansion
            blocks = [
                block_cls(channels if j == 0 else out, out, 2 if (i > 0 and j == 0) else 1, make_norm, make_act, se=se)
                for j in range(depth)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = out
        self.stages = nn.Sequential(*stages)
        self.head = pooled_head(channels, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


@register_model("resnet", kind=NetworkKind.CLASSIFIER)
def resnet(**kwargs: object) -> ResNet:
    """A small ResNet of basic (or, with ``block="bottleneck"``, bottleneck) blocks (He et al. 2016)."""
    return ResNet(**kwargs)  # type: ignore[arg-type]
