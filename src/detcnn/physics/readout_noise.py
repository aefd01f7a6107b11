"""Counter-based electronic noise of hit images: a pure function of (seed, event id, pixel).

The Gaussian noise of a pixel is not drawn from a generator stream chunk after chunk (which no other program
could reproduce without replaying the whole stream) but computed from three numbers, so any program - the
rasterise stage, the predict stage on one file, the C++ preprocessing (``cpp/include/detcnn/readout_noise.hpp``)
- gives every pixel of every event the same noise, whatever the chunking, the selection or the file order::

    all arithmetic on unsigned 64-bit integers modulo 2**64
    splitmix64(z): z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
                   z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)
    event id   = (crc32(basename of the ROOT file, UTF-8) << 32) | entry   (entry: before any selection)
    event base = splitmix64(splitmix64(seed) ^ event id)                    (seed: the rasterise seed)
    pixel p    = (view * n_pix + row) * n_pix + column                      (of the event's charge planes)
    a = splitmix64(base + 2 p);  b = splitmix64(base + 2 p + 1)
    u1 = ((a >> 11) + 1) * 2**-53 in (0, 1];  u2 = (b >> 11) * 2**-53 in [0, 1)
    z  = sqrt(-2 ln u1) cos(2 pi u2)                                        (Box-Muller, float64)
    charge[p] (float32) += float32(noise_ke * z);  then charge[p] = 0 where charge[p] < float32(threshold_ke)

:func:`readout` applies it (computing ``z`` only where the pixel can end above the threshold: the same
result), :func:`pixel_noise` gives ``z`` itself. Everything is numpy on ``uint64`` arrays (wrapping
multiplication), in blocks of events so the temporary arrays stay below :data:`BLOCK_VALUES` values whatever
the chunk.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence

import numpy as np

MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U53 = 2.0**-53
#: At most this many pixel values per block of events (of ``uint64`` and ``float64``: 2 MiB per array).
BLOCK_VALUES = 1 << 18
#: The largest entry number an event id holds (its lower 32 bits).
MAX_ENTRY = (1 << 32) - 1


def splitmix64(z: np.ndarray | int) -> np.ndarray:
    """SplitMix64's output function of ``z`` (uint64, any shape; an int is taken modulo 2**64): a new
    ``uint64`` array of the same shape. ``splitmix64(0) == 0xE220A8397B1DCDAF`` (the standard first output
    of SplitMix64 seeded with 0)."""
    z = np.array(int(z) & MASK if isinstance(z, int) else z, dtype=np.uint64)  # a copy, mixed in place
    return _mix(z, np.empty_like(z))


def _mix(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """:func:`splitmix64` of the uint64 array ``z`` in place (``tmp``: scratch of its shape); returns ``z``."""
    with np.errstate(over="ignore"):
        z += _GOLDEN
        for shift, factor in ((30, _MIX1), (27, _MIX2)):
            np.right_shift(z, np.uint64(shift), out=tmp)
            z ^= tmp
            z *= factor
        np.right_shift(z, np.uint64(31), out=tmp)
        z ^= tmp
    return z


def file_key(path: str | os.PathLike[str]) -> int:
    """CRC-32 of the file's basename (UTF-8): the upper 32 bits of its events' ids."""
    return zlib.crc32(os.path.basename(os.fspath(path)).encode("utf-8"))


def event_ids(path: str | os.PathLike[str], entries: Sequence[int] | np.ndarray) -> np.ndarray:
    """The event ids ``(n,)`` uint64 of the entries ``entries`` (their entry numbers in the file ``path``,
    before any selection): ``crc32(basename) << 32 | entry``. A ValueError for an entry outside [0, 2**32)."""
    entries = np.asarray(entries, dtype=np.int64)
    if entries.size and (entries.min() < 0 or entries.max() > MAX_ENTRY):
        raise ValueError(f"entry numbers must lie in [0, {MAX_ENTRY}] to make event ids, got {entries.max()}")
    return (np.uint64(file_key(path)) << np.uint64(32)) | entries.astype(np.uint64)


def event_bases(ids: np.ndarray, seed: int) -> np.ndarray:
    """``splitmix64(splitmix64(seed) ^ id)`` ``(n,)`` uint64 of the event ids ``ids`` (``seed`` modulo 2**64)."""
    return splitmix64(splitmix64(int(seed)) ^ np.asarray(ids, dtype=np.uint64))


def _gaussians(bases: np.ndarray, n_pixels: int) -> np.ndarray:
    """Box-Muller normal ``z`` ``(len(bases), n_pixels)`` float64 of pixels ``0 .. n_pixels - 1``."""
    with np.errstate(over="ignore"):
        a = bases[:, None] + np.uint64(2) * np.arange(n_pixels, dtype=np.uint64)[None, :]  # the counters 2 p
        b = a + np.uint64(1)
    tmp = np.empty_like(a)
    _mix(a, tmp)
    _mix(b, tmp)
    a >>= np.uint64(11)
    b >>= np.uint64(11)
    return _normal(a, b)


def _normal(a53: np.ndarray, b53: np.ndarray) -> np.ndarray:
    """``z = sqrt(-2 ln u1) cos(2 pi u2)`` float64 of the top 53 bits ``a >> 11`` and ``b >> 11`` (uint64)."""
    u1 = a53.view(np.int64).astype(np.float64)  # 53 bits: exact as int64 and as float64
    u2 = b53.view(np.int64).astype(np.float64)
    u1 += 1.0
    u1 *= _U53  # (0, 1]
    u2 *= 2.0 * np.pi * _U53  # 2 pi [0, 1)
    np.cos(u2, out=u2)
    np.log(u1, out=u1)
    u1 *= -2.0
    np.sqrt(u1, out=u1)
    u1 *= u2
    return u1


def _block(n_pixels: int) -> int:
    return max(1, BLOCK_VALUES // max(int(n_pixels), 1))


def pixel_noise(ids: np.ndarray, n_pixels: int, seed: int) -> np.ndarray:
    """Standard normal noise ``(n, n_pixels)`` float64 of pixels ``0 .. n_pixels - 1`` of the events ``ids``
    (:func:`event_ids`), computed in blocks of events; the same id, pixel and seed always give the same value."""
    bases = event_bases(ids, seed)
    out = np.empty((len(bases), int(n_pixels)), dtype=np.float64)
    step = _block(n_pixels)
    for i in range(0, len(bases), step):  # blocks of events: bounded temporaries
        out[i : i + step] = _gaussians(bases[i : i + step], int(n_pixels))
    return out


#: Relative margin below the threshold within which an empty pixel's noise is computed whatever its ``u1``.
MARGIN = 1e-5


def readout(charge: np.ndarray, ids: np.ndarray, seed: int, noise_ke: float, threshold_ke: float) -> None:
    """The read-out of the spec, in place on ``charge`` ``(n, V, H, W)`` float32 of the events ``ids``:
    ``float32(noise_ke * z)`` added to every pixel (``p`` its flat index within the event, ``z`` of
    :func:`pixel_noise`; none for ``noise_ke`` 0), then zero below ``float32(threshold_ke)``.

    ``z`` is computed only for the pixels that can end at or above the threshold: those with charge, and the
    empty ones whose ``u1`` lets ``noise_ke * sqrt(-2 ln u1)`` (the largest ``noise_ke * z`` can be) come within
    :data:`MARGIN` of it (1 % of them at a threshold of 3 sigma); every other pixel ends at zero either way, so
    the result is the spec's bit for bit, at a fraction of the logarithms and cosines."""
    if charge.dtype != np.float32 or not charge.flags.c_contiguous:
        raise ValueError(f"charge must be C-contiguous float32, got {charge.dtype}")
    if len(ids) != len(charge):
        raise ValueError(f"{len(ids)} event ids for {len(charge)} events")
    flat = charge.reshape(len(charge), -1)
    if noise_ke > 0:
        bases, step = event_bases(ids, seed), _block(flat.shape[1])
        ratio = float(threshold_ke) * (1.0 - MARGIN) / float(noise_ke)
        cut = int(np.floor(math.exp(-0.5 * ratio * ratio) * 2.0**53)) - 1  # u1 <= its cut-off: a >> 11 <= cut
        for i in range(0, len(bases), step):  # blocks of events: bounded temporaries
            _noisy_block(flat[i : i + step], bases[i : i + step], float(noise_ke), cut)
    charge[charge < np.float32(threshold_ke)] = 0.0


def _noisy_block(block: np.ndarray, bases: np.ndarray, noise_ke: float, cut: int) -> None:
    """Add the noise to the pixels of ``block`` ``(m, P)`` float32 (of events ``bases``) that have charge or
    whose ``a >> 11`` is at most ``cut`` (-1: none without charge)."""
    pixels = block.reshape(-1)  # a view: the rows of a C-contiguous array
    with np.errstate(over="ignore"):
        counter = (bases[:, None] + np.uint64(2) * np.arange(block.shape[1], dtype=np.uint64)[None, :]).reshape(-1)
    a = _mix(counter.copy(), np.empty_like(counter))
    a >>= np.uint64(11)
    wanted = pixels != 0
    if cut >= 0:
        wanted |= a <= np.uint64(cut)
    idx = np.flatnonzero(wanted)
    with np.errstate(over="ignore"):
        b = counter[idx] + np.uint64(1)
    _mix(b, np.empty_like(b))
    b >>= np.uint64(11)
    pixels[idx] += (noise_ke * _normal(a[idx], b)).astype(np.float32)
