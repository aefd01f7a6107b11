"""A locally-connected network for centred jet images: a shared-weight convolutional stem, then
locally-connected layers whose filters differ at every position (see ``blocks.locally_connected``),
then flatten and a small fully-connected head.

Jet images are centred and oriented by preprocessing, so where a feature appears carries physics (core vs.
periphery of the jet); unshared weights can use that, at the price of many parameters per position and a
fixed input size. Strides keep the layer sizes small: every downsampling is a stride-2, "same"-padded 3x3
window, whose outputs sit on the even input pixels, so the centre pixel of an odd-sized image stays the
centre pixel (33 -> 17 -> 9).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, dense_head
from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.locally_connected import LocallyConnected2d
from detcnn.models.layers import act_layer, is_identity_norm, norm_layer
from detcnn.models.registry import register_model


class LocallyConnectedNet(ImageClassifier):
    """Locally-connected classifier on ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    ``stem``: 3x3 stride-2 convolution (``stem_width``) -norm-act. ``local``: one ``LocallyConnected2d``
    (kernel ``kernel_size``, "same" padding, stride ``strides[i]``) -norm-act per ``widths`` entry.
    ``head``: flatten, a ``dense``-unit hidden layer, act, dropout and the output layer.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 2,
        image_size: int = 33,
        stem_width: int = 8,
        widths: Sequence[int] = (8, 8),
        strides: Sequence[int] = (2, 1),
        kernel_size: int = 3,
        dense: int = 64,
        dropout: float = 0.25,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if len(widths) != len(strides) or not widths:
            raise ValueError(f"widths {list(widths)} and strides {list(strides)} must be non-empty, of equal length")
        downsampling = 2
        for stride in strides:
            downsampling *= int(stride)
        check_image_size("locally_connected", image_size, min_size=downsampling)
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.stem = ConvNormAct(in_channels, stem_width, 3, stride=2, norm_layer=make_norm, act_layer=make_act)
        channels, size, layers = stem_width, (image_size + 1) // 2, []
        for width, stride in zip(widths, strides, strict=True):
            lc = LocallyConnected2d(
                channels, width, size, kernel_size, int(stride), kernel_size // 2, bias=is_identity_norm(make_norm)
            )
            layers.append(nn.Sequential(OrderedDict(lc=lc, norm=make_norm(width), act=make_act())))
            channels, size = width, lc.output_size[0]
        self.local = nn.Sequential(*layers)
        self.head = dense_head(channels * size * size, dense, num_classes, dropout, make_act)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.local(self.stem(x))


@register_model("locally_connected", kind=NetworkKind.CLASSIFIER)
def locally_connected(**kwargs: object) -> LocallyConnectedNet:
    """Convolutional stem + locally-connected (unshared-weight) layers + dense head, for centred jet images."""
    return LocallyConnectedNet(**kwargs)  # type: ignore[arg-type]
