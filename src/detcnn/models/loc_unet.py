"""A localisation network for single-molecule microscopy: a U-Net on the camera frame, then a learned
upsampling path to a grid ``upsampling`` times finer, where each fine pixel says whether an emitter sits in
it and where inside it (the DECODE idea of a detection map plus sub-pixel offsets, Speiser et al., Nature
Methods 18 (2021) 1082, on a Deep-STORM-like finer output grid, Nehme et al., Optica 5 (2018) 458).

``(N, C, H, W)`` frames -> ``(N, num_classes, f H, f W)`` maps (``f = upsampling``, a power of two):
channel 0 the detection logit, channels 1 and 2 the x and y offsets of the emitter from its fine pixel's
centre (raw: the task bounds them to +-0.5 fine pixels). The U-Net (``width``, ``depth``; H and W multiples of
``2**depth``) sees the PSF's neighbourhood at the camera's resolution; each upsampling stage is a 2x2
transposed convolution and a 3x3 convolution, halving the width down to ``min_width``. The detection
logit's bias starts at ``logit(prior)`` (Lin et al., "Focal loss for dense object detection", ICCV 2017): a
map that is almost everywhere empty is then where training starts, not something hundreds of optimiser
steps must first learn.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from detcnn.errors import ConfigError
from detcnn.models.base import check_image_size
from detcnn.models.blocks.conv import ConvNormAct, double_conv
from detcnn.models.blocks.unet_parts import UNetDecoder, UNetEncoder
from detcnn.models.blocks.upsample import UpConvTranspose
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model


class LocUNet(nn.Module):
    """See the module doc. Submodules: ``encoder``, ``decoder``, ``upsample`` (one stage per factor 2), ``head``."""

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 3,
        image_size: int = 24,
        upsampling: int = 4,
        width: int = 16,
        depth: int = 2,
        min_width: int = 8,
        prior: float = 0.01,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if upsampling < 1 or upsampling & (upsampling - 1):
            raise ConfigError(f"model 'loc_unet': upsampling must be a power of two, got {upsampling}")
        if depth < 1 or width < 1:
            raise ConfigError(f"model 'loc_unet': depth and width must be at least 1, got {depth} and {width}")
        self.divisor, self.upsampling = 2**depth, upsampling
        check_image_size("loc_unet", image_size, divisor=self.divisor, why=f"2**depth with depth={depth}")
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.encoder = UNetEncoder(in_channels, width, depth, double_conv, make_norm, make_act)
        self.decoder = UNetDecoder(self.encoder.out_channels, "transpose", double_conv, make_norm, make_act)
        stages, channels = [], self.decoder.out_channels
        for _ in range(upsampling.bit_length() - 1):
            out = max(min_width, channels // 2)
            conv = ConvNormAct(out, out, 3, norm_layer=make_norm, act_layer=make_act)
            stages.append(nn.Sequential(UpConvTranspose(channels, out, make_norm, make_act), conv))
            channels = out
        self.upsample = nn.Sequential(*stages)
        self.head = nn.Conv2d(channels, num_classes, 1)
        if not 0 < prior < 1:
            raise ConfigError(f"model 'loc_unet': prior must be in (0, 1), got {prior}")
        with torch.no_grad():  # the detection logit starts at the prior: the empty map is the easy first answer
            self.head.bias[0] = math.log(prior / (1.0 - prior))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_size("loc_unet", x.shape[-2], x.shape[-1], divisor=self.divisor)
        return self.head(self.upsample(self.decoder(self.encoder(x))))


@register_model("loc_unet", task="localiser")
def loc_unet(**kwargs: object) -> LocUNet:
    """U-Net plus learned upsampling to a finer grid: emitter detection and sub-pixel offsets per fine pixel."""
    return LocUNet(**kwargs)  # type: ignore[arg-type]
