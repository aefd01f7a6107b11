"""Detector images from hits: energy deposits projected onto two or three views of a liquid-argon TPC.

Each view is a pixel grid spanned by two directions in the detector frame (cm): NOvA-like views ``xz`` and
``yz`` (rows along x or y, columns along the beam axis z, so both views share the z columns), or
MicroBooNE-like wire-plane views ``u``, ``v``, ``w`` (rows along the drift coordinate x, columns along the
coordinate each plane's wires measure: wires at +-60 degrees to the vertical for the induction planes,
vertical for the collection plane). The window of each event starts ``margin_pix`` pixels before where the
event begins along the columns (upstream of the interaction, as NOvA's window starts at the first plane
hit) and is centred on the charge-weighted mean of the rows: both measured quantities, no truth. "Where the
event begins" is the ``start_quantile`` (2 %) quantile of the charge along the columns rather than the very
first hit, so one stray deposit upstream (a Compton electron of a backward photon) does not move the window.

Readout: the collected charge (``hit_q``, thousands of electrons, already after recombination, attenuation
and diffusion) is summed per pixel, Gaussian electronic noise is added to every pixel of the window and
pixels below the threshold are zeroed (zero suppression); the noise of a pixel is a function of the seed,
the event's id and the pixel (:mod:`detcnn.physics.readout_noise`), reproducible by any program. Truth per
pixel: the deposited energy ``e_pix`` (MeV, before any detector effect) and the label (0 empty, 1 track,
2 shower) of the particle type that deposited most energy in the pixel. Everything is vectorised over all
hits of a chunk: one ``bincount`` per view and quantity.

Conventions: images ``(n_events, n_views * n_channels, n_pix, n_pix)`` view-major ([view0 channels, view1
channels, ...]); ``y_pix`` and ``e_pix`` ``(n_events, n_views, n_pix, n_pix)``; row 0 is the lowest row
coordinate (plot with ``origin="lower"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from detcnn.physics.kinematics import event_index
from detcnn.physics.readout_noise import readout

_S60, _C60 = np.sin(np.pi / 3), np.cos(np.pi / 3)

#: (row direction, column direction) of each view, unit vectors in the detector frame (x drift, y up, z beam).
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "xz": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "yz": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "u": ((1.0, 0.0, 0.0), (0.0, _S60, _C60)),
    "v": ((1.0, 0.0, 0.0), (0.0, -_S60, _C60)),
    "w": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}
HIT_CHANNELS = ("charge", "time")
PIXEL_CLASSES = ["empty", "track", "shower"]
HIT_LABELS = {1: "track", 2: "shower"}


@dataclass(frozen=True)
class HitImageSpec:
    """How to draw detector images: views, grid (``n_pix`` x ``n_pix`` pixels of ``pitch_cm``), channels, readout.

    ``noise_ke`` is the per-pixel electronic noise (Gaussian sigma) and ``threshold_ke`` the zero-suppression
    threshold, both in thousands of electrons; a minimum-ionising particle crossing a 3 cm pixel leaves about
    190 ke- (6.4 MeV times the recombination survival 0.7, divided by W_ion = 23.6 eV).
    """

    views: tuple[str, ...] = ("xz", "yz")
    n_pix: int = 48
    pitch_cm: float = 3.0
    channels: tuple[str, ...] = ("charge",)
    margin_pix: int = 4
    start_quantile: float = 0.02
    noise_ke: float = 5.0
    threshold_ke: float = 15.0

    def __post_init__(self) -> None:
        bad_views = [v for v in self.views if v not in VIEWS]
        if bad_views or not self.views:
            raise ValueError(f"unknown or no view(s) {bad_views}; valid: {sorted(VIEWS)}")
        bad = [c for c in self.channels if c not in HIT_CHANNELS]
        if bad or "charge" not in self.channels:
            raise ValueError(f"channels must include 'charge' and be among {list(HIT_CHANNELS)}, got {self.channels}")
        if self.n_pix < 4 or self.pitch_cm <= 0 or not 0 <= self.margin_pix < self.n_pix:
            raise ValueError(f"need n_pix >= 4, pitch_cm > 0 and 0 <= margin_pix < n_pix; got {self}")
        if self.noise_ke < 0 or self.threshold_ke < 0:
            raise ValueError(f"noise_ke and threshold_ke must be >= 0; got {self.noise_ke}, {self.threshold_ke}")

    @property
    def channel_names(self) -> list[str]:
        """``view_channel`` names in image order (view-major)."""
        return [f"{v}_{c}" for v in self.views for c in self.channels]


@dataclass
class HitImages:
    """One chunk rasterised: see the module doc for shapes; ``origins (n, V, 2)`` = (row, column) of the
    lower-left pixel corner in cm; ``n_outside`` = hits that fell outside their window."""

    X: np.ndarray
    y_pix: np.ndarray
    e_pix: np.ndarray
    origins: np.ndarray
    n_outside: int


def weighted_quantile(
    values: np.ndarray, weights: np.ndarray, owner: np.ndarray, n_events: int, q: float
) -> np.ndarray:
    """Per-event ``q`` quantile of flat ``values`` weighted by ``weights`` (``owner``: event of each value),
    shape ``(n_events,)``: the first value, in increasing order, where the cumulative weight reaches
    ``q`` of the event's total. One sort for all events, on one float key: the event number plus the value
    mapped into [0, 0.5) (faster than a two-key lexsort; exact for the order of values that differ by more
    than about 1e-12 of the range)."""
    lo, span = values.min(), np.ptp(values) or 1.0
    order = np.argsort(owner + 0.5 * (values - lo) / span, kind="stable")
    owner_s, w = owner[order], weights[order]
    starts = np.searchsorted(owner_s, np.arange(n_events))  # events are contiguous after the sort
    cum = np.cumsum(w)
    local = cum - np.where(starts > 0, cum[starts - 1], 0.0)[owner_s]  # cumulative weight within the event
    totals = np.bincount(owner, weights=weights, minlength=n_events)
    below = local < q * totals[owner_s] * (1.0 - 1e-12)  # monotone within an event: a prefix of it
    first = starts + np.bincount(owner_s, weights=below, minlength=n_events).astype(np.int64)
    ends = np.searchsorted(owner_s, np.arange(n_events), side="right") - 1
    return values[order][np.minimum(first, ends)]


def hit_images(
    hits: Mapping[str, np.ndarray], counts: np.ndarray, spec: HitImageSpec, event_ids: np.ndarray, seed: int
) -> HitImages:
    """Rasterise flat hits ``{x, y, z [cm], t [ns], e [GeV], q [ke-], label}`` (``(n_hits,)`` each, events
    contiguous with ``counts (n_events,)`` hits each, no empty event) into :class:`HitImages`.

    The electronic noise of every pixel is a function of ``seed``, the event's id (``event_ids (n_events,)``
    uint64, :func:`detcnn.physics.readout_noise.event_ids`) and the pixel
    (:mod:`detcnn.physics.readout_noise`): the same event gives the same image in any chunk.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n, n_views, side = len(counts), len(spec.views), spec.n_pix
    owner = event_index(counts)
    pos = np.stack([hits["x"], hits["y"], hits["z"]], axis=1).astype(np.float64)
    q = np.asarray(hits["q"], dtype=np.float64)
    e_mev = 1e3 * np.asarray(hits["e"], dtype=np.float64)
    label = np.asarray(hits["label"])
    q_sum = np.bincount(owner, weights=q, minlength=n)
    size = n * side * side
    charge = np.empty((n, n_views, side, side), dtype=np.float32)  # float32 images: half the memory traffic
    time = np.zeros_like(charge) if "time" in spec.channels else None
    energy = np.empty_like(charge)
    track = np.empty_like(charge)
    origins = np.empty((n, n_views, 2))
    n_outside = 0
    starts: dict[tuple[float, ...], np.ndarray] = {}  # views with the same column axis (xz, yz) share it
    for v, name in enumerate(spec.views):  # two or three views: a loop over views, not over events
        row_dir, col_dir = VIEWS[name]
        # x d0 + y d1 + z d2 element-wise, not pos @ d: BLAS fuses multiply-adds on some CPUs (last-bit
        # differences, hits changing pixel); this order is also the C++ one (cpp/include/detcnn/hit_image.hpp)
        rows, cols = (pos[:, 0] * d[0] + pos[:, 1] * d[1] + pos[:, 2] * d[2] for d in (row_dir, col_dir))
        if col_dir not in starts:
            starts[col_dir] = weighted_quantile(cols, q, owner, n, spec.start_quantile)
        col0 = starts[col_dir] - spec.margin_pix * spec.pitch_cm
        centre = np.bincount(owner, weights=q * rows, minlength=n) / np.where(q_sum > 0, q_sum, 1.0)
        row0 = centre - 0.5 * side * spec.pitch_cm
        origins[:, v] = np.stack([row0, col0], axis=1)
        i = np.floor((rows - row0[owner]) / spec.pitch_cm).astype(np.int64)
        j = np.floor((cols - col0[owner]) / spec.pitch_cm).astype(np.int64)
        inside = (i >= 0) & (i < side) & (j >= 0) & (j < side)
        n_outside += int(np.count_nonzero(~inside))
        flat = ((owner * side + i) * side + j)[inside]
        charge[:, v] = np.bincount(flat, weights=q[inside], minlength=size).reshape(n, side, side)
        energy[:, v] = np.bincount(flat, weights=e_mev[inside], minlength=size).reshape(n, side, side)
        track[:, v] = np.bincount(
            flat, weights=np.where(label[inside] == 1, e_mev[inside], 0.0), minlength=size
        ).reshape(n, side, side)
        if time is not None:
            qt = np.bincount(flat, weights=(q * np.asarray(hits["t"], dtype=np.float64))[inside], minlength=size)
            time[:, v] = qt.reshape(n, side, side) / np.where(charge[:, v] > 0, charge[:, v], 1.0)
    readout(charge, event_ids, seed, spec.noise_ke, spec.threshold_ke)  # noise, then zero suppression
    y_pix = np.where(energy > 0, np.where(track >= energy - track, 1, 2), 0).astype(np.int8)
    per_view = [charge] if time is None else [charge, np.where(charge > 0, time, 0.0)]
    X = np.stack(per_view, axis=2).reshape(n, n_views * len(per_view), side, side).astype(np.float32)
    return HitImages(X=X, y_pix=y_pix, e_pix=energy.astype(np.float32), origins=origins, n_outside=n_outside)
