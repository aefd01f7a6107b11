"""Residual blocks (He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016):
``y = act(shortcut(x) + f(x))``.

The branch ``f`` learns only the change to its input, so a block with ``f = 0`` is the identity and a deep
stack trains as easily as a shallow one. The shortcut is the identity when the shape is kept, else a strided
1x1 projection (+ norm). ``BasicBlock``: two 3x3 convolutions; ``BottleneckBlock``: 1x1 reduce, 3x3, 1x1
expand (He et al. 2016, Fig. 5). ``se=True`` gates the branch with squeeze-and-excitation (Hu et al. 2018)
before the addition. ``BLOCKS`` maps the config names (``"basic"``, ``"bottleneck"``) to them.
"""

from __future__ import annotations

import torch
from torch import nn

from detcnn.models.blocks.squeeze_excitation import SqueezeExcitation
from detcnn.models.layers import ActLayer, NormLayer


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
