"""Image datasets: one HDF5 file per split, written chunk by chunk (:class:`ImageWriter`) and read through
one reader, :class:`ImageFile`, that every stage opens once per split file.

Contract (docs/architecture.md): ``X`` float32 ``(N, C, H, W)``; ``y`` int64 ``(N,)``; group ``observables`` with one
``(N,)`` float64 dataset per observable; file attributes ``channels`` (names), ``extent`` ([x_min, x_max,
y_min, y_max] of the pixel grid), ``config_hash``, ``dataset``, ``split`` and ``class_names``.
Detector images add per-pixel truth for every view, ``y_pix`` int8 ``(N, V, H, W)`` (pixel class) and
``e_pix`` float32 ``(N, V, H, W)`` (deposited energy, MeV), a group ``truth`` of ``(N,)`` event-level truth
(neutrino energy ...) and the attributes ``views`` and ``pixel_class_names``.

Datasets are named by their path in the file: ``X``, ``y``, ``y_pix``, ``e_pix``, ``truth/<name>``,
``observables/<name>``. A row selection is a boolean mask ``(N,)`` over the file's events, or ``None`` for all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import InputError

CHUNK_ROWS = 256


class ImageWriter:
    """Append-only writer of one split file (use as a context manager on a temporary path)."""

    def __init__(self, path: str | os.PathLike[str], image_shape: Sequence[int], attrs: Mapping[str, object]) -> None:
        import h5py

        self.path = Path(path)
        self._file = h5py.File(self.path, "w")
        shape = tuple(int(s) for s in image_shape)
        self._file.create_dataset(
            "X", shape=(0, *shape), maxshape=(None, *shape), dtype="f4",
            chunks=(CHUNK_ROWS, *shape), compression="lzf",
        )  # fmt: skip
        self._file.create_dataset("y", shape=(0,), maxshape=(None,), dtype="i8", chunks=(4096,))
        self._file.create_group("observables")
        for key, value in attrs.items():
            self._file.attrs[key] = json.dumps(value) if isinstance(value, dict | list | tuple) else value
        self.n = 0

    def append(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        observables: Mapping[str, np.ndarray],
        *,
        pixels: Mapping[str, np.ndarray] | None = None,
        truth: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append ``images (n, C, H, W)``, ``labels (n,)``, ``{name: (n,)}`` observables and, for detector
        images, per-pixel truth ``{"y_pix": (n, V, H, W), "e_pix": ...}`` and event truth ``{name: (n,)}``."""
        n = len(images)
        if n == 0:
            return
        new = self.n + n
        for name, data in (("X", images), ("y", labels), *(pixels or {}).items()):
            if name not in self._file:  # per-pixel truth: created on first use, chunked like X
                shape = data.shape[1:]
                self._file.create_dataset(
                    name, shape=(0, *shape), maxshape=(None, *shape), dtype=data.dtype,
                    chunks=(CHUNK_ROWS, *shape), compression="lzf",
                )  # fmt: skip
            self._extend(self._file[name], new, data)
        for group_name, columns in (("observables", observables), ("truth", truth or {})):
            group = self._file.require_group(group_name)
            for name, values in columns.items():
                if name not in group:
                    group.create_dataset(name, shape=(0,), maxshape=(None,), dtype="f8", chunks=(4096,))
                self._extend(group[name], new, values)
        self.n = new

    def truncate(self, n: int) -> None:
        """Cut every dataset back to its first ``n`` events (what was appended after them is dropped)."""

        def cut(name: str, obj: object) -> None:
            if hasattr(obj, "resize") and obj.shape[0] > n:  # type: ignore[attr-defined]
                obj.resize(n, axis=0)  # type: ignore[attr-defined]

        self._file.visititems(cut)
        self.n = min(self.n, n)

    def _extend(self, ds: object, new: int, data: np.ndarray) -> None:
        ds.resize(new, axis=0)  # type: ignore[attr-defined]
        ds[self.n : new] = data  # type: ignore[index]

    def close(self) -> None:
        self._file.attrs["n_events"] = self.n
        self._file.close()

    def __enter__(self) -> ImageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ImageSet:
    """An image split in memory: ``X (N, C, H, W)`` float32, ``y (N,)`` int64, observables, attributes, and the
    split's other per-event datasets by name in ``pixels`` (``y_pix``, ``e_pix`` of detector images, the
    ``emitters`` of microscope frames)."""

    X: np.ndarray
    y: np.ndarray
    observables: dict[str, np.ndarray]
    attrs: dict[str, object] = field(default_factory=dict)
    pixels: dict[str, np.ndarray] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None  # the file it was read from, for error messages

    @property
    def y_pix(self) -> np.ndarray | None:
        """``(N, V, H, W)`` int8 pixel classes, detector images only."""
        return self.pixels.get("y_pix")

    @property
    def e_pix(self) -> np.ndarray | None:
        """``(N, V, H, W)`` float32 deposited energy [MeV], detector images only."""
        return self.pixels.get("e_pix")

    @property
    def channels(self) -> list[str]:
        return list(self.attrs.get("channels", []))

    @property
    def class_names(self) -> list[str]:
        return list(self.attrs.get("class_names", []))

    def array(self, name: str) -> np.ndarray:
        """The dataset ``name`` of the file contract (``X``, ``y``, ``y_pix``, ``e_pix``, ``truth/<name>``,
        ``observables/<name>``) as loaded; an InputError naming what is there for one that is not."""
        group, _, column = name.partition("/")
        found = {"X": self.X, "y": self.y, **self.pixels}.get(name) if not column else (
            {"truth": self.truth, "observables": self.observables}.get(group, {}).get(column))  # fmt: skip
        if found is None:
            have = [*self.pixels, *(f"truth/{k}" for k in self.truth)]
            raise InputError(
                f"no '{name}' in the image file (has X, y, {', '.join(have)})", path=self.path,
                fix="this task needs a dataset with that target (per-pixel truth needs detector images)",
            )  # fmt: skip
        return found


