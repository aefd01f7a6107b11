"""Point-wise (1x1) convolutions and the 1x1 bottleneck (Lin, Chen, Yan, "Network in Network", ICLR 2014;
Szegedy et al., "Going deeper with convolutions", CVPR 2015).

A 1x1 convolution mixes channels at each pixel separately: a fully-connected layer ``(C_out, C_in)`` applied
to the feature vector of every pixel, with the same weights everywhere. Placed before an expensive kxk
convolution it reduces the channel count first (a bottleneck), which is what makes inception modules,
bottleneck residual blocks and DenseNet-BC affordable.
"""

from __future__ import annotations

import torch
from torch import nn

from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.layers import ActLayer, NormLayer


class Pointwise(ConvNormAct):
    """1x1 convolution (+ norm + act): ``(N, C_in, H, W)`` -> ``(N, C_out, H / stride, W / stride)``.

    ``y[n, :, i, j] = W @ x[n, :, i, j] + b`` with ``W = conv.weight[:, :, 0, 0]`` of shape ``(C_out, C_in)``
    (then norm and act). A ``stride`` > 1 subsamples, as the projection shortcuts of ResNet and Xception do.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        stride: int = 1,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
        bias: bool | None = None,
    ) -> None:
        super().__init__(in_ch, out_ch, 1, stride=stride, norm_layer=norm_layer, act_layer=act_layer, bias=bias)


class Bottleneck1x1(nn.Module):
    """1x1 reduce -> kxk -> optional 1x1 expand: ``(N, C_in, H, W)`` -> ``(N, C_out, H / stride, W / stride)``.

    ``reduce`` maps ``in_ch`` to ``mid_ch`` channels so the kxk convolution (``conv``) costs ``mid_ch / in_ch``
    of the full one. Without ``expand`` the kxk convolution produces ``out_ch`` channels (an inception branch);
    with it the kxk convolution keeps ``mid_ch`` and ``expand`` is a 1x1 convolution to ``out_ch`` (the
    bottleneck residual branch of He et al. 2016). Every convolution is followed by norm and act.
    """

    def __init__(
        self,
        in_ch: int,
        mid_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand: bool = False,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
    ) -> None:
        super().__init__()
        conv_out = mid_ch if expand else out_ch
        self.reduce = Pointwise(in_ch, mid_ch, norm_layer=norm_layer, act_layer=act_layer)
        self.conv = ConvNormAct(mid_ch, conv_out, kernel_size, stride, norm_layer=norm_layer, act_layer=act_layer)
        self.expand = Pointwise(mid_ch, out_ch, norm_layer=norm_layer, act_layer=act_layer) if expand else nn.Identity()
        self.out_channels = out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.conv(self.reduce(x)))
