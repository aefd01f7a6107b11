"""Dense blocks and transition layers (Huang, Liu, van der Maaten, Weinberger, "Densely Connected
Convolutional Networks", CVPR 2017; the DenseNet-BC variant).

Inside a dense block every layer sees the concatenation of the block input and all earlier layers' outputs
and adds ``growth_rate`` new channels, so features are reused instead of re-learned. The channel count grows
linearly; 1x1 bottlenecks inside each layer and compressing transition layers (1x1 convolution + 2x2 average
pooling) between blocks keep it affordable.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from detcnn.models.layers import ActLayer, NormLayer, is_identity_norm, not_inplace


class DenseLayer(nn.Module):
    """BN-act-1x1 conv (``bn_size * growth_rate``) - BN-act-3x3 conv: ``(N, C_in, H, W)`` -> ``(N, growth, H, W)``.

    Pre-activation order; returns only the new ``growth_rate`` channels (the block concatenates).
    """

    def __init__(
        self,
        in_ch: int,
        growth_rate: int,
        bn_size: int = 4,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        mid = bn_size * growth_rate
        bias = is_identity_norm(norm_layer)
        self.norm1 = norm_layer(in_ch)
        self.act1 = not_inplace(act_layer)()
        self.conv1 = nn.Conv2d(in_ch, mid, 1, bias=bias)
        self.norm2 = norm_layer(mid)
        self.act2 = act_layer()
        self.conv2 = nn.Conv2d(mid, growth_rate, 3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act2(self.norm2(self.conv1(self.act1(self.norm1(x))))))


class DenseBlock(nn.Module):
    """``n_layers`` dense layers: ``(N, C_in, H, W)`` -> ``(N, C_in + n_layers * growth_rate, H, W)``.

    Layer ``i`` takes the concatenation ``[x, y_0, ..., y_{i-1}]``; the output is ``[x, y_0, ..., y_{n-1}]``, so
    its first ``C_in`` channels are the input itself. ``out_channels`` is the output width.
    """

    def __init__(
        self,
        in_ch: int,
        n_layers: int,
        growth_rate: int,
        bn_size: int = 4,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(in_ch + i * growth_rate, growth_rate, bn_size, norm_layer, act_layer) for i in range(n_layers)
        )
        self.out_channels = in_ch + n_layers * growth_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class Transition(nn.Module):
    """norm-act-1x1 conv to ``floor(C_in * compression)`` channels, then 2x2 average pooling.

    ``(N, C_in, H, W)`` -> ``(N, floor(C_in * compression), H // 2, W // 2)``; ``out_channels`` is that width.
    """

    def __init__(
        self,
        in_ch: int,
        compression: float = 0.5,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        if not 0 < compression <= 1:
            raise ValueError(f"compression must be in (0, 1], got {compression}")
        self.out_channels = max(1, math.floor(in_ch * compression + 1e-9))
        self.norm = norm_layer(in_ch)
        self.act = not_inplace(act_layer)()
        self.conv = nn.Conv2d(in_ch, self.out_channels, 1, bias=is_identity_norm(norm_layer))
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(self.act(self.norm(x))))
