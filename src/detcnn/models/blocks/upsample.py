"""Learned 2x upsampling for decoders (Ronneberger, Fischer, Brox, "U-Net", MICCAI 2015; Odena, Dumoulin,
Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).

Two ways back to a finer grid, both ``(N, C_in, H, W)`` -> ``(N, C_out, 2H, 2W)``:

- ``UpConvTranspose``: a 2x2 transposed convolution of stride 2 (U-Net's "up-convolution"). The 2x2
  footprints do not overlap, so each input pixel paints its own 2x2 output patch,
  ``y[:, o, 2i + a, 2j + b] = sum_c W[c, o, a, b] x[:, c, i, j] + bias[o]``: learned, exact size doubling.
- ``UpsampleConv``: fixed bilinear (or nearest) upsampling followed by a kxk convolution, which avoids the
  checkerboard pattern that transposed convolutions can leave.

``UPSAMPLERS`` maps the names used in model configs (``"transpose"``, ``"bilinear"``) to them.
"""

from __future__ import annotations

import torch
from torch import nn

from detcnn.models.blocks.conv import ConvNormAct
from detcnn.models.layers import ActLayer, NormLayer


class UpConvTranspose(nn.Module):
    """2x2 transposed convolution, stride 2 (+ norm + act): ``(N, C_in, H, W)`` -> ``(N, C_out, 2H, 2W)``.

    ``norm_layer=None`` / ``act_layer=None`` (the default, as in U-Net) leave that step out; the convolution has
    a bias only without a norm. Submodules: ``conv``, ``norm``, ``act``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
    ) -> None:
        super().__init__()
        self.norm = norm_layer(out_ch) if norm_layer is not None else nn.Identity()
        self.conv = nn.ConvTranspose2d(in_ch, out_ch, 2, stride=2, bias=isinstance(self.norm, nn.Identity))
        self.act = act_layer() if act_layer is not None else nn.Identity()
        self.in_channels, self.out_channels = in_ch, out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class UpsampleConv(nn.Sequential):
    """2x ``mode`` upsampling then a kxk ``ConvNormAct``: ``(N, C_in, H, W)`` -> ``(N, C_out, 2H, 2W)``.

    ``mode`` is ``"bilinear"`` (``align_corners=False``) or ``"nearest"``. Submodules: ``upsample``, ``conv``.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int = 3,
        mode: str = "bilinear",
        norm_layer: NormLayer | None = None,
        act_layer: ActLayer | None = None,
    ) -> None:
        if mode not in ("bilinear", "nearest"):
            raise ValueError(f"UpsampleConv mode must be 'bilinear' or 'nearest', got '{mode}'")
        super().__init__()
        align = False if mode == "bilinear" else None
        self.upsample = nn.Upsample(scale_factor=2, mode=mode, align_corners=align)
        self.conv = ConvNormAct(in_ch, out_ch, kernel_size, norm_layer=norm_layer, act_layer=act_layer)
        self.in_channels, self.out_channels = in_ch, out_ch


UPSAMPLERS: dict[str, type[UpConvTranspose] | type[UpsampleConv]] = {
    "transpose": UpConvTranspose,
    "bilinear": UpsampleConv,
}
