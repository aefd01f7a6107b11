"""The input and output files of the C++ example programs (``cpp/examples``): events as text, settings as
``key value`` lines, images as raw float32.

Events files hold column blocks as numpy writes them (``%.17g``: doubles read back to the bit), one kind of
events each (the layout is in ``cpp/examples/events_file.hpp``): jets (constituents ``pt eta phi charge``
and optionally ``mass``, per jet the number of constituents and the azimuth) or the hits of one ROOT file
(``x y z t q``, per event the number of hits and its entry number in that file: with the file's name, the id
of its readout noise, :mod:`detcnn.physics.readout_noise`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping

import numpy as np

Path = str | os.PathLike[str]


def _block(out: io.TextIOBase, values: np.ndarray, fmt: str) -> None:
    np.savetxt(out, values, fmt=fmt)


def write_jets(
    path: Path, pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, charge: np.ndarray, counts: np.ndarray,
    jet_phi: np.ndarray, mass: np.ndarray | None = None,
) -> None:  # fmt: skip
    """Jets for the C++ programs: flat constituents ``(n_constituents,)`` (GeV, -, rad, e; ``mass`` [GeV] or
    None for massless constituents), ``counts`` ``(n_jets,)`` constituents per jet, ``jet_phi`` ``(n_jets,)``
    [rad] - the pseudorapidity ``eta`` as it is: the C++ code takes the rapidity itself, as the rasteriser."""
    counts = np.asarray(counts, dtype=np.int64)
    columns = [pt, eta, phi, charge] + ([] if mass is None else [mass])
    table = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    with open(path, "w") as out:
        out.write(f"detcnn-events 1 jets {len(counts)} {len(table)} {int(mass is not None)}\n")
        _block(out, counts[None, :], "%d")
        _block(out, np.asarray(jet_phi, dtype=np.float64)[None, :], "%.17g")
        _block(out, table, "%.17g")


def write_hits(path: Path, hits: Mapping[str, np.ndarray], counts: np.ndarray, file: str, entries: np.ndarray) -> None:
    """The hit events of one ROOT file for the C++ programs: flat hits ``{x, y, z [cm], t [ns], q [ke-]}``
    ``(n_hits,)``, ``counts`` ``(n_events,)`` hits per event, the file's name ``file`` (its basename makes the
    events' ids) and the events' ``entries`` ``(n_events,)`` in it (before any selection)."""
    counts = np.asarray(counts, dtype=np.int64)
    name = os.path.basename(file)
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"the file name must be one word without spaces, got '{name}'")
    table = np.column_stack([np.asarray(hits[k], dtype=np.float64) for k in ("x", "y", "z", "t", "q")])
    with open(path, "w") as out:
        out.write(f"detcnn-events 1 hits {len(counts)} {len(table)} {name}\n")
        _block(out, counts[None, :], "%d")
        _block(out, np.asarray(entries, dtype=np.int64)[None, :], "%d")
        _block(out, table, "%.17g")


def write_settings(path: Path, metadata: Mapping[str, str]) -> None:
    """``key value`` lines (the package metadata of :func:`detcnn.deploy.aoti_export.metadata`) for
    ``draw_images``."""
    with open(path, "w") as out:
        out.writelines(f"{k} {v}\n" for k, v in metadata.items() if "\n" not in v)


def read_images(path: Path, n: int, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``draw_images``' output: images ``(n, C, H, W)`` float32 and whether each event was drawn ``(n,)``."""
    raw = np.fromfile(path, dtype=np.uint8)
    size = n * int(np.prod(shape)) * 4
    if len(raw) != size + n:
        raise ValueError(f"{path}: {len(raw)} bytes, expected {size + n} for {n} images of {shape}")
    return raw[:size].view(np.float32).reshape(n, *shape), raw[size:].astype(bool)
