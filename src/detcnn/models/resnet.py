"""Residual networks (He et al., CVPR 2016): ``y = act(x + f(x))`` with projection shortcuts.

Small by design for jet images: a 3x3 stem, stages of basic or bottleneck blocks given by ``layers``, global
average pooling and a linear head. ``se=True`` adds squeeze-and-excitation to every residual branch
(Hu et al., CVPR 2018), registered as ``se_resnet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from detcnn.models.base import ImageClassifier, pooled_head
from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation
from detcnn.models.layers import ActLayer, NormLayer, act_layer, check_input_size, norm_layer
from detcnn.models.registry import register_model


def _shortcut(in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer) -> nn.Module:
    """Identity when the shape is kept, else a strided 1x1 projection (+ norm)."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), norm_layer(out_ch))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; a 1x1 projection when the shape changes.

    ``(N, in_ch, H, W)`` -> ``(N, out_ch, H / stride, W / stride)``; ``se=True`` gates the residual branch
    with squeeze-and-excitation before the addition.
    """

    expansion = 1

    def __init__(
        self, in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer, act_layer: ActLayer, se: bool = False
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(out_ch)
        self.act1 = act_layer()
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = norm_layer(out_ch)
        self.se: nn.Module = SqueezeExcitation(out_ch, act_layer=act_layer) if se else nn.Identity()
        self.shortcut = _shortcut(in_ch, out_ch, stride, norm_layer)
        self.act2 = act_layer()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.se(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.shortcut(x) + self.residual(x))


class BottleneckBlock(nn.Module):
    """1x1 reduce -> 3x3 (carrying the stride) -> 1x1 expand, with a shortcut (He et al. 2016, Fig. 5).

    ``(N, in_ch, H, W)`` -> ``(N, out_ch, H / stride, W / stride)``; the 3x3 convolution works on
    ``out_ch // expansion`` channels. A 1x1 projection shortcut when the shape changes; ``se=True`` gates the
    residual branch with squeeze-and-excitation before the addition.
    """

    expansion = 4

    def __init__(
        self, in_ch: int, out_ch: int, stride: int, norm_layer: NormLayer, act_layer: ActLayer, se: bool = False
    ) -> None:
        super().__init__()
        mid = max(1, out_ch // self.expansion)
        self.conv1 = nn.Conv2d(in_ch, mid, 1, bias=False)
        self.bn1 = norm_layer(mid)
        self.act1 = act_layer()
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = norm_layer(mid)
        self.act2 = act_layer()
        self.conv3 = nn.Conv2d(mid, out_ch, 1, bias=False)
        self.bn3 = norm_layer(out_ch)
        self.se: nn.Module = SqueezeExcitation(out_ch, act_layer=act_layer) if se else nn.Identity()
        self.shortcut = _shortcut(in_ch, out_ch, stride, norm_layer)
        self.act3 = act_layer()

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.bn1(self.conv1(x)))
        y = self.act2(self.bn2(self.conv2(y)))
        return self.se(self.bn3(self.conv3(y)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act3(self.shortcut(x) + self.residual(x))


BLOCKS: dict[str, type[BasicBlock] | type[BottleneckBlock]] = {"basic": BasicBlock, "bottleneck": BottleneckBlock}


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
        check_input_size(image_size, 2 ** (len(layers) - 1), "se_resnet" if se else "resnet")
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


@register_model("resnet")
def resnet(**kwargs: object) -> ResNet:
    """A small ResNet of basic (or, with ``block="bottleneck"``, bottleneck) blocks (He et al. 2016)."""
    return ResNet(**kwargs)  # type: ignore[arg-type]


@register_model("se_resnet")
def se_resnet(**kwargs: object) -> ResNet:
    """The small ResNet with squeeze-and-excitation in every residual branch (Hu et al. 2018)."""
    return ResNet(se=True, **kwargs)  # type: ignore[arg-type]
