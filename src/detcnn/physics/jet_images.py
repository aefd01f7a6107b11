"""Jet images: constituents on a (Delta eta, Delta phi) pixel grid, several channels ("colours").

Komiske, Metodiev, Schwartz, JHEP 01 (2017) 110: each jet is centred on its pT-weighted centroid,
optionally rotated so that its principal axis is vertical and flipped so that its hardest quadrant is
the upper right one, then pixelised. The default channels are the paper's three colours: charged pT,
neutral pT and charged multiplicity.

Conventions: the image is ``(n_jets, n_channels, n_pix, n_pix)``; axis -1 (columns, "x") runs along
Delta eta and axis -2 (rows, "y") along Delta phi, both from ``-half_width`` to ``+half_width``; row 0 is
the lowest Delta phi (plot with ``origin="lower"``). Pixels cover ``[-half_width, half_width)`` in
steps of ``2 * half_width / n_pix``. Everything is vectorised over all jets of a chunk: one
``np.add.at`` scatter-add per channel fills every pixel of every jet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from detcnn.physics import compiled
from detcnn.physics.kinematics import event_index, per_event_sum, wrap_phi

ChannelFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Pixel content of each channel from constituent pT [GeV] and charge [e].
CHANNELS: dict[str, ChannelFn] = {
    "charged_pt": lambda pt, q: np.where(q != 0, pt, 0.0),
    "neutral_pt": lambda pt, q: np.where(q == 0, pt, 0.0),
    "charged_multiplicity": lambda pt, q: (q != 0).astype(np.float64),
    "total_pt": lambda pt, q: pt,
    "multiplicity": lambda pt, q: np.ones_like(pt),
}
#: Channels measured in GeV, scaled by the per-image normalisation; counts are left alone.
PT_CHANNELS = frozenset({"charged_pt", "neutral_pt", "total_pt"})
DEFAULT_CHANNELS = ("charged_pt", "neutral_pt", "charged_multiplicity")


AXES = ("rapidity", "pseudorapidity")


@dataclass(frozen=True)
class ImageSpec:
    """How to draw a jet image. ``half_width`` in units of the longitudinal axis (rapidity y, or
    pseudorapidity eta) and radians. The array functions here are told the longitudinal coordinate of each
    constituent and draw it; which one it is (``axis``) is the rasteriser's choice."""

    n_pix: int = 33
    half_width: float = 0.4
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    rotate: bool = True
    flip: bool = True
    normalise: str = "none"  # "none" or "pt_sum" (pT channels divided by the jet's pT inside the image)
    axis: str = "rapidity"  # the image's longitudinal axis: "rapidity" or "pseudorapidity"

    def __post_init__(self) -> None:
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got '{self.axis}'")
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown image channel(s) {unknown}; valid: {sorted(CHANNELS)}")
        if self.normalise not in ("none", "pt_sum"):
            raise ValueError(f"normalise must be 'none' or 'pt_sum', got '{self.normalise}'")
        if self.n_pix < 1 or self.half_width <= 0:
            raise ValueError("n_pix must be >= 1 and half_width > 0")

    @property
    def pixel_size(self) -> float:
        return 2.0 * self.half_width / self.n_pix


def centre_coordinates(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    counts: np.ndarray,
    jet_phi: np.ndarray,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Constituent (Delta eta, Delta phi) about each jet's pT-weighted centroid, flat ``(n_constituents,)``.

    Azimuths are first taken relative to ``jet_phi`` and wrapped into [-pi, pi), so jets that straddle
    phi = +-pi are handled; the centroid is then the pT-weighted mean of (eta, Delta phi).
    """
    owner = event_index(counts) if owner is None else owner
    n = len(counts)
    dphi = wrap_phi(phi - np.asarray(jet_phi, dtype=np.float64)[owner])
    sum_pt = per_event_sum(pt, owner, n)
    safe = np.where(sum_pt > 0, sum_pt, 1.0)
    eta_c = per_event_sum(pt * eta, owner, n) / safe
    phi_c = per_event_sum(pt * dphi, owner, n) / safe
    return eta - eta_c[owner], dphi - phi_c[owner]


def rotate_principal_axis(
    x: np.ndarray, y: np.ndarray, pt: np.ndarray, counts: np.ndarray, owner: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate each jet so the principal axis of its pT-weighted (x, y) distribution is vertical."""
    owner = event_index(counts) if owner is None else owner
    n = len(counts)
    sxx = per_event_sum(pt * x * x, owner, n)
    syy = per_event_sum(pt * y * y, owner, n)
    sxy = per_event_sum(pt * x * y, owner, n)
    theta = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)  # angle of the major axis from the x axis
    alpha = 0.5 * np.pi - theta
    c, s = np.cos(alpha)[owner], np.sin(alpha)[owner]  # trigonometry per jet, not per constituent
    return c * x - s * y, s * x + c * y


