"""The NOvA convolutional visual network, CVN (A. Aurisano et al., "A convolutional neural network neutrino
event classifier", JINST 11 (2016) P09001), sized for a CPU.

A neutrino detector records each event in several views (NOvA: the x-z and y-z views of its alternating
planes; MicroBooNE: three wire planes). CVN gives every view its own branch of GoogLeNet layers (separate
weights: the views see different projections), merges the branches late by concatenating their feature
maps, and classifies with one more inception module, global average pooling, dropout and a linear layer.

Per view, as in the paper's Fig. 4: 7x7 stride-2 convolution -> 3x3 stride-2 max pool -> 1x1 bottleneck
and 3x3 convolution -> 3x3 stride-2 max pool -> inception modules -> 3x3 stride-2 max pool. Batch
normalisation replaces the paper's local response normalisation. On 48x48 views the branches work at
24 -> 12 -> 6 -> 3 pixels; with the default widths the network has 99,474 parameters for 2 views of 1 channel.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from detcnn.kinds import NetworkKind
from detcnn.models.base import ImageClassifier, check_image_size, check_view_channels, check_views, pooled_head
from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.blocks.inception import inception_chain
from detcnn.models.blocks.pointwise import Bottleneck1x1
from detcnn.models.layers import ActLayer, NormLayer, act_layer, norm_layer
from detcnn.models.registry import register_model

# (ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) per inception module, as in inception_net.py
VIEW_BLOCKS: tuple[tuple[int, ...], ...] = ((16, 16, 24, 4, 8, 8), (24, 24, 32, 8, 16, 16))  # 56, then 88 channels
MERGE_BLOCKS: tuple[tuple[int, ...], ...] = ((32, 32, 48, 8, 16, 16),)  # 112 channels
# a 7x7 stride-2 conv and three stride-2 pools: 2**4 = 16 pixels is the smallest view that each step still halves
MIN_SIZE = 16


def _pool() -> nn.MaxPool2d:
    """3x3 stride-2 max pooling, ``ceil(H / 2)`` out (GoogLeNet's)."""
    return nn.MaxPool2d(3, stride=2, padding=1)


class ViewBranch(nn.Sequential):
    """One view's branch: ``(N, c, H, W)`` -> ``(N, out_channels, ceil(H / 16), ceil(W / 16))``.

    Submodules: ``stem`` (7x7 stride 2), ``pool1``, ``conv`` (``Bottleneck1x1``: 1x1 reduce, 3x3), ``pool2``,
    ``inception`` (the modules in turn), ``pool3``.
    """

    def __init__(
        self,
        in_ch: int,
        stem_width: int,
        conv_widths: Sequence[int],
        blocks: Sequence[Sequence[int]],
        make_norm: NormLayer,
        make_act: ActLayer,
    ) -> None:
        na = {"norm_layer": make_norm, "act_layer": make_act}
        inception, out = inception_chain(conv_widths[1], blocks, make_norm, make_act)
        super().__init__(
            OrderedDict(
                stem=ConvNormAct(in_ch, stem_width, 7, stride=2, **na),
                pool1=_pool(),
                conv=Bottleneck1x1(stem_width, conv_widths[0], conv_widths[1], kernel_size=3, **na),
                pool2=_pool(),
                inception=inception,
                pool3=_pool(),
            )
        )
        self.out_channels = out


class NovaCVN(ImageClassifier):
    """Multi-view CVN on ``(N, n_views * c, H, W)`` images (view-major channels) -> logits ``(N, num_classes)``.

    ``views[v]`` (a ``ViewBranch``, its own weights) sees channels ``v * c .. (v + 1) * c - 1``; the branch
    outputs are concatenated along channels and go through ``merge`` (inception modules), then ``head``
    (global average pooling, dropout, linear). ``num_classes=1`` gives one output per event (regression).

    Args: ``n_views`` (views per image; must divide ``in_channels``), ``stem_width`` (7x7 convolution),
    ``conv_widths`` (1x1 reduce and 3x3 widths), ``view_blocks`` / ``merge_blocks`` (one 6-tuple of branch
    widths per inception module, before and after the merge), ``dropout`` (before the linear layer: 0.4 as in
    GoogLeNet), ``norm``, ``act``.
    """

    def __init__(
        self,
        in_channels: int = 2,
        num_classes: int = 2,
        image_size: int = 48,
        n_views: int = 2,
        stem_width: int = 24,
        conv_widths: Sequence[int] = (24, 48),
        view_blocks: Sequence[Sequence[int]] = VIEW_BLOCKS,
        merge_blocks: Sequence[Sequence[int]] = MERGE_BLOCKS,
        dropout: float = 0.4,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        check_image_size("nova_cvn", image_size, min_size=MIN_SIZE)
        self.n_views = n_views
        self.view_channels = check_views(in_channels, n_views, "nova_cvn")
        if len(conv_widths) != 2:
            raise ValueError(f"conv_widths must be (1x1 reduce width, 3x3 width), got {conv_widths}")
        if not merge_blocks or any(len(b) != 6 for b in (*view_blocks, *merge_blocks)):
            raise ValueError(
                "view_blocks / merge_blocks must list (ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj) "
                f"per inception module (merge_blocks at least one), got {view_blocks} / {merge_blocks}"
            )
        make_norm, make_act = norm_layer(norm), act_layer(act)
        self.views = nn.ModuleList(
            ViewBranch(self.view_channels, stem_width, conv_widths, view_blocks, make_norm, make_act)
            for _ in range(n_views)
        )
        self.merge, channels = inception_chain(n_views * self.views[0].out_channels, merge_blocks, make_norm, make_act)
        self.head = pooled_head(channels, num_classes, dropout)

    def view_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each view's branch output, ``(N, views[v].out_channels, h, w)`` per view, before the merge."""
        check_view_channels(x, self.n_views, self.view_channels, "nova_cvn")
        views = x.unflatten(1, (self.n_views, self.view_channels)).unbind(1)
        return [branch(view) for branch, view in zip(self.views, views, strict=True)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat(self.view_features(x), dim=1))


@register_model("nova_cvn", kind=NetworkKind.CLASSIFIER, takes=("n_views",))
def nova_cvn(**kwargs: object) -> NovaCVN:
    """NOvA's multi-view inception classifier, one branch per view, merged late (Aurisano et al. 2016)."""
    return NovaCVN(**kwargs)  # type: ignore[arg-type]
