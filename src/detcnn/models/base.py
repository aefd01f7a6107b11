"""What the image models share: the classifiers' ``forward_features`` / ``forward_head`` split and
global-average-pooling head, the segmenters' encoder -> decoder -> head with views as a batch dimension, and
the helpers that split an image into its detector views, and the input checks: the views, the channels and
(``check_image_size``, the one size check of every network) the image sizes a network can take."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from detcnn.errors import ConfigError


class ImageClassifier(nn.Module):
    """Base of the classifiers: ``(N, C, H, W)`` images -> logits ``(N, num_classes)``.

    Subclasses build ``self.head`` and define ``forward_features``; ``forward`` is the two in turn, so
    features can be taken out (for inspection, or a new head) without touching the network.
    """

    head: nn.Module

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def pooled_head(channels: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    """Global average pooling, dropout and a linear layer: ``(N, channels, H, W)`` -> ``(N, num_classes)``."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes))


def dense_head(
    in_features: int, hidden: int, num_classes: int, dropout: float, act_layer: Callable[[], nn.Module]
) -> nn.Sequential:
    """Flatten, one hidden dense layer with activation and dropout, and the output layer (the jet-image
    CNN's head): ``(N, ...)`` with ``in_features`` values per image -> ``(N, num_classes)``."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, hidden),
        act_layer(),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def views_to_batch(x: torch.Tensor, n_views: int) -> torch.Tensor:
    """``(N, n_views * c, H, W)`` view-major channels -> ``(N * n_views, c, H, W)``, view ``v`` of image ``n``
    at row ``n * n_views + v``: each view becomes an image of its own, so one network (shared weights) sees it."""
    n, channels, height, width = x.shape
    return x.reshape(n * n_views, channels // n_views, height, width)


def batch_to_views(y: torch.Tensor, n_views: int) -> torch.Tensor:
    """The inverse layout for outputs: ``(N * n_views, K, H, W)`` -> ``(N, K, n_views, H, W)``."""
    nv, k, height, width = y.shape
    return y.reshape(nv // n_views, n_views, k, height, width).transpose(1, 2)


def check_views(in_channels: int, n_views: int, model: str) -> int:
    """The channels per view, ``in_channels // n_views``; a ValueError unless ``n_views`` divides ``in_channels``."""
    if n_views < 1 or in_channels < 1 or in_channels % n_views:
        raise ConfigError(
            f"model '{model}': in_channels={in_channels} is not a positive multiple of n_views={n_views}; the "
            f"channels are grouped by view (view-major), so pass in_channels = n_views * channels_per_view"
        )
    return in_channels // n_views


def check_view_channels(x: torch.Tensor, n_views: int, view_channels: int, model: str) -> None:
    """A ValueError unless ``x`` is ``(N, n_views * view_channels, H, W)``."""
    expected = n_views * view_channels
    if x.ndim != 4 or x.shape[1] != expected:
        raise ConfigError(
            f"model '{model}' expects (N, {expected}, H, W) images (n_views={n_views} x {view_channels} channels "
            f"per view), got {tuple(x.shape)}"
        )


def nearest_multiples(size: int, divisor: int) -> list[int]:
    """The multiples of ``divisor`` (at least ``divisor``) nearest to ``size``: the one below and the one above,
    or ``size`` itself when it is one."""
    lower = size // divisor * divisor
    return [lower] if lower == size and size >= divisor else sorted({max(lower, divisor), lower + divisor})


def check_image_size(
    model: str, height: int, width: int | None = None, *, min_size: int = 1, divisor: int = 1, why: str = ""
) -> None:
    """Refuse a ``height x width`` image (square when ``width`` is None) that ``model`` cannot process, with a
    ``ConfigError`` that says which sizes work.

    A valid side is at least ``min_size`` and a multiple of ``divisor`` (pixels); ``why`` says where the
    divisor comes from (e.g. ``"2**depth with depth=3"``). The classifiers check their ``image_size`` against
    the smallest input their downsampling still halves (``min_size``: the message says "at least N"); the
    segmenters check it, and every input in ``forward``, against ``divisor`` (the message adds "a multiple of
    D" and the nearest valid sizes below and above the refused one, from ``nearest_multiples``).

    The one size check of the model zoo lives here, in ``base.py``, beside the other checks of what a model
    is given (``check_views``, ``check_view_channels``) and ``ImageSegmenter.check_input`` that calls it at
    forward time; ``layers.py`` only builds layers.
    """
    width = height if width is None else width
    divisor = max(1, divisor)
    # the smallest valid side: the first multiple of the divisor that is at least min_size (and positive)
    smallest = -(-max(1, min_size) // divisor) * divisor
    bad = [s for s in (height, width) if s < smallest or s % divisor]
    if not bad:
        return
    need = f"at least {smallest}"
    if divisor > 1:
        need += f" and a multiple of {divisor}{f' ({why})' if why else ''}"
        near = " or ".join(str(s) for s in sorted({max(s, smallest) for s in nearest_multiples(bad[0], divisor)}))
        need += f": nearest valid sizes {near}"
    raise ConfigError(f"model '{model}' cannot take {height}x{width} images; the size must be {need}")


class ImageSegmenter(nn.Module):
    """Base of the segmenters: ``(N, n_views * c, H, W)`` -> per-pixel logits ``(N, num_classes, n_views, H, W)``.

    The views (detector planes) are segmented independently by the same network, as MicroBooNE does with
    its wire planes: ``forward`` folds the views into the batch (``views_to_batch``), runs ``forward_views``
    and unfolds the result (``batch_to_views``). Subclasses build ``encoder`` (``(N', c, H, W)`` -> a list of
    feature maps, finest first, with ``encoder.out_channels`` the list of their widths), ``decoder`` (that
    list -> ``(N', C, H, W)`` at the input resolution) and ``head`` (-> ``(N', num_classes, H, W)``), and set
    ``n_views``, ``view_channels`` (channels per view), ``size_divisor`` (pixels) and ``model_name``.
    ``num_classes = 1`` is pixel-wise regression.
    """

    encoder: nn.Module
    decoder: nn.Module
    head: nn.Module
    n_views: int = 1
    view_channels: int = 1
    size_divisor: int = 1
    size_reason: str = ""
    model_name: str = "segmenter"

    def check_input(self, x: torch.Tensor) -> None:
        """A ValueError for a tensor that is not ``(N, n_views * view_channels, H, W)``, a ``ConfigError`` for
        sizes the network cannot downsample."""
        check_view_channels(x, self.n_views, self.view_channels, self.model_name)
        check_image_size(self.model_name, x.shape[-2], x.shape[-1], divisor=self.size_divisor, why=self.size_reason)

    def forward_views(self, x: torch.Tensor) -> torch.Tensor:
        """Single-view images ``(N', view_channels, H, W)`` -> logits ``(N', num_classes, H, W)``."""
        return self.head(self.decoder(self.encoder(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return batch_to_views(self.forward_views(views_to_batch(x, self.n_views)), self.n_views)
