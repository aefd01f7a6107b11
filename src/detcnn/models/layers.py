"""Layer helpers shared by the architectures: norm/activation lookup tables and input checks."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]

NORM_LAYERS: dict[str, NormLayer | None] = {"batch": nn.BatchNorm2d, "none": None}
ACT_LAYERS: dict[str, ActLayer] = {"relu": lambda: nn.ReLU(inplace=True), "gelu": nn.GELU, "silu": nn.SiLU}


def norm_layer(name: str) -> NormLayer:
    """A 2D normalisation constructor by name ('batch' or 'none' for identity)."""
    if name not in NORM_LAYERS:
        raise KeyError(f"unknown norm_layer '{name}'; valid: {sorted(NORM_LAYERS)}")
    layer = NORM_LAYERS[name]
    return layer if layer is not None else (lambda channels: nn.Identity())


def act_layer(name: str) -> ActLayer:
    """An activation constructor by name."""
    if name not in ACT_LAYERS:
        raise KeyError(f"unknown act_layer '{name}'; valid: {sorted(ACT_LAYERS)}")
    return ACT_LAYERS[name]


def check_input_size(size: int, min_size: int, model: str, divisor: int = 1) -> None:
    """Refuse an image size the network cannot process, saying which sizes work."""
    if size < min_size or size % divisor:
        what = f"at least {min_size}" + (f" and a multiple of {divisor}" if divisor > 1 else "")
        raise ValueError(f"model '{model}' cannot take {size}x{size} images; the size must be {what}")


def same_padding(kernel: int) -> nn.ZeroPad2d:
    """Zero padding that keeps the size for any kernel, even ones (extra row/column at the end, as Keras)."""
    return nn.ZeroPad2d(((kernel - 1) // 2, kernel // 2, (kernel - 1) // 2, kernel // 2))
