"""Rasterising jets: ROOT events (jets file contract, :mod:`detcnn.io.events`) -> image files per split.

Reads the events chunk by chunk with ``uproot.iterate`` (memory bounded by the chunk size), draws the
jet images and observables of a whole chunk at once, assigns each jet to a split with a seeded random
number (the same config gives the same split), and appends to one HDF5 file per split. All split files
are written to temporary paths and renamed only when every chunk has succeeded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.errors import InputError
from detcnn.io.events import JET_BRANCHES, JET_CLASS_NAMES, PART_BRANCHES, iterate_events
from detcnn.io.splits import ChunkImages, write_splits
from detcnn.physics import compiled
from detcnn.physics.jet_images import ImageSpec, jet_images
from detcnn.physics.kinematics import event_index
from detcnn.physics.observables import jet_observables

log = logging.getLogger(__name__)

EVENTS = "jets"
IMAGE_ARGS = ("pt", "eta", "phi", "charge", "counts", "jet_phi")
NEEDED = ("jet_eta", "jet_phi", "label", "part_pt", "part_eta", "part_phi", "part_charge")


def chunk_arrays(chunk: ak.Array) -> dict[str, np.ndarray]:
    """Flat numpy views of one chunk: constituents ``(n_constituents,)`` and jets ``(n_jets,)``."""
    counts = ak.to_numpy(ak.num(chunk["part_pt"])).astype(np.int64)
    return {
        "counts": counts,
        "pt": ak.to_numpy(ak.flatten(chunk["part_pt"])).astype(np.float64),
        "eta": ak.to_numpy(ak.flatten(chunk["part_eta"])).astype(np.float64),
        "phi": ak.to_numpy(ak.flatten(chunk["part_phi"])).astype(np.float64),
        "charge": ak.to_numpy(ak.flatten(chunk["part_charge"])),
        "jet_eta": ak.to_numpy(chunk["jet_eta"]).astype(np.float64),
        "jet_phi": ak.to_numpy(chunk["jet_phi"]).astype(np.float64),
        "label": ak.to_numpy(chunk["label"]).astype(np.int64),
    }


def rasterise_chunk(
    arrays: Mapping[str, np.ndarray], spec: ImageSpec, backend: str = "auto"
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Images ``(n_jets, C, H, W)``, observables ``{name: (n_jets,)}`` and the number of constituents off
    the grid, for one chunk from :func:`chunk_arrays`. ``backend``: "numba" (the fused kernels), "numpy"
    (the reference array functions) or "auto" (numba when installed)."""
    keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi")
    if compiled.use_compiled(backend):
        images, n_outside = jet_images(*(arrays[k] for k in IMAGE_ARGS), spec, backend=backend)
        return images, jet_observables(backend, **{k: arrays[k] for k in keys}), n_outside
    owner = event_index(arrays["counts"])  # jet of every constituent, shared by images and observables
    images, n_outside = jet_images(*(arrays[k] for k in IMAGE_ARGS), spec, owner, backend)
    return images, jet_observables(backend, **{k: arrays[k] for k in keys}, owner=owner), n_outside


def _check_jagged(path: Path, chunk: ak.Array, branches: Mapping[str, str]) -> None:
    """Every constituent branch must have, jet by jet, as many entries as ``part_pt``."""
    counts = ak.num(chunk["part_pt"])
    for name in ("part_eta", "part_phi", "part_charge"):
        bad = ak.to_numpy(ak.num(chunk[name]) != counts)
        if np.any(bad):
            raise InputError(
                f"{int(bad.sum())} jets have a different number of entries than '{branches['part_pt']}'",
                path=path, branch=branches[name],
                fix="all constituent branches must have the same number of entries per jet",
            )  # fmt: skip


def _check_chunk(path: Path, arrays: Mapping[str, np.ndarray], branches: Mapping[str, str]) -> None:
    if np.any(arrays["counts"] == 0):
        raise InputError(
            f"{int(np.sum(arrays['counts'] == 0))} jets have no constituents", path=path, branch=branches["part_pt"],
            fix="drop empty jets before rasterising",
        )  # fmt: skip
    bad = ~np.isin(arrays["label"], (0, 1))
    if np.any(bad):
        raise InputError(
            f"labels must be 0 (gluon) or 1 (quark); found {np.unique(arrays['label'][bad])[:5].tolist()}",
            path=path, branch=branches["label"], fix="map your truth label to 0/1",
        )  # fmt: skip


