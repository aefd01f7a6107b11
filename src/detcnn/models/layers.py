"""Layer helpers shared by the architectures: norm/activation lookup tables and padding (the input checks are
in ``base.py``)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from detcnn.errors import ConfigError

NormLayer = Callable[[int], nn.Module]
ActLayer = Callable[[], nn.Module]

NORM_LAYERS: dict[str, NormLayer | None] = {"batch": nn.BatchNorm2d, "none": None}
NORM_LAYERS_1D: dict[str, NormLayer | None] = {"batch": nn.BatchNorm1d, "none": None}
ACT_LAYERS: dict[str, ActLayer] = {"relu": lambda: nn.ReLU(inplace=True), "gelu": nn.GELU, "silu": nn.SiLU}


def norm_layer(name: str) -> NormLayer:
    """A 2D normalisation constructor by name ('batch' or 'none' for identity)."""
    if name not in NORM_LAYERS:
        raise ConfigError(f"unknown norm_layer '{name}'; valid: {sorted(NORM_LAYERS)}")
    layer = NORM_LAYERS[name]
    return layer if layer is not None else (lambda channels: nn.Identity())


def norm_layer_1d(name: str) -> NormLayer:
    """A normalisation constructor for ``(N, features)`` tensors by name ('batch' or 'none' for identity)."""
    if name not in NORM_LAYERS_1D:
        raise ConfigError(f"unknown norm_layer '{name}'; valid: {sorted(NORM_LAYERS_1D)}")
    layer = NORM_LAYERS_1D[name]
    return layer if layer is not None else (lambda features: nn.Identity())


def is_identity_norm(norm_layer: NormLayer) -> bool:
    """Whether ``norm_layer`` builds no normalisation (then the layer before it needs its own bias)."""
    return isinstance(norm_layer(1), nn.Identity)


def not_inplace(act_layer: ActLayer) -> ActLayer:
    """``act_layer`` that never overwrites its input: for pre-activations applied to a tensor used elsewhere."""

    def make() -> nn.Module:
        act = act_layer()
        if getattr(act, "inplace", False):
            act.inplace = False
        return act

    return make


def act_layer(name: str) -> ActLayer:
    """An activation constructor by name."""
    if name not in ACT_LAYERS:
        raise ConfigError(f"unknown act_layer '{name}'; valid: {sorted(ACT_LAYERS)}")
    return ACT_LAYERS[name]


def same_padding(kernel: int) -> nn.ZeroPad2d:
    """Zero padding that keeps the size for any kernel, even ones (extra row/column at the end, as Keras)."""
    return nn.ZeroPad2d(((kernel - 1) // 2, kernel // 2, (kernel - 1) // 2, kernel // 2))
