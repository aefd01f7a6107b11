"""The rasterise stage for jets: ROOT events -> image files per split (train / val / test).

Reads the events chunk by chunk with ``uproot.iterate`` (memory bounded by the chunk size), draws the
jet images and observables of a whole chunk at once, assigns each jet to a split with a seeded random
number (the same config gives the same split), and appends to one HDF5 file per split. All split files
are written to temporary paths and renamed only when every chunk has succeeded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path
from detcnn.io.events import JET_BRANCHES, PART_BRANCHES, iterate_events
from detcnn.io.images import ImageWriter
from detcnn.physics import compiled
from detcnn.physics.jet_images import ImageSpec, jet_images
from detcnn.physics.kinematics import event_index
from detcnn.physics.observables import jet_observables

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
JET_CLASS_NAMES = ["gluon", "quark"]  # label 0, label 1 (signal)
IMAGE_ARGS = ("pt", "eta", "phi", "charge", "counts", "jet_phi")
NEEDED = ("jet_eta", "jet_phi", "label", "part_pt", "part_eta", "part_phi", "part_charge")


def assign_splits(n: int, fractions: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) of ``n`` events, drawn from ``rng`` in file order."""
    total = sum(fractions[s] for s in SPLITS)
    if not np.isclose(total, 1.0):
        raise ValueError(f"split fractions must add up to 1, got {dict(fractions)} (sum {total})")
    edges = np.cumsum([fractions[s] for s in SPLITS])[:-1]
    return np.searchsorted(edges, rng.random(n), side="right")


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


@dataclass
class ChunkImages:
    """What a rasteriser makes of one chunk of events: ``images (n, C, H, W)``, ``labels (n,)``,
    ``observables {name: (n,)}``, optional per-pixel truth ``{name: (n, V, H, W)}`` and event truth
    ``{name: (n,)}``, plus counters to add up over chunks (e.g. ``n_outside``)."""

    images: np.ndarray
    labels: np.ndarray
    observables: dict[str, np.ndarray]
    pixels: dict[str, np.ndarray] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


def write_splits(
    chunks: Iterable[ChunkImages],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    image_shape: Sequence[int],
    attrs: Mapping[str, Any],
    split: Mapping[str, float],
    seed: int,
    desc: str,
    unit: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Append every chunk's events to the split files ``outputs[split]`` (HDF5), each event to a split drawn
    from a generator seeded with ``seed`` in file order (the same inputs and seed give the same split).

    All files are written to temporary paths and renamed only when every chunk has succeeded. Returns the
    events per split and the summed counters.
    """
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"per_split": dict.fromkeys(SPLITS, 0)}
    with contextlib.ExitStack() as stack:
        writers = {}
        for s in SPLITS:
            tmp = stack.enter_context(atomic_path(outputs[s]))
            writers[s] = stack.enter_context(ImageWriter(tmp, image_shape, {**attrs, "split": s}))
        bar = stack.enter_context(tqdm(desc=desc, unit=unit, disable=not progress))
        for chunk in chunks:
            which = assign_splits(len(chunk.labels), split, rng)
            for i, s in enumerate(SPLITS):
                sel = which == i
                writers[s].append(
                    chunk.images[sel], chunk.labels[sel], {k: v[sel] for k, v in chunk.observables.items()},
                    pixels={k: v[sel] for k, v in chunk.pixels.items()},
                    truth={k: v[sel] for k, v in chunk.truth.items()},
                )  # fmt: skip
                stats["per_split"][s] += int(sel.sum())
            for key, value in chunk.counters.items():
                stats[key] = stats.get(key, 0) + value
            bar.update(len(chunk.labels))
        for s in SPLITS:
            if stats["per_split"][s] == 0:
                raise InputError(
                    f"split '{s}' received no {unit}s", path=outputs[s],
                    fix="generate more events or raise that split's fraction",
                )  # fmt: skip
    return stats


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
    attrs = {
        "channels": list(spec.channels),
        "extent": [-spec.half_width, spec.half_width, -spec.half_width, spec.half_width],
        "axes": "X[n, channel, row=delta_phi, column=delta_eta]",
        "config_hash": config_hash,
        "dataset": dataset,
        "class_names": JET_CLASS_NAMES,
        "signal_class": 1,
        "normalise": spec.normalise,
    }

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
