"""Residual networks (He et al., CVPR 2016): ``y = act(x + f(x))`` with projection shortcuts.

Small by design for jet images: a 3x3 stem, stages of basic blocks given by ``layers``, global
average pooling and a linear head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from detcnn.models.layers import ActLayer, NormLayer, act_layer, check_input_size, norm_layer
from detcnn.models.registry import register_model


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; a 1x1 projection when the shape changes."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer, act_layer: ActLayer) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(out_ch)
        self.act1 = act_layer()
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = norm_layer(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), norm_layer(out_ch))
        self.act2 = act_layer()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.shortcut(x) + self.residual(x))


class ResNet(nn.Module):
    """ResNet classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``."""

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
    ) -> None:
        super().__init__()
        check_input_size(image_size, 2 ** (len(layers) - 1), "resnet")
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), make_norm(width), make_act())
        stages: list[nn.Module] = []
        channels = width
        for i, depth in enumerate(layers):
            out = width * 2**i
            blocks = [
                BasicBlock(channels if j == 0 else out, out, 2 if (i > 0 and j == 0) else 1, make_norm, make_act)
                for j in range(depth)
            ]
            stages.append(nn.Sequential(*blocks))
            channels = out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes)
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


@register_model("resnet")
def resnet(**kwargs: object) -> ResNet:
    """A small ResNet of basic blocks (He et al. 2016)."""
    return ResNet(**kwargs)  # type: ignore[arg-type]
