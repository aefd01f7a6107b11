"""``ConvNormAct``: the convolution -> normalisation -> activation unit that the other blocks are built from;
``double_conv``: two of them, U-Net's level (Ronneberger, Fischer, Brox, MICCAI 2015)."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from detcnn.models.layers import ActLayer, NormLayer


class ConvNormAct(nn.Sequential):
    """``act(norm(conv(x)))`` on ``(N, C_in, H, W)`` -> ``(N, C_out, H', W')``; ``padding`` defaults to ``k // 2``.

    ``norm_layer=None`` / ``act_layer=None`` leave that step out (an ``nn.Identity``). The convolution has a
    bias only when no normalisation follows it (``bias=None``), since a norm's shift makes a bias redundant.
    Submodules: ``conv``, ``norm``, ``act``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
        bias: bool | None = None,
    ) -> None:
        norm = norm_layer(out_ch) if norm_layer is not None else nn.Identity()
        if bias is None:
            bias = isinstance(norm, nn.Identity)
        padding = kernel_size // 2 if padding is None else padding
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, groups=groups, bias=bias)
        self.norm = norm
        self.act = act_layer() if act_layer is not None else nn.Identity()
        self.in_channels, self.out_channels = in_ch, out_ch


def double_conv(in_ch: int, out_ch: int, make_norm: NormLayer, make_act: ActLayer) -> nn.Sequential:
    """U-Net's level: two 3x3 conv + norm + act, ``(N, in_ch, H, W)`` -> ``(N, out_ch, H, W)``."""
    na = {"norm_layer": make_norm, "act_layer": make_act}
    return nn.Sequential(
        OrderedDict(conv1=ConvNormAct(in_ch, out_ch, 3, **na), conv2=ConvNormAct(out_ch, out_ch, 3, **na))
    )
