"""Depthwise-separable convolution (Chollet, "Xception", CVPR 2017; Howard et al., "MobileNets", 2017).

A kxk convolution is factorised into a depthwise convolution (one kxk filter per input channel,
``groups = C_in``: spatial correlations only) and a point-wise 1x1 convolution (cross-channel correlations
only). Parameters drop from ``C_in * C_out * k * k`` to ``C_in * k * k + C_in * C_out``.

``XceptionBlock`` stacks them with a residual shortcut, the unit of Xception's entry, middle and exit flows.
"""

from __future__ import annotations

import torch
from torch import nn

from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.pointwise import Pointwise
from detcnn.models.layers import ActLayer, NormLayer, not_inplace


class SeparableConv2d(nn.Sequential):
    """Depthwise kxk then point-wise 1x1: ``(N, C_in, H, W)`` -> ``(N, C_out, H / stride, W / stride)``.

    ``inner_act=True`` (MobileNet): depthwise-norm-act-pointwise-norm-act. ``inner_act=False`` (Xception):
    depthwise-pointwise-norm(-act), nothing in between (then the depthwise bias is left out: the linear
    point-wise convolution that follows would absorb it). ``outer_act=False`` leaves out the final activation
    (Xception applies its activations before each separable convolution). Submodules: ``depthwise``,
    ``pointwise`` (each a ``ConvNormAct``).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
        inner_act: bool = True,
        outer_act: bool = True,
    ) -> None:
        super().__init__()
        self.depthwise = ConvNormAct(
            in_ch,
            in_ch,
            kernel_size,
            stride,
            groups=in_ch,
            norm_layer=norm_layer if inner_act else None,
            act_layer=act_layer if inner_act else None,
            bias=None if inner_act else False,
        )
        self.pointwise = Pointwise(in_ch, out_ch, norm_layer=norm_layer, act_layer=act_layer if outer_act else None)
        self.in_channels, self.out_channels = in_ch, out_ch


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
