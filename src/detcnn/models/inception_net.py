"""A small GoogLeNet-style network (Szegedy et al., CVPR 2015): a 3x3 stem, inception modules each preceded
by 3x3 stride-2 max pooling, global average pooling and a linear head.

Inception modules let one layer see jet substructure at several scales (1x1, 3x3, 5x5) at once; the NOvA
neutrino classifier of the lecture (Aurisano et al., JINST 2016) is built from them.
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
from detcnn.models.blocks.inception import InceptionModule
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model

# (ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) per module: the columns of the paper's Table 1
DEFAULT_BLOCKS: tuple[tuple[int, ...], ...] = (
    (16, 16, 24, 4, 8, 8),
    (24, 24, 32, 8, 16, 16),
    (32, 32, 48, 8, 16, 16),
)


class InceptionNet(ImageClassifier):
    """Inception classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    ``blocks`` lists one 6-tuple of branch widths per inception module; each stage starts with a 3x3
    stride-2 max pool (the first one only with ``pool_first``: GoogLeNet also downsamples before its first
    module, and it makes the full-resolution max-pool branch, slow on a CPU, four times cheaper), so
    33 -> 17 -> 9 -> 5 by default. Submodules: ``stem``, ``stages`` (each ``pool`` + ``inception``), ``head``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        stem_width: int = 32,
        blocks: Sequence[Sequence[int]] = DEFAULT_BLOCKS,
        pool_first: bool = True,
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if not blocks or any(len(b) != 6 for b in blocks):
            raise ConfigError(
                f"blocks must be a non-empty list of (ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj),"
                f" got {blocks}"
            )
        check_image_size("inception_net", image_size, min_size=2 ** (len(blocks) - 1 + int(pool_first)))
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.stem = ConvNormAct(in_channels, stem_width, 3, norm_layer=make_norm, act_layer=make_act)
        stages: list[nn.Module] = []
        channels = stem_width
        for i, widths in enumerate(blocks):
            block = InceptionModule(channels, *widths, norm_layer=make_norm, act_layer=make_act)
            pool = nn.MaxPool2d(3, stride=2, padding=1) if (i > 0 or pool_first) else nn.Identity()
            stages.append(nn.Sequential(OrderedDict(pool=pool, inception=block)))
            channels = block.out_channels
        self.stages = nn.Sequential(*stages)
        self.head = pooled_head(channels, num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


@register_model("inception_net", kind=NetworkKind.CLASSIFIER)
def inception_net(**kwargs: object) -> InceptionNet:
    """A small GoogLeNet of inception modules (Szegedy et al. 2015)."""
    return InceptionNet(**kwargs)  # type: ignore[arg-type]
