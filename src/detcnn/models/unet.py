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

This module registers ``unet``; ``uresnet.py`` registers the residual variant of the same ``UNet``. Its parts
(encoder, decoder, level blocks) are ``blocks/unet_parts.py``.
"""

from __future__ import annotations

from torch import nn

from detcnn.errors import ConfigError
from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageSegmenter, check_image_size, check_views
from detcnn.models.blocks.unet_parts import LEVEL_BLOCKS, UNetDecoder, UNetEncoder
from detcnn.models.blocks.upsample import UPSAMPLERS
from detcnn.models.layers import act_layer, norm_layer
from detcnn.models.registry import register_model


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


@register_model("unet", kind=NetworkKind.SEGMENTER, takes=("n_views",))
def unet(**kwargs: object) -> UNet:
    """U-Net: double 3x3 conv levels, max pooling, skip connections by concatenation (Ronneberger et al. 2015)."""
    return UNet(**kwargs)  # type: ignore[arg-type]
