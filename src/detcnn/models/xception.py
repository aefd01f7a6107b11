"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017), shrunk for
33x33 jet images on a laptop CPU: a stem, then entry, middle and exit flows of ``XceptionBlock``s (separable
convolutions with residual shortcuts, ``blocks/separable.py``), global average pooling and a linear head.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, pooled_head
from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.separable import SeparableConv2d, XceptionBlock
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model


class Xception(ImageClassifier):
    """Xception classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    ``stem``: two 3x3 convolutions (``stem_width``, ``2 * stem_width``). ``entry_flow``: one stride-2 block
    of two separable convolutions per ``entry_widths`` entry. ``middle_flow``: ``middle_blocks`` blocks of
    three separable convolutions at constant width with identity shortcuts. ``exit_flow``: a stride-2 block
    to ``exit_widths[0]`` and an activated separable convolution to ``exit_widths[1]``. Then ``head``:
    global average pooling and a linear layer. The resolution is halved ``len(entry_widths) + 1`` times.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        stem_width: int = 8,
        entry_widths: Sequence[int] = (32, 64),
        middle_blocks: int = 2,
        exit_widths: Sequence[int] = (96, 128),
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if not entry_widths or len(exit_widths) != 2:
            raise ValueError(f"need entry_widths (>= 1) and two exit_widths, got {entry_widths}, {exit_widths}")
        check_image_size("xception", image_size, min_size=2 ** (len(entry_widths) + 1))
        make_norm, make_act = norm_layer(norm), act_layer(act)
        na = {"norm_layer": make_norm, "act_layer": make_act}
        self.stem = nn.Sequential(
            ConvNormAct(in_channels, stem_width, 3, **na), ConvNormAct(stem_width, 2 * stem_width, 3, **na)
        )
        channels, entry = 2 * stem_width, []
        for i, width in enumerate(entry_widths):
            entry.append(XceptionBlock(channels, width, 2, 2, make_norm, make_act, first_act=i > 0))
            channels = width
        self.entry_flow = nn.Sequential(*entry)
        self.middle_flow = nn.Sequential(
            *(XceptionBlock(channels, channels, 3, 1, make_norm, make_act) for _ in range(middle_blocks))
        )
        self.exit_flow = nn.Sequential(
            XceptionBlock(channels, exit_widths[0], 2, 2, make_norm, make_act),
            make_act(),
            SeparableConv2d(exit_widths[0], exit_widths[1], inner_act=False, **na),
        )
        self.head = pooled_head(exit_widths[1], num_classes, dropout)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.exit_flow(self.middle_flow(self.entry_flow(self.stem(x))))


@register_model("xception", kind=NetworkKind.CLASSIFIER)
def xception(**kwargs: object) -> Xception:
    """A small Xception: separable convolutions with residual shortcuts (Chollet 2017)."""
    return Xception(**kwargs)  # type: ignore[arg-type]
