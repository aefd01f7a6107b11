"""Image datasets: one HDF5 file per split, written chunk by chunk, read in blocks.

Contract (DESIGN.md): ``X`` float32 ``(N, C, H, W)``; ``y`` int64 ``(N,)``; group ``observables`` with one
``(N,)`` float64 dataset per observable; file attributes ``channels`` (names), ``extent`` ([x_min, x_max,
y_min, y_max] of the pixel grid), ``config_hash``, ``dataset``, ``split`` and ``class_names``.
Detector images add per-pixel truth for every view, ``y_pix`` int8 ``(N, V, H, W)`` (pixel class) and
``e_pix`` float32 ``(N, V, H, W)`` (deposited energy, MeV), a group ``truth`` of ``(N,)`` event-level truth
(neutrino energy ...) and the attributes ``views`` and ``pixel_class_names``. (DESIGN.md's ``y_pix (N, H, W)``
is the single-view case; a multi-view image needs one label map per view.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    """An image split in memory: ``X (N, C, H, W)`` float32, ``y (N,)`` int64, observables, attributes."""

    X: np.ndarray
    y: np.ndarray
    observables: dict[str, np.ndarray]
    attrs: dict[str, object] = field(default_factory=dict)
    y_pix: np.ndarray | None = None  # (N, V, H, W) int8 pixel classes, detector images only
    e_pix: np.ndarray | None = None  # (N, V, H, W) float32 deposited energy [MeV], detector images only
    truth: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return list(self.attrs.get("channels", []))

    @property
    def class_names(self) -> list[str]:
        return list(self.attrs.get("class_names", []))


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


def read_attrs(path: str | os.PathLike[str]) -> dict[str, object]:
    """The attributes of an image file, JSON-decoded."""
    import h5py

    _require(path)
    with h5py.File(path, "r") as f:
        return {k: _decode(v) for k, v in f.attrs.items()}


def read_images(path: str | os.PathLike[str], *, with_images: bool = True, with_pixels: bool = False) -> ImageSet:
    """Load a whole split (``with_images=False`` skips ``X`` for the baselines; ``with_pixels`` loads the
    per-pixel truth ``y_pix`` and ``e_pix`` where the file has them)."""
    import h5py

    _require(path)
    with h5py.File(path, "r") as f:
        for key in ("X", "y", "observables"):
            if key not in f:
                raise InputError(f"missing dataset '{key}'", path=path, fix="re-run the rasterise step")
        X = f["X"][...] if with_images else np.empty((len(f["y"]), 0), dtype=np.float32)
        y = f["y"][...]
        obs = {k: f["observables"][k][...] for k in f["observables"]}
        truth = {k: f["truth"][k][...] for k in f["truth"]} if "truth" in f else {}
        attrs = {k: _decode(v) for k, v in f.attrs.items()}
        y_pix = f["y_pix"][...] if with_pixels and "y_pix" in f else None
        e_pix = f["e_pix"][...] if with_pixels and "e_pix" in f else None
    if len(y) == 0:
        raise InputError("the split holds no events", path=path, fix="generate more events or change the split")
    return ImageSet(X=X, y=y, observables=obs, attrs=attrs, y_pix=y_pix, e_pix=e_pix, truth=truth)


def _require(path: str | os.PathLike[str]) -> None:
    if not Path(path).is_file():
        raise InputError("image file does not exist", path=path, fix="run the rasterise step first")
