"""U-Net (Ronneberger, Fischer, Brox, MICCAI 2015) and U-ResNet (MicroBooNE: C. Adams et al., "Deep neural
network for pixel-level electromagnetic particle identification in the MicroBooNE liquid argon time
projection chamber", PRD 99 (2019) 092001) for per-pixel labels of detector images.

The contracting path halves the resolution ``depth`` times (2x2 max pooling) and doubles the channels;
each level is two 3x3 convolutions (``unet``) or a residual block of two 3x3 convolutions (``uresnet``).
The expanding path upsamples 2x (a 2x2 transposed convolution, or bilinear upsampling and a 3x3
convolution), concatenates the encoder's feature map of the same resolution (the skip connection, which
brings back the pixel-level detail the pooling lost) and applies the same kind of block. A 1x1
convolution gives ``num_classes`` logits per pixel (``num_classes=1``: a regressed value per pixel).

Each view (wire plane) is segmented on its own by the same network (``ImageSegmenter``), so the output is
``(N, num_classes, n_views, H, W)``. H and W must be multiples of ``2**depth``.

This module registers ``unet``; ``uresnet.py`` registers the residual variant of the same ``UNet``. The level
blocks are ``blocks/conv.py``'s ``double_conv`` and ``blocks/residual.py``'s ``BasicBlock``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from itertools import pairwise

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.models.base import ImageSegmenter, check_image_size, check_views
from detcnn.models.blocks.conv import double_conv
from detcnn.models.blocks.residual import BasicBlock
from detcnn.models.blocks.upsample import UPSAMPLERS
from detcnn.models.layers import ActLayer, NormLayer, act_layer, norm_layer
from detcnn.models.registry import register_model

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


class UNet(ImageSegmenter):
    """U-Net / U-ResNet on ``(N, n_views * c, H, W)`` -> per-pixel logits ``(N, num_classes, n_views, H, W)``.

    Args: ``n_views`` (views per image, segmented with shared weights; must divide ``in_channels``),
    ``width`` (channels of the first level, doubled at each of the ``depth`` poolings), ``depth``,
    ``upsample`` (``"transpose"`` or ``"bilinear"``), ``block`` (``"double_conv"`` or ``"residual"``),
    ``norm``, ``act``. ``image_size`` must be a multiple of ``2**depth``; so must H and W in ``forward``
    (any such size works: the network is fully convolutional). Submodules: ``encoder``, ``decoder``, ``head``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 3,
        image_size: int = 48,
        n_views: int = 1,
        width: int = 16,
        depth: int = 3,
        upsample: str = "transpose",
        block: str = "double_conv",
        norm: str = "batch",
        act: str = "relu",
        model_name: str = "unet",
    ) -> None:
        super().__init__()
        for what, value, table in (("upsample", upsample, UPSAMPLERS), ("block", block, LEVEL_BLOCKS)):
            if value not in table:
                raise ConfigError(f"model '{model_name}': unknown {what} '{value}'; valid: {sorted(table)}")
        if depth < 1 or width < 1:
            raise ConfigError(f"model '{model_name}': depth and width must be at least 1, got {depth} and {width}")
        self.model_name, self.n_views = model_name, n_views
        self.size_divisor, self.size_reason = 2**depth, f"2**depth with depth={depth}"
        self.view_channels = check_views(in_channels, n_views, model_name)
        check_image_size(model_name, image_size, divisor=self.size_divisor, why=self.size_reason)
        make_norm, make_act, level = norm_layer(norm), act_layer(act), LEVEL_BLOCKS[block]
        self.encoder = UNetEncoder(self.view_channels, width, depth, level, make_norm, make_act)
        self.decoder = UNetDecoder(self.encoder.out_channels, upsample, level, make_norm, make_act)
        self.head = nn.Conv2d(self.decoder.out_channels, num_classes, 1)


@register_model("unet", task="segmenter")
def unet(**kwargs: object) -> UNet:
    """U-Net: double 3x3 conv levels, max pooling, skip connections by concatenation (Ronneberger et al. 2015)."""
    return UNet(**kwargs)  # type: ignore[arg-type]