def flip_hardest_quadrant(
    x: np.ndarray, y: np.ndarray, pt: np.ndarray, counts: np.ndarray, owner: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reflect each jet in x and/or y so that its quadrant with the most pT is the upper right one.

    Quadrants are half-open: x >= 0 counts as right, y >= 0 as upper.
    """
    owner = event_index(counts) if owner is None else owner
    n = len(counts)
    quadrant = (x < 0).astype(np.int64) + 2 * (y < 0)  # 0: (+,+) 1: (-,+) 2: (+,-) 3: (-,-)
    quadrant_pt = np.bincount(owner * 4 + quadrant, weights=pt, minlength=4 * n).reshape(n, 4)
    hardest = np.argmax(quadrant_pt, axis=1)
    sign_x = np.where((hardest == 1) | (hardest == 3), -1.0, 1.0)[owner]
    sign_y = np.where(hardest >= 2, -1.0, 1.0)[owner]
    return sign_x * x, sign_y * y


def pixel_indices(
    x: np.ndarray, y: np.ndarray, n_pix: int, half_width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column ``ix``, row ``iy`` of each constituent and whether it falls on the grid."""
    step = 2.0 * half_width / n_pix
    ix = np.floor((x + half_width) / step).astype(np.int64)
    iy = np.floor((y + half_width) / step).astype(np.int64)
    inside = (ix >= 0) & (ix < n_pix) & (iy >= 0) & (iy < n_pix)
    return ix, iy, inside


def pixelise(
    x: np.ndarray,
    y: np.ndarray,
    weights: Sequence[np.ndarray],
    counts: np.ndarray,
    *,
    n_pix: int,
    half_width: float,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Scatter-add constituents into images ``(n_jets, len(weights), n_pix, n_pix)`` (float32 sums).

    ``weights[c]`` is the flat per-constituent content of channel ``c``. Returns the images and the
    number of constituents that fell outside the grid.
    """
    n_jets, n_chan, per_image = len(counts), len(weights), n_pix * n_pix
    owner = event_index(counts) if owner is None else owner
    ix, iy, inside = pixel_indices(x, y, n_pix, half_width)
    size = n_jets * n_chan * per_image
    # Constituents off the grid go to one scratch image after the last one, so every channel's scatter
    # runs over the same full-length index without masked copies; the scratch image is cut off after.
    base = np.where(inside, owner * (n_chan * per_image) + iy * n_pix + ix, size)
    images = np.zeros(size + per_image * n_chan, dtype=np.float32)
    for c, w in enumerate(weights):
        # unbuffered scatter-add into float32 (numpy's fast path for ufunc.at)
        np.add.at(images, base + c * per_image, np.asarray(w, dtype=np.float32))
    return images[:size].reshape(n_jets, n_chan, n_pix, n_pix), int(np.count_nonzero(~inside))


def jet_images(
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    charge: np.ndarray,
    counts: np.ndarray,
    jet_phi: np.ndarray,
    spec: ImageSpec = ImageSpec(),
    owner: np.ndarray | None = None,
    backend: str = "auto",
) -> tuple[np.ndarray, int]:
    """Images of many jets at once.

    Args:
        pt, eta, phi, charge: flat constituent arrays ``(n_constituents,)``; GeV, -, rad, e.
        counts: constituents per jet ``(n_jets,)``; the flat arrays are the jets one after the other.
        jet_phi: jet azimuth ``(n_jets,)`` [rad], the reference for Delta phi (wrap-around safe).
        spec: grid, channels, centring options.
        owner: optional jet index of every constituent (:func:`event_index` of ``counts``), when the caller
            already has it (numpy backend).
        backend: "numba" (the fused kernel of :mod:`detcnn.physics.compiled`, about twice as fast), "numpy"
            (this module's array functions, the reference) or "auto" (numba when it is installed).

    Returns:
        ``(images, n_outside)``: images ``(n_jets, len(spec.channels), n_pix, n_pix)`` float32 and the
        number of constituents outside the grid.
    """
    if compiled.use_compiled(backend):
        return compiled.images(
            pt, eta, phi, charge, counts, jet_phi, spec.channels, spec.n_pix, spec.half_width,
            spec.rotate, spec.flip, spec.normalise == "pt_sum",
        )  # fmt: skip
    pt = np.asarray(pt, dtype=np.float64)
    charge = np.asarray(charge)
    counts = np.asarray(counts, dtype=np.int64)
    owner = event_index(counts) if owner is None else owner
    x, y = centre_coordinates(pt, np.asarray(eta, np.float64), np.asarray(phi, np.float64), counts, jet_phi, owner)
    if spec.rotate:
        x, y = rotate_principal_axis(x, y, pt, counts, owner)
    if spec.flip:
        x, y = flip_hardest_quadrant(x, y, pt, counts, owner)
    weights = [CHANNELS[name](pt, charge) for name in spec.channels]
    if spec.normalise == "pt_sum":
        # Divide the constituents' pT by their image's total pT before the scatter: the same images as
        # dividing the pixels afterwards, without another pass over the (large) image array.
        inside = pixel_indices(x, y, spec.n_pix, spec.half_width)[2]
        pt_channels = [i for i, name in enumerate(spec.channels) if name in PT_CHANNELS]
        total = per_event_sum(pt * inside, owner, len(counts))
        scale = np.where(total > 0, 1.0 / np.where(total > 0, total, 1.0), 1.0)[owner]
        for i in pt_channels:
            weights[i] = weights[i] * scale
    return pixelise(x, y, weights, counts, n_pix=spec.n_pix, half_width=spec.half_width, owner=owner)