def spec_from_config(ds: Mapping[str, Any]) -> ImageSpec:
    """The image settings of a dataset's ``images`` section."""
    img = dict(ds.get("images", {}))
    if "channels" in img:
        img["channels"] = tuple(img["channels"])
    return ImageSpec(**img)


def file_attrs(spec: ImageSpec, config_hash: str = "", dataset: str = "") -> dict[str, Any]:
    """The attributes of a jet image file (their order is the order they are written in)."""
    return {
        "channels": list(spec.channels),
        "extent": [-spec.half_width, spec.half_width, -spec.half_width, spec.half_width],
        "axes": "X[n, channel, row=delta_phi, column=delta_eta]",
        "config_hash": config_hash,
        "dataset": dataset,
        "class_names": JET_CLASS_NAMES,
        "signal_class": 1,
        "normalise": spec.normalise,
    }


def planned_attrs(ds: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` ``(C, H, W)`` the image files of dataset config ``ds`` will have."""
    spec = spec_from_config(ds)
    return {**file_attrs(spec), "image_shape": (len(spec.channels), spec.n_pix, spec.n_pix)}


def rasterise_dataset(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], ds: Mapping[str, Any],
    *, dataset: str, seed: int, config_hash: str, progress: bool = True, **options: Any,
) -> dict[str, Any]:  # fmt: skip
    """:func:`rasterise_jets` with the settings of the dataset config ``ds`` (``images``, ``split``,
    ``branches``, ``chunk_size``); ``options`` from the source (none for jets)."""
    return rasterise_jets(
        inputs, outputs, spec=spec_from_config(ds), split=ds["split"], seed=seed, config_hash=config_hash,
        dataset=dataset, branches=ds.get("branches"), step_size=int(ds.get("chunk_size", 20_000)), progress=progress,
    )  # fmt: skip


def rasterise_jets(
    inputs: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    spec: ImageSpec,
    split: Mapping[str, float],
    seed: int,
    config_hash: str,
    dataset: str,
    branches: Mapping[str, str] | None = None,
    step_size: int = 20_000,
    progress: bool = True,
) -> dict[str, Any]:
    """Rasterise all jets in ``inputs`` (ROOT files) into ``outputs[split]`` HDF5 files.

    ``branches`` maps contract names (``part_pt``) to the names in the files (identity by default).
    Returns counts per split, the number of constituents outside the grid and the timings.
    """
    if not inputs:
        raise InputError("no input ROOT files", fix="list files under the dataset's 'files' key")
    names = {b: b for b in (*JET_BRANCHES, *PART_BRANCHES) if b in NEEDED}
    names.update({k: v for k, v in (branches or {}).items() if k in NEEDED})
    attrs = file_attrs(spec, config_hash, dataset)

    def chunks() -> Iterator[ChunkImages]:
        for path, chunk in iterate_events(inputs, names, step_size=step_size):
            _check_jagged(path, chunk, names)
            arrays = chunk_arrays(chunk)
            _check_chunk(path, arrays, names)
            images, obs, n_outside = rasterise_chunk(arrays, spec)
            counters = {"n_outside": n_outside, "n_constituents": len(arrays["pt"])}
            yield ChunkImages(images, arrays["label"], obs, counters=counters)

    t_start = time.perf_counter()
    stats = write_splits(
        chunks(), outputs, image_shape=(len(spec.channels), spec.n_pix, spec.n_pix), attrs=attrs, split=split,
        seed=seed, desc=f"rasterise {dataset}", unit="jet", progress=progress,
    )  # fmt: skip
    stats["seconds"] = time.perf_counter() - t_start
    stats["outside_fraction"] = stats.get("n_outside", 0) / max(stats.get("n_constituents", 0), 1)
    log.info(
        "%s: %s jets in %.1f s; %.2f%% of constituents fell outside the image",
        dataset, stats["per_split"], stats["seconds"], 100 * stats["outside_fraction"],
    )  # fmt: skip
    return stats
