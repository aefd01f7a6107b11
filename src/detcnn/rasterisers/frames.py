"""Rasterising camera frames (single-molecule localisation microscopy): ROOT frames -> image files per split.

A frame already is an image: its ADU become photons, ``X`` ``(N, 1, H, W)`` = (ADU - offset) / gain
(background included). The truth is the list of emitters of every frame, ``emitters`` ``(N, K, 3)``: x, y
[nm from the frame's corner] and photons, padded with NaN to ``frame_images.max_emitters``; the
localisation task draws from it the occupancy and sub-pixel offsets on a grid ``upsampling`` times finer
(:mod:`detcnn.tasks.localisation`). Event truth: the sample's emitter density [um^-2] and the emitters per
frame; observables: the total and the brightest pixel's photons. The files carry the lateral distance within
which a localisation matches an emitter, ``match_tolerance_nm``, so that every model is scored alike.

Splits: frame by frame (:func:`detcnn.io.splits.write_splits`), except where the source images structures
(``structures`` > 0, smlm_sim's filaments: the ``structure`` branch, the id of the structure a frame images,
-1 for none): the frames of one structure all go to one split (:func:`detcnn.io.splits.group_splits`, seeded
by the split seed), so no structure of the test split is seen in training. Their ids are the truth
``structure`` and the stats' ``structure_splits``.
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

from detcnn.errors import ConfigError, InputError
from detcnn.io.events import TREE_NAME, read_chunks
from detcnn.io.expressions import BranchMap
from detcnn.io.splits import SPLITS, ChunkImages, group_splits, write_splits
from detcnn.physics.frame_observables import FRAME_OBSERVABLES, frame_observables
from detcnn.physics.microscope import to_photons

log = logging.getLogger(__name__)

EVENTS = "frames"
OBSERVABLES = FRAME_OBSERVABLES  # the observables its files carry (name -> function)
READOUT = None  # no read-out setting a systematic variation may change (rasterisers/hits.py has some)
CONTRACT = ("frame", "label", "density", "n_emitters", "em_x", "em_y", "em_photons")
#: The dataset keys of a dataset of frames (JSON-schema properties): its images and localisation targets, and
#: the frames read per chunk.
SCHEMA: dict[str, Any] = {
    "frame_images": {"type": "object", "additionalProperties": False, "default": {},
                     "description": "How camera frames become images and localisation targets.", "properties": {
        "upsampling": {"type": "integer", "minimum": 1, "default": 4,
                       "description": "The localisation grid is this many times finer than the camera's."},
        "match_tolerance_nm": {"type": "number", "exclusiveMinimum": 0, "default": 250.0,
                               "description": "A localisation matches a true emitter within this lateral distance "
                                              "[nm] (optimal one-to-one pairs; the SMLM challenge 2016's and "
                                              "DECODE's 250 nm); every model's metrics and the baseline's tuning "
                                              "use it."},
        "max_emitters": {"type": "integer", "minimum": 1, "default": 64,
                         "description": "Emitters a frame may hold (the truth array's width); a frame with more stops "
                                        "the rasterise step."},
        "n_pix": {"type": "integer", "minimum": 4, "default": 24,
                  "description": "root_files frames - frame size when the source does not give it."},
    }},
    "chunk_size": {"type": "integer", "minimum": 1, "default": 2_000,
                   "description": "Frames read per chunk while rasterising (bounds the memory)."},
}  # fmt: skip


def file_attrs(n_pix: int, pixel_nm: float, upsampling: int, class_names: Sequence[str], config_hash: str = "",
               dataset: str = "", psf_sigma_nm: float | None = None, *,
               match_tolerance_nm: float) -> dict[str, Any]:  # fmt: skip
    """The attributes of a frame image file (their order is the order they are written in);
    ``match_tolerance_nm``: the matching distance of the localisation metrics [nm]."""
    return {
        "channels": ["photons"],
        "extent": [0.0, n_pix * pixel_nm, 0.0, n_pix * pixel_nm],
        "axes": "X[n, 0, row=y, column=x]; emitters[n, k] = (x, y, photons), nm from the frame's corner",
        "pixel_nm": float(pixel_nm),
        "upsampling": int(upsampling),
        **({"psf_sigma_nm": float(psf_sigma_nm)} if psf_sigma_nm else {}),
        "match_tolerance_nm": float(match_tolerance_nm),
        "units": {"X": "photons", "emitters": "nm, nm, photons"},
        "config_hash": config_hash,
        "dataset": dataset,
        "class_names": list(class_names),
        "signal_class": 0,
    }


def check_config(ds: Mapping[str, Any]) -> None:
    """The branch mapping and the selection of the (filled) dataset section ``ds``, and what its source gives the
    rasteriser (a generating source's structures per split included): a ConfigError before anything runs."""
    from detcnn.generate import get_source

    get_source(ds["source"]).rasterise_options(ds)
    unknown = sorted(set(ds.get("branches") or {}) - set(CONTRACT))
    if unknown:
        raise ConfigError(f"no contract names {unknown} in a frames file; valid: {list(CONTRACT)}", key="branches")
    BranchMap({**{b: b for b in CONTRACT}, **(ds.get("branches") or {})}, ds.get("selection"))


def planned_attrs(ds: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` ``(1, H, W)`` the image files of the filled dataset config ``ds`` will
    have; ``options``: the source's (camera, class names)."""
    cfg = ds["frame_images"]
    n_pix = int(options.get("n_pix", cfg["n_pix"]))
    attrs = file_attrs(n_pix, float(options.get("pixel_nm", 100.0)), cfg["upsampling"],
                       options.get("class_names") or [], psf_sigma_nm=options.get("psf_sigma_nm"),
                       match_tolerance_nm=cfg["match_tolerance_nm"])  # fmt: skip
    return {**attrs, "image_shape": (1, n_pix, n_pix)}


def rasterise_dataset(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], ds: Mapping[str, Any],
    *, dataset: str, seed: int, config_hash: str, progress: bool = True, class_names: Sequence[str] = (),
    pixel_nm: float = 100.0, gain: float = 1.0, offset: float = 0.0, n_pix: int | None = None,
    psf_sigma_nm: float | None = None, structures: int = 0, **reading: Any,
) -> dict[str, Any]:  # fmt: skip
    """:func:`rasterise_frames` with the settings of the filled dataset config ``ds`` (``frame_images``,
    ``split``, ``chunk_size``); the class names, the camera (pixel size [nm], gain [ADU / photon], offset
    [ADU], PSF width [nm]) and the structures come from the source, and how its files are read (``reading``:
    ``tree``, ``branches``, ``selection``, ``on_bad_file``; the defaults of :func:`rasterise_frames` for files
    a detcnn source wrote)."""
    cfg = ds["frame_images"]
    return rasterise_frames(
        inputs, outputs, split=ds["split"], seed=seed, config_hash=config_hash, dataset=dataset,
        class_names=class_names, pixel_nm=pixel_nm, gain=gain, offset=offset, upsampling=cfg["upsampling"],
        max_emitters=cfg["max_emitters"], step_size=int(ds["chunk_size"]), progress=progress,
        psf_sigma_nm=psf_sigma_nm, match_tolerance_nm=cfg["match_tolerance_nm"], structures=structures, **reading,
    )  # fmt: skip


def padded_emitters(values: Mapping[str, Any], max_emitters: int, path: object) -> np.ndarray:
    """``(n_frames, max_emitters, 3)`` float32: (x, y, photons) of each frame's emitters, NaN beyond them."""
    counts = ak.to_numpy(ak.num(values["em_x"])).astype(np.int64)
    if counts.size and counts.max() > max_emitters:
        raise InputError(f"a frame holds {int(counts.max())} emitters, more than frame_images.max_emitters = "
                         f"{max_emitters}", path=path, branch="em_x",
                         fix="raise frame_images.max_emitters")  # fmt: skip
    out = np.full((len(counts), max_emitters, 3), np.nan, dtype=np.float32)
    frame = np.repeat(np.arange(len(counts)), counts)
    slot = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    for k, name in enumerate(("em_x", "em_y", "em_photons")):
        out[frame, slot, k] = ak.to_numpy(ak.flatten(values[name]))
    return out


def rasterise_frames(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], *,
    split: Mapping[str, float], seed: int, config_hash: str, dataset: str, class_names: Sequence[str],
    pixel_nm: float, gain: float, offset: float, match_tolerance_nm: float, upsampling: int = 4,
    max_emitters: int = 64, branches: Mapping[str, str] | None = None, tree: str = TREE_NAME,
    selection: str | None = None, on_bad_file: str = "fail", step_size: int = 2000, progress: bool = True,
    psf_sigma_nm: float | None = None, structures: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Frames and emitters of ``inputs`` into ``outputs[split]`` (module doc); returns the stats.
    ``structures``: the number of structures the frames image (ids 0 .. structures - 1 in the ``structure``
    branch, each kept in one split; 0: none, every frame drawn on its own)."""
    if not inputs:
        raise InputError("no input ROOT files", fix="list files under the dataset's 'files' key")
    if not class_names:
        raise ConfigError("a dataset of frames needs 'class_names' (one per label value)", key="class_names")
    names = {**{b: b for b in CONTRACT}, **({"structure": "structure"} if structures else {}), **(branches or {})}
    branch_map = BranchMap(names, selection)
    try:
        groups = group_splits(structures, split, seed) if structures else None
    except ValueError as exc:
        raise ConfigError(f"{exc}: too few structures to keep each in one split", key="structures") from None
    shape: list[tuple[int, ...]] = []
    camera = {"class_names": class_names, "offset": offset, "gain": gain, "max_emitters": max_emitters}

    def file_chunks(path: Path) -> Iterator[ChunkImages]:
        for values, n_read in read_chunks(path, branch_map, tree=tree, step_size=step_size):
            yield _chunk(values, n_read, path, shape, groups, **camera)

    t_start = time.perf_counter()
    n_pix = _first_shape(inputs, tree)
    attrs = file_attrs(n_pix, pixel_nm, upsampling, class_names, config_hash, dataset, psf_sigma_nm,
                       match_tolerance_nm=match_tolerance_nm)  # fmt: skip
    stats = write_splits(
        ((Path(p), file_chunks(Path(p))) for p in inputs), outputs, image_shape=(1, n_pix, n_pix), attrs=attrs,
        split=split, seed=seed, desc=f"rasterise {dataset}", unit="frame", progress=progress, on_bad_file=on_bad_file,
    )  # fmt: skip
    if groups is not None:
        stats["structure_splits"] = {s: np.flatnonzero(groups == i).tolist() for i, s in enumerate(SPLITS)}
    stats["seconds"] = time.perf_counter() - t_start
    log.info("%s: %s frames in %.1f s", dataset, stats["per_split"], stats["seconds"])
    return stats


def _chunk(values: Mapping[str, Any], n_read: int, path: Path, shape: list[tuple[int, ...]],
           groups: np.ndarray | None, *, class_names: Sequence[str], offset: float, gain: float,
           max_emitters: int) -> ChunkImages:  # fmt: skip
    """One chunk of frames read from ``path`` as images, emitter lists, truth and, where the frames image
    structures (``groups``: the split of each structure id), the split each frame is kept in. ``shape``:
    the frame shape of the chunks before (set by the first)."""
    frames = np.asarray(ak.to_numpy(values["frame"]), dtype=np.float32)
    if frames.ndim != 3 or frames.shape[1] != frames.shape[2] or (shape and frames.shape[1:] != shape[0]):
        raise InputError(f"frames must be square and all of one size, got {frames.shape[1:]}", path=path,
                         branch="frame", fix="write every frame as an (n_pix, n_pix) array")  # fmt: skip
    shape[:] = [frames.shape[1:]]
    label = np.asarray(ak.to_numpy(values["label"])).astype(np.int64)
    if np.any((label < 0) | (label >= len(class_names))):
        raise InputError(f"labels must be 0..{len(class_names) - 1}, one per class name", path=path,
                         branch="label", fix="list one name per label value under class_names")  # fmt: skip
    photons = to_photons(frames, offset, gain)[:, None]
    truth = {t: np.asarray(ak.to_numpy(values[t]), np.float64) for t in ("density", "n_emitters")}
    fixed = None
    if groups is not None:
        structure = np.asarray(ak.to_numpy(values["structure"])).astype(np.int64)
        if np.any((structure < -1) | (structure >= len(groups))):
            raise InputError(f"structure ids must be -1 (none) or 0..{len(groups) - 1}", path=path,
                             branch="structure", fix="generate the files again with this config")  # fmt: skip
        fixed = np.where(structure >= 0, groups[np.maximum(structure, 0)], -1)
        truth["structure"] = structure.astype(np.float64)
    return ChunkImages(
        images=photons, labels=label, observables=frame_observables(photons),
        pixels={"emitters": padded_emitters(values, max_emitters, path)}, truth=truth,
        counters={"entries_read": n_read, "entries_selected": len(label),
                  "n_emitters": int(ak.sum(ak.num(values["em_x"])))},
        split=fixed,
    )  # fmt: skip


def _first_shape(inputs: Sequence[str | os.PathLike[str]], tree: str) -> int:
    """The frame size of the first readable file (the split files are made with it)."""
    from detcnn.io.events import BadFile, open_tree

    for path in inputs:
        try:
            interpretation = open_tree(path, tree)["frame"].interpretation
        except (BadFile, KeyError):
            continue
        return int(interpretation.inner_shape[0])
    raise InputError("no readable file with a 'frame' branch", path=inputs[0], fix="check the files")
