"""The inception module (Szegedy et al., "Going deeper with convolutions", CVPR 2015: GoogLeNet).

Filters of several sizes look at the same input in parallel, so one layer responds to structures of several
scales: four branches, 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool -> 1x1, concatenated along channels. The
1x1 convolutions in front of the 3x3 and 5x5 ones (and after the pool) are bottlenecks that keep the cost and
the output width in check.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.models.blocks.pointwise import Bottleneck1x1, Pointwise
from detcnn.models.layers import ActLayer, NormLayer


class InceptionModule(nn.Module):
    """``(N, C_in, H, W)`` -> ``(N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``; ``out_channels`` is that sum.

    Every convolution is followed by norm and act (BatchNorm as in the BN-Inception variant; ``norm_layer``
    building ``nn.Identity`` gives the 2015 module). Submodules: ``branch1x1``, ``branch3x3``, ``branch5x5``
    (``Bottleneck1x1``: ``reduce``, ``conv``), ``branch_pool`` (``pool``, ``proj``).
    """

    def __init__(
        self,
        in_ch: int,
        ch1x1: int,
        ch3x3_reduce: int,
        ch3x3: int,
        ch5x5_reduce: int,
        ch5x5: int,
        pool_proj: int,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
    ) -> None:
        super().__init__()
        na = {"norm_layer": norm_layer, "act_layer": act_layer}
        self.branch1x1 = Pointwise(in_ch, ch1x1, **na)
        self.branch3x3 = Bottleneck1x1(in_ch, ch3x3_reduce, ch3x3, kernel_size=3, **na)
        self.branch5x5 = Bottleneck1x1(in_ch, ch5x5_reduce, ch5x5, kernel_size=5, **na)
        self.branch_pool = nn.Sequential(
            OrderedDict(pool=nn.MaxPool2d(3, stride=1, padding=1), proj=Pointwise(in_ch, pool_proj, **na))
        )
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four branch outputs, in concatenation order."""
        return [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.branches(x), dim=1)


def inception_chain(
    in_ch: int, blocks: Sequence[Sequence[int]], norm_layer: NormLayer, act_layer: ActLayer
) -> tuple[nn.Sequential, int]:
    """A chain of ``InceptionModule``s, one per 6-tuple of branch widths in ``blocks`` (each module's input is
    the previous one's output), and its output width: ``(N, in_ch, H, W)`` -> ``(N, width, H, W)``."""
    modules = []
    for widths in blocks:
        modules.append(InceptionModule(in_ch, *widths, norm_layer=norm_layer, act_layer=act_layer))
        in_ch = modules[-1].out_channels
    return nn.Sequential(*modules), in_ch
