"""MobileNet v1 (Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", arXiv:1704.04861, 2017), shrunk for 33x33 jet images on a laptop CPU: a stem, then a stack of
depthwise-separable convolutions (``blocks/separable.py``), optionally each followed by squeeze-and-excitation.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, pooled_head
from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.separable import SeparableConv2d
from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model

# (output channels, stride) per depthwise-separable layer: MobileNet v1's Table 1, narrower and shorter
DEFAULT_MOBILENET_LAYERS: tuple[tuple[int, int], ...] = ((32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2))


def _scaled(channels: int, alpha: float) -> int:
    return max(1, round(channels * alpha))


class MobileNet(ImageClassifier):
    """MobileNet v1 classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    A 3x3 ``stem`` convolution, then ``blocks``: one depthwise-separable layer (dw-norm-act-pw-norm-act) per
    ``(channels, stride)`` entry of ``layers``, each optionally followed by squeeze-and-excitation on its output
    (``se=True``; Hu et al. 2018); global average pooling and a linear ``head``. ``width_multiplier`` (alpha)
    scales every channel count, so the cost falls roughly as alpha^2.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        stem_width: int = 16,
        layers: Sequence[Sequence[int]] = DEFAULT_MOBILENET_LAYERS,
        width_multiplier: float = 1.0,
        se: bool = False,
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if width_multiplier <= 0:
            raise ConfigError(f"width_multiplier must be positive, got {width_multiplier}")
        if any(len(entry) != 2 for entry in layers):
            raise ConfigError(f"layers must be (channels, stride) pairs, got {layers}")
        downsampling = 1
        for _, stride in layers:
            downsampling *= int(stride)
        check_image_size("mobilenet", image_size, min_size=downsampling)
        make_norm, make_act = norm_layer(norm), act_layer(act)
        channels = _scaled(stem_width, width_multiplier)
        self.stem = ConvNormAct(in_channels, channels, 3, norm_layer=make_norm, act_layer=make_act)
        blocks: list[nn.Module] = []
        for width, stride in layers:
            out = _scaled(width, width_multiplier)
            sep = SeparableConv2d(channels, out, 3, int(stride), norm_layer=make_norm, act_layer=make_act)
            gate = SqueezeExcitation(out, act_layer=make_act) if se else nn.Identity()
            blocks.append(nn.Sequential(OrderedDict(sep=sep, se=gate)))
            channels = out
        self.blocks = nn.Sequential(*blocks)
        self.head = pooled_head(channels, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


@register_model("mobilenet", kind=NetworkKind.CLASSIFIER)
def mobilenet(**kwargs: object) -> MobileNet:
    """MobileNet v1 with a width multiplier and optional squeeze-and-excitation (Howard et al. 2017)."""
    return MobileNet(**kwargs)  # type: ignore[arg-type]
