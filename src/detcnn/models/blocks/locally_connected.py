"""Locally-connected 2D layer: a convolution whose filters are not shared between positions
(Taigman et al., "DeepFace", CVPR 2014; Keras ``LocallyConnected2D``).

Each output position ``(i, j)`` has its own filter bank, so the layer is not translation-equivariant: it can
learn that a pattern means something different in the core of a centred jet image than at its edge. The price
is ``H_out * W_out`` times the parameters of the convolution, and a fixed input size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


class LocallyConnected2d(nn.Module):
    """``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)`` with a separate filter per output position.

    ``H_out = (H + 2 * padding - kernel_size) // stride + 1`` (likewise ``W_out``), as for ``nn.Conv2d``.
    ``weight``: ``(H_out * W_out, C_out, C_in * k * k)`` (position-major, then the ``(C_in, kh, kw)`` order of
    ``F.unfold``); ``bias``: ``(C_out, H_out, W_out)``. The input must be ``input_size``. Each position's
    filter bank is initialised as ``nn.Conv2d`` initialises its single one (kaiming uniform, ``a = sqrt(5)``).
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        input_size: int | tuple[int, int],
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_ch, out_ch
        self.input_size = _pair(input_size)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.output_size = tuple((n + 2 * padding - kernel_size) // stride + 1 for n in self.input_size)
        if min(self.output_size) < 1:
            raise ValueError(
                f"LocallyConnected2d: a {self.input_size} input with kernel {kernel_size}, padding {padding} "
                f"leaves no output positions"
            )
        positions = self.output_size[0] * self.output_size[1]
        fan_in = in_ch * kernel_size * kernel_size
        self.weight = nn.Parameter(torch.empty(positions, out_ch, fan_in))
        self.bias = nn.Parameter(torch.empty(out_ch, *self.output_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) with this fan-in, as nn.Conv2d: bound = 1 / sqrt(fan_in), weights and bias
        bound = 1.0 / math.sqrt(self.weight.shape[-1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(f"LocallyConnected2d expects {self.input_size} inputs, got {tuple(x.shape[-2:])}")
        cols = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # (N, C_in*k*k, L)
        out = torch.einsum("nkl,lok->nol", cols, self.weight).reshape(x.shape[0], -1, *self.output_size)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, input_size={self.input_size}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
