"""Networks of depthwise-separable convolutions: Xception (Chollet, CVPR 2017) and MobileNet v1
(Howard et al., arXiv:1704.04861, 2017), both shrunk for 33x33 jet images on a laptop CPU.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.models.base import ImageClassifier, pooled_head
from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.pointwise import Pointwise
from detcnn.models.blocks.separable import SeparableConv2d
from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation
from detcnn.models.layers import ActLayer, NormLayer, act_layer, check_input_size, norm_layer, not_inplace
from detcnn.models.registry import register_model


class XceptionBlock(nn.Module):
    """``reps`` x (act -> separable conv -> norm), then 3x3 stride-2 max pool if ``stride == 2``, plus a shortcut.

    ``(N, in_ch, H, W)`` -> ``(N, out_ch, ceil(H / stride), ceil(W / stride))``. The shortcut is the identity
    when the shape is kept, else a strided 1x1 projection + norm (Chollet 2017, Fig. 5). Activations come
    before the separable convolutions and there is none after the addition; ``first_act=False`` leaves out
    the first one (the block right after the stem, whose output is already activated).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        reps: int,
        stride: int,
        norm_layer: NormLayer,
        act_layer: ActLayer,
        first_act: bool = True,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(reps):
            layers += [not_inplace(act_layer)() if (i > 0 or first_act) else nn.Identity()]
            layers += [
                SeparableConv2d(
                    in_ch if i == 0 else out_ch, out_ch, norm_layer=norm_layer, inner_act=False, outer_act=False
                )
            ]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride=stride, padding=1))
        self.residual = nn.Sequential(*layers)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = Pointwise(in_ch, out_ch, stride=stride, norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.residual(x)


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
        check_input_size(image_size, 2 ** (len(entry_widths) + 1), "xception")
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
            raise ValueError(f"width_multiplier must be positive, got {width_multiplier}")
        if any(len(entry) != 2 for entry in layers):
            raise ValueError(f"layers must be (channels, stride) pairs, got {layers}")
        downsampling = 1
        for _, stride in layers:
            downsampling *= int(stride)
        check_input_size(image_size, downsampling, "mobilenet")
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


@register_model("xception")
def xception(**kwargs: object) -> Xception:
    """A small Xception: separable convolutions with residual shortcuts (Chollet 2017)."""
    return Xception(**kwargs)  # type: ignore[arg-type]


@register_model("mobilenet")
def mobilenet(**kwargs: object) -> MobileNet:
    """MobileNet v1 with a width multiplier and optional squeeze-and-excitation (Howard et al. 2017)."""
    return MobileNet(**kwargs)  # type: ignore[arg-type]
