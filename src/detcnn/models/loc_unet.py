"""A localisation network for single-molecule microscopy: a U-Net on the camera frame whose last layer
predicts, for every camera pixel, the maps of its ``f x f`` sub-pixels, rearranged into a grid ``f`` times
finer (sub-pixel convolution, Shi et al., CVPR 2016 1874). Each fine pixel says whether an emitter sits in it
and where inside it: the DECODE idea of a detection map plus sub-pixel offsets (Speiser et al., Nature
Methods 18 (2021) 1082) on a Deep-STORM-like finer output grid (Nehme et al., Optica 5 (2018) 458).

``(N, C, H, W)`` frames -> ``(N, num_classes, f H, f W)`` maps (``f = upsampling``): channel 0 the detection
logit, channels 1 and 2 the x and y offsets of the emitter from its fine pixel's centre (raw: the task bounds
them to +-0.5 fine pixels). The U-Net (``width``, ``depth``; H and W multiples of ``2**depth``) sees the PSF's
neighbourhood at the camera's resolution; the head is a 3x3 convolution to ``head_width`` channels and a 1x1
convolution to ``num_classes * f**2``, shuffled into the fine grid. All convolutions run at the camera's
resolution or coarser, which makes this about three times faster on a CPU than upsampling with transposed
convolutions before the head. The detection logits' bias starts at ``logit(prior)`` (Lin et al., "Focal loss
for dense object detection", ICCV 2017): a map that is almost everywhere empty is where training starts, not
something hundreds of optimiser steps must first learn.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models.base import check_image_size
from detcnn.models.blocks.conv import ConvNormAct, double_conv
from detcnn.models.blocks.unet_parts import UNetDecoder, UNetEncoder
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model


class LocUNet(nn.Module):
    """See the module doc. Submodules: ``encoder``, ``decoder``, ``head`` (ends in the pixel shuffle)."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 3,
        image_size: int = 24,
        upsampling: int = 4,
        width: int = 16,
        depth: int = 2,
        head_width: int = 32,
        prior: float = 0.01,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if upsampling < 1:
            raise ConfigError(f"model 'loc_unet': upsampling must be at least 1, got {upsampling}")
        if depth < 1 or width < 1 or head_width < 1:
            raise ConfigError(f"model 'loc_unet': depth, width and head_width must be at least 1, got {depth}, "
                              f"{width} and {head_width}")  # fmt: skip
        if not 0 < prior < 1:
            raise ConfigError(f"model 'loc_unet': prior must be in (0, 1), got {prior}")
        self.divisor, self.upsampling = 2**depth, upsampling
        check_image_size("loc_unet", image_size, divisor=self.divisor, why=f"2**depth with depth={depth}")
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.encoder = UNetEncoder(in_channels, width, depth, double_conv, make_norm, make_act)
        self.decoder = UNetDecoder(self.encoder.out_channels, "transpose", double_conv, make_norm, make_act)
        sub = upsampling**2
        last = nn.Conv2d(head_width, num_classes * sub, 1)
        with torch.no_grad():  # pixel shuffle: input channels [0, f^2) become output channel 0, the detection
            last.bias[:sub] = math.log(prior / (1.0 - prior))
        conv = ConvNormAct(self.decoder.out_channels, head_width, 3, norm_layer=make_norm, act_layer=make_act)
        self.head = nn.Sequential(conv, last, nn.PixelShuffle(upsampling))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_size("loc_unet", x.shape[-2], x.shape[-1], divisor=self.divisor)
        return self.head(self.decoder(self.encoder(x)))


@register_model("loc_unet", kind=NetworkKind.LOCALISER, takes=("upsampling",))
def loc_unet(**kwargs: object) -> LocUNet:
    """U-Net with a sub-pixel convolution head: emitter detection and sub-pixel offsets per fine pixel."""
    return LocUNet(**kwargs)  # type: ignore[arg-type]
