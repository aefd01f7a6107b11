"""The U-Net's parts, shared by the networks built on it (``unet``, ``uresnet``, ``loc_unet``): the
contracting path (``UNetEncoder``: a level block, then 2x2 max pooling and a level block ``depth`` times,
doubling the width), the expanding path (``UNetDecoder``: ``UpStage`` = 2x upsampling, concatenation of the
encoder's map of the same resolution, a level block) and the level blocks (two 3x3 convolutions, or a ResNet
basic block). Shapes in the classes' docstrings.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn

from detcnn.models.blocks.conv import double_conv
from detcnn.models.blocks.residual import BasicBlock
from detcnn.models.blocks.upsample import UPSAMPLERS
from detcnn.models.layers import ActLayer, NormLayer

LevelBlock = Callable[[int, int, NormLayer, ActLayer], nn.Module]


def residual_block(in_ch: int, out_ch: int, make_norm: NormLayer, make_act: ActLayer) -> BasicBlock:
    """U-ResNet's level: a ResNet basic block (two 3x3 convolutions, 1x1 projection shortcut when the width
    changes), ``(N, in_ch, H, W)`` -> ``(N, out_ch, H, W)``."""
    return BasicBlock(in_ch, out_ch, 1, make_norm, make_act)


LEVEL_BLOCKS: dict[str, LevelBlock] = {"double_conv": double_conv, "residual": residual_block}


class UNetEncoder(nn.Module):
    """``(N, c, H, W)`` -> ``[f_0, ..., f_depth]``, ``f_i`` of shape ``(N, width * 2**i, H / 2**i, W / 2**i)``.

    ``levels[0]`` is the level block on the input; ``levels[i]`` (``i >= 1``) is ``pool`` (2x2 max pooling)
    then ``block``. ``out_channels`` lists the widths of the ``f_i``.
    """

    def __init__(
        self, in_ch: int, width: int, depth: int, block: LevelBlock, make_norm: NormLayer, make_act: ActLayer
    ) -> None:
        super().__init__()
        self.out_channels = [width * 2**i for i in range(depth + 1)]
        levels: list[nn.Module] = [block(in_ch, width, make_norm, make_act)]
        for i in range(1, depth + 1):
            down = block(self.out_channels[i - 1], self.out_channels[i], make_norm, make_act)
            levels.append(nn.Sequential(OrderedDict(pool=nn.MaxPool2d(2), block=down)))
        self.levels = nn.ModuleList(levels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features


class UpStage(nn.Module):
    """One expanding step: ``up`` (2x, to ``skip_ch`` channels), concatenation ``[skip, up(x)]``, ``block``.

    ``x``: ``(N, in_ch, h, w)``, ``skip``: ``(N, skip_ch, 2h, 2w)`` -> ``(N, skip_ch, 2h, 2w)``.
    """

    def __init__(
        self, in_ch: int, skip_ch: int, upsample: str, block: LevelBlock, make_norm: NormLayer, make_act: ActLayer
    ) -> None:
        super().__init__()
        self.up = UPSAMPLERS[upsample](in_ch, skip_ch)
        self.block = block(2 * skip_ch, skip_ch, make_norm, make_act)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(torch.cat([skip, self.up(x)], dim=1))


class UNetDecoder(nn.Module):
    """``[f_0, ..., f_depth]`` -> ``(N, out_channels, H, W)``: ``stages[k]`` takes the running map up from level
    ``depth - k`` to ``depth - k - 1``, with ``f_{depth - k - 1}`` as its skip; ``out_channels = width``."""

    def __init__(
        self,
        encoder_channels: list[int],
        upsample: str,
        block: LevelBlock,
        make_norm: NormLayer,
        make_act: ActLayer,
    ) -> None:
        super().__init__()
        coarse_to_fine = encoder_channels[::-1]
        self.stages = nn.ModuleList(
            UpStage(coarse, fine, upsample, block, make_norm, make_act) for coarse, fine in pairwise(coarse_to_fine)
        )
        self.out_channels = encoder_channels[0]

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        for stage, skip in zip(self.stages, features[-2::-1], strict=True):
            x = stage(x, skip)
        return x