def _decode(value: object) -> object:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


class ImageFile:
    """One split file opened once, read by name: the one reader of the image-file contract (module doc).

    ``with ImageFile(path) as f:`` checks that the file exists, is HDF5 and holds ``X`` and ``y`` with at
    least one event; then ``f.attrs`` (JSON-decoded), ``f.labels`` (``y``), ``f.read(name, rows)``,
    ``f.select(classes, limit)`` and ``f.load(...)`` (a whole split in memory) read from the same handle.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("image file does not exist", path=path, fix="run the rasterise step first")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"not a readable HDF5 image file ({exc})", path=path,
                             fix="re-run the rasterise step") from exc  # fmt: skip
        for key in ("X", "y"):
            if key not in self._file:
                self.close()
                raise InputError(f"missing dataset '{key}'", path=path, fix="re-run the rasterise step")
        self.attrs: dict[str, object] = {k: _decode(v) for k, v in self._file.attrs.items()}
        self._labels: np.ndarray | None = None
        if self.n_events == 0:
            self.close()
            raise InputError("the split holds no events", path=path, fix="generate more events or change the split")

    @property
    def n_events(self) -> int:
        return len(self._file["y"])

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(C, H, W)`` of one image."""
        return tuple(self._file["X"].shape[1:])

    @property
    def labels(self) -> np.ndarray:
        """Event classes ``y (N,)`` int64, read once."""
        if self._labels is None:
            self._labels = self._file["y"][...]
        return self._labels

    def has(self, name: str) -> bool:
        return name in self._file

    def dataset(self, name: str) -> Any:
        """The open HDF5 dataset ``name`` (for reading in blocks); an error naming the datasets that exist."""
        if name not in self._file:
            present = sorted(self._file) + [f"{g}/{k}" for g in ("truth", "observables") if g in self._file
                                            for k in self._file[g]]  # fmt: skip
            raise InputError(
                f"no dataset '{name}' in the image file (has {present})", path=self.path,
                fix="this task needs a dataset with that target (per-pixel truth needs detector images)",
            )  # fmt: skip
        return self._file[name]

    def read(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Dataset ``name`` for the events ``rows`` (boolean mask) or all of them, in file order."""
        ds = self.dataset(name)
        if rows is None:
            return ds[...]
        idx = np.flatnonzero(rows)
        if ds.ndim == 1:  # per-event values: one read, then select
            return ds[...][idx]
        return ds[idx] if len(idx) else ds[:0]

    def group(self, name: str) -> dict[str, np.ndarray]:
        """Every ``(N,)`` column of the group ``observables`` or ``truth`` (empty when absent)."""
        if name not in self._file:
            return {}
        return {k: self._file[name][k][...] for k in self._file[name]}

    def select(self, classes: Sequence[int] | None = None, limit: int | None = None) -> np.ndarray | None:
        """Boolean mask of the events of ``classes`` (all when None), cut to ``limit`` of them evenly spaced
        over the file (a split holds its events in the order of the input files, one sample after another,
        so the first N would come from the first files alone); None when it keeps all."""
        rows = None if classes is None else np.isin(self.labels, list(classes))
        if limit is None:
            return rows
        candidates = np.flatnonzero(np.ones(self.n_events, dtype=bool) if rows is None else rows)
        if int(limit) < len(candidates):
            candidates = candidates[np.unique(np.linspace(0, len(candidates) - 1, int(limit)).round().astype(np.int64))]
        out = np.zeros(self.n_events, dtype=bool)
        out[candidates] = True
        return out

    def load(self, *, with_images: bool = True, with_pixels: bool = False) -> ImageSet:
        """The whole split in memory (``with_images=False`` skips ``X``; ``with_pixels`` loads its other
        per-event datasets: per-pixel truth ``y_pix`` and ``e_pix``, ``emitters``, where the file has them)."""
        import h5py

        if "observables" not in self._file:
            raise InputError("missing group 'observables'", path=self.path, fix="re-run the rasterise step")
        pixels = {k: v[...] for k, v in self._file.items()
                  if with_pixels and k not in ("X", "y") and isinstance(v, h5py.Dataset)}  # fmt: skip
        return ImageSet(
            X=self._file["X"][...] if with_images else np.empty((self.n_events, 0), dtype=np.float32),
            y=self.labels, observables=self.group("observables"), attrs=dict(self.attrs), pixels=pixels,
            truth=self.group("truth"), path=self.path,
        )  # fmt: skip

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ImageFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_images(path: str | os.PathLike[str], *, with_images: bool = True, with_pixels: bool = False) -> ImageSet:
    """:meth:`ImageFile.load` of the file at ``path``."""
    with ImageFile(path) as f:
        return f.load(with_images=with_images, with_pixels=with_pixels)
