"""Rasterising detector hits: ROOT events (hits file contract) -> multi-view image files per split.

Reads the hit branches chunk by chunk (``uproot.iterate``), checks them, draws the views of a whole chunk
at once (:mod:`detcnn.physics.hit_images`: charge and optionally time per view, noise and threshold),
computes the per-pixel truth (class and deposited energy), the event observables of the cut baselines
(:mod:`detcnn.physics.hit_observables`) and copies the event truth (neutrino energy, ...). The split files
follow the same contract and the same seeded split as the jet images (:func:`detcnn.io.splits.write_splits`).

Bad input is an error naming file and branch: hits outside the detector volume (usually mm instead of cm),
mismatched jagged lengths, negative energies, unknown labels, NaN. Events without a single hit, or without a
pixel above threshold, cannot be drawn: they are dropped and counted per class in the stats (``n_dropped``),
with a warning; ``empty_events: error`` in the config makes them an error instead.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from detcnn.config.schema import dataclass_properties
from detcnn.errors import ConfigError, InputError
from detcnn.io.events import TREE_NAME, EntryChunk, read_entries
from detcnn.io.expressions import BranchMap
from detcnn.io.splits import ChunkImages, Positions, write_splits
from detcnn.physics.hit_images import HIT_CHANNELS, HIT_LABELS, PIXEL_CLASSES, VIEWS, HitImageSpec, hit_images
from detcnn.physics.hit_observables import HIT_OBSERVABLES, hit_observables
from detcnn.physics.readout_noise import event_ids

log = logging.getLogger(__name__)

HIT_FIELDS = ("x", "y", "z", "t", "e", "q", "label")
HIT_BRANCHES = tuple(f"hit_{f}" for f in HIT_FIELDS)
EVENTS = "hits"
IMAGE_SECTION = "hit_images"  # the dataset's section of image settings
OBSERVABLES = HIT_OBSERVABLES  # the observables its files carry (name -> function)
#: The read-out settings a systematic variation may change: (image section, keys) (detcnn.config.variations).
READOUT = (IMAGE_SECTION, ("noise_ke", "threshold_ke"))
EMPTY_EVENTS = ("drop", "error")
#: The dataset keys of a dataset of hits (JSON-schema properties): its views (the defaults of
#: :class:`~detcnn.physics.hit_images.HitImageSpec`), what the rasteriser checks and drops, and the events read
#: per chunk.
SCHEMA: dict[str, Any] = {
    "hit_images": {"type": "object", "additionalProperties": False, "default": {},
                   "description": "How detector hits become multi-view images.", "properties": {
        **dataclass_properties(HitImageSpec, {
            "views": {"type": "array", "items": {"type": "string", "enum": list(VIEWS)}, "minItems": 1,
                      "description": "Views - xz and yz (NOvA-like, columns along the beam z shared by both) or the "
                                     "wire planes u, v (induction, +-60 degrees) and w (collection) of a "
                                     "MicroBooNE-like TPC."},
            "n_pix": {"type": "integer", "minimum": 4, "description": "Pixels per side of every view."},
            "pitch_cm": {"type": "number", "exclusiveMinimum": 0, "description": "Pixel size (wire pitch) [cm]."},
            "channels": {"type": "array", "items": {"type": "string", "enum": list(HIT_CHANNELS)}, "minItems": 1,
                         "description": "Channels per view - collected charge [ke-] and optionally the "
                                        "charge-weighted hit time [ns]."},
            "margin_pix": {"type": "integer", "minimum": 0,
                           "description": "Pixels of the window upstream of where the event begins."},
            "start_quantile": {"type": "number", "minimum": 0, "maximum": 1,
                               "description": "Where the event begins along the columns - this quantile of its "
                                              "charge (0 = the first hit; a small quantile ignores a stray upstream "
                                              "deposit)."},
            "noise_ke": {"type": "number", "minimum": 0,
                         "description": "Electronic noise per pixel (Gaussian sigma) [thousand electrons]."},
            "threshold_ke": {"type": "number", "minimum": 0,
                             "description": "Zero-suppression threshold per pixel [thousand electrons]; a MIP leaves "
                                            "about 190 per 3 cm."},
        }),
        "volume_cm": {"type": "array", "minItems": 3, "maxItems": 3,
                      "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
                      "description": "Active volume [[x_min, x_max], [y_min, y_max], [z_min, z_max]] in cm; every hit "
                                     "must lie inside (default the source's: detector_sim's "
                                     "generate.detector.volume)."},
        "empty_events": {"type": "string", "enum": list(EMPTY_EVENTS), "default": "drop",
                         "description": "Events with nothing to draw - dropped and counted per class in stats.json, "
                                        "or an error."},
    }},
    "chunk_size": {"type": "integer", "minimum": 1, "default": 2_000,
                   "description": "Events read per chunk while rasterising hits (bounds the memory)."},
}  # fmt: skip


def _check_hits(
    path: Path, chunk: ak.Array, names: Mapping[str, str], volume: np.ndarray | None, n_classes: int
) -> None:
    """Jagged lengths event by event, labels, non-negative energies and the detector volume."""
    counts = ak.num(chunk["hit_x"])
    for b in HIT_BRANCHES[1:]:
        bad = ak.to_numpy(ak.num(chunk[b]) != counts)
        if np.any(bad):
            raise InputError(
                f"{int(bad.sum())} events have a different number of entries than '{names['hit_x']}'",
                path=path, branch=names[b], fix="all hit branches must have the same number of entries per event",
            )  # fmt: skip
    label = ak.to_numpy(chunk["label"])
    if np.any((label < 0) | (label >= n_classes)):
        found = np.unique(label[(label < 0) | (label >= n_classes)])[:5].tolist()
        raise InputError(
            f"event labels must be 0..{n_classes - 1} (one per class name); found {found}", path=path,
            branch=names["label"], fix="map your classes to 0..K-1, one name each under the dataset's class_names",
        )  # fmt: skip
    hit_label = ak.to_numpy(ak.flatten(chunk["hit_label"]))
    bad_label = ~np.isin(hit_label, list(HIT_LABELS))
    if np.any(bad_label):
        raise InputError(
            f"{int(bad_label.sum())} hits have a label outside {HIT_LABELS} "
            f"(e.g. {np.unique(hit_label[bad_label])[:5].tolist()})", path=path, branch=names["hit_label"],
            fix="label each hit 1 (track-like particle) or 2 (electromagnetic shower)",
        )  # fmt: skip
    for b in ("hit_e", "hit_q"):
        values = ak.to_numpy(ak.flatten(chunk[b]))
        if np.any(values < 0):
            raise InputError(
                f"{int(np.sum(values < 0))} hits have a negative value", path=path, branch=names[b],
                fix="energies and charges must be >= 0",
            )  # fmt: skip
    if volume is not None:
        for axis, b in enumerate(("hit_x", "hit_y", "hit_z")):
            values = ak.to_numpy(ak.flatten(chunk[b]))
            lo, hi = volume[axis]
            out = (values < lo) | (values > hi)
            if np.any(out):
                raise InputError(
                    f"{int(out.sum())} hits lie outside the detector volume [{lo}, {hi}] cm "
                    f"(found {values.min():.4g} .. {values.max():.4g})", path=path, branch=names[b],
                    fix="positions must be in cm inside hit_images.volume_cm (mm instead of cm is the usual cause)",
                )  # fmt: skip


def spec_from_config(ds: Mapping[str, Any]) -> HitImageSpec:
    """The view settings of a (filled) dataset's ``hit_images`` section (without the keys the rasteriser reads
    itself: ``volume_cm``, ``empty_events``)."""
    img = {k: v for k, v in ds["hit_images"].items() if k not in ("volume_cm", "empty_events")}
    return HitImageSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in img.items()})


def file_attrs(
    spec: HitImageSpec, class_names: Sequence[str], config_hash: str = "", dataset: str = ""
) -> dict[str, Any]:
    """The attributes of a detector image file (their order is the order they are written in)."""
    return {
        "channels": spec.channel_names,
        "views": list(spec.views),
        "extent": [0.0, spec.n_pix * spec.pitch_cm, 0.0, spec.n_pix * spec.pitch_cm],
        "axes": "X[n, view*channel, row, column]; columns along the view's wire/beam coordinate, cm from the window",
        "pitch_cm": spec.pitch_cm,
        "units": {"charge": "ke-", "time": "ns", "e_pix": "MeV"},
        "readout": {"noise_ke": spec.noise_ke, "threshold_ke": spec.threshold_ke},
        "config_hash": config_hash,
        "dataset": dataset,
        "class_names": list(class_names),
        "signal_class": 0,  # the first class (nu_e CC) is what the selections look for
        "pixel_class_names": PIXEL_CLASSES,
    }


def check_config(ds: Mapping[str, Any]) -> None:
    """The dataset's reading settings as the rasteriser will take them (a ConfigError before anything runs)."""
    try:
        spec_from_config(ds)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), key="hit_images") from None
    truth = tuple(ds.get("truth") or ())
    wanted = ("label", *HIT_BRANCHES, *truth)
    unknown = sorted(set(ds.get("branches") or {}) - set(wanted))
    if unknown:
        raise ConfigError(f"no contract names {unknown} in a hits file; valid: {sorted(wanted)}", key="branches")
    BranchMap({**{b: b for b in wanted}, **(ds.get("branches") or {})}, ds.get("selection"))


def planned_attrs(ds: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` ``(V * C, H, W)`` the image files of dataset config ``ds`` will have;
    ``options``: the source's (``class_names``)."""
    spec = spec_from_config(ds)
    shape = (len(spec.channel_names), spec.n_pix, spec.n_pix)
    return {**file_attrs(spec, options.get("class_names") or []), "image_shape": shape}


def rasterise_dataset(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], ds: Mapping[str, Any],
    *, dataset: str, seed: int, config_hash: str, progress: bool = True, on_bad_file: str = "fail", **options: Any,
) -> dict[str, Any]:  # fmt: skip
    """Rasterise ``inputs`` into ``outputs`` as :func:`rasterise_hits` with the settings of the filled dataset
    config ``ds`` (``hit_images``, ``split``, ``chunk_size``) and the source's ``options``
    (:func:`dataset_reading`: class names, truth branches, detector volume, how its files are read)."""
    reading = dataset_reading(ds, seed=seed, **options)
    return _rasterise(inputs, outputs, reading, split=ds["split"], config_hash=config_hash, dataset=dataset,
                      on_bad_file=on_bad_file, progress=progress)  # fmt: skip


def rasterise_hits(
    inputs: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    spec: HitImageSpec,
    class_names: Sequence[str],
    split: Mapping[str, float],
    seed: int,
    config_hash: str,
    dataset: str,
    volume_cm: Sequence[Sequence[float]] | None = None,
    truth: Sequence[str] = (),
    branches: Mapping[str, str] | None = None,
    tree: str = TREE_NAME,
    selection: str | None = None,
    on_bad_file: str = "fail",
    empty_events: str = "drop",
    step_size: int = 2_000,
    progress: bool = True,
) -> dict[str, Any]:
    """Rasterise every event of ``inputs`` (ROOT hit files, TTree ``tree``) into ``outputs[split]``; see
    module doc. ``selection`` keeps entries; ``on_bad_file``: ``fail`` or ``skip`` an unreadable file.

    ``volume_cm``: ``[[x_min, x_max], [y_min, y_max], [z_min, z_max]]`` of the active volume (every hit must
    lie inside); ``truth``: event-level branches copied into the ``truth`` group; ``branches``: contract
    name -> branch or expression of the files (:mod:`detcnn.io.expressions`). Returns events per split,
    dropped events per class, hits outside the windows.
    """
    if empty_events not in EMPTY_EVENTS:
        raise ConfigError(f"empty_events must be one of {EMPTY_EVENTS}, got '{empty_events}'")
    names = _contract_names(branches, truth)
    reading = HitReading(spec, tuple(class_names), tuple(truth), names, _volume(volume_cm), empty_events, seed,
                         BranchMap(names, selection), tree, step_size)  # fmt: skip
    return _rasterise(inputs, outputs, reading, split=split, config_hash=config_hash, dataset=dataset,
                      on_bad_file=on_bad_file, progress=progress)  # fmt: skip


def _rasterise(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], reading: HitReading,
    *, split: Mapping[str, float], config_hash: str, dataset: str, on_bad_file: str, progress: bool,
) -> dict[str, Any]:  # fmt: skip
    """The chunks of every file of ``inputs`` drawn with ``reading`` into the split files (the split drawn
    from the reading's seed), and the summarised statistics."""
    if not inputs:
        raise InputError("no input ROOT files", fix="list files under the dataset's 'files' key")
    spec = reading.spec
    t_start = time.perf_counter()
    stats = write_splits(
        ((Path(p), file_chunks(Path(p), reading)) for p in inputs), outputs,
        image_shape=(len(spec.channel_names), spec.n_pix, spec.n_pix), split=split, seed=reading.seed,
        attrs=file_attrs(spec, reading.class_names, config_hash, dataset), desc=f"rasterise {dataset}",
        unit="event", progress=progress, on_bad_file=on_bad_file,
    )  # fmt: skip
    return _summarise(stats, dataset, time.perf_counter() - t_start)


def _contract_names(branches: Mapping[str, str] | None, truth: Sequence[str]) -> dict[str, str]:
    """Contract name -> branch or expression to read: the hit branches, ``label`` and the ``truth`` branches
    as themselves unless ``branches`` maps them; a ConfigError for a name the contract does not have."""
    wanted = ("label", *HIT_BRANCHES, *truth)
    unknown = sorted(set(branches or {}) - set(wanted))
    if unknown:
        raise ConfigError(f"no contract names {unknown} in a hits file; valid: {sorted(wanted)}", key="branches")
    return {**{b: b for b in wanted}, **(branches or {})}


def _volume(volume_cm: Sequence[Sequence[float]] | None) -> np.ndarray | None:
    """The active volume ``(3, 2)`` [cm] as an array (None: not checked); a ConfigError for another shape."""
    volume = np.asarray(volume_cm, dtype=np.float64) if volume_cm is not None else None
    if volume is not None and volume.shape != (3, 2):
        raise ConfigError(f"volume_cm must be [[x_min, x_max], [y_min, y_max], [z_min, z_max]], got {volume_cm}")
    return volume


@dataclass(frozen=True)
class HitReading:
    """How every chunk of a dataset of hits is read and drawn (the arguments of :func:`rasterise_hits`):
    ``seed`` the rasterise seed, of which (with the event and the pixel) the electronic noise is a function
    (:mod:`detcnn.physics.readout_noise`)."""

    spec: HitImageSpec
    class_names: tuple[str, ...]
    truth: tuple[str, ...]
    names: Mapping[str, str]
    volume: np.ndarray | None
    empty_events: str
    seed: int
    branch_map: BranchMap
    tree: str = TREE_NAME
    step_size: int = 2_000
    per_jet: ClassVar[bool] = False  # one image per entry (the jets' reading may have several)


def dataset_reading(
    ds: Mapping[str, Any], *, seed: int, class_names: Sequence[str] = (), truth: Sequence[str] = (),
    volume_cm: Sequence[Sequence[float]] | None = None, branches: Mapping[str, str] | None = None,
    selection: str | None = None, tree: str = TREE_NAME, on_bad_file: str = "fail",
) -> HitReading:  # fmt: skip
    """The :class:`HitReading` of the filled dataset config ``ds`` and its source's options (as
    :func:`rasterise_dataset` takes them; ``on_bad_file`` plays no part in a chunk's images)."""
    img = ds["hit_images"]
    if not class_names:
        raise ConfigError("a dataset of hits needs 'class_names' (one per label value)", key="class_names")
    names = _contract_names(branches, truth)
    return HitReading(spec_from_config(ds), tuple(class_names), tuple(truth), names,
                      _volume(img.get("volume_cm") or volume_cm), img["empty_events"], seed,
                      BranchMap(names, selection), tree, int(ds["chunk_size"]))  # fmt: skip


def file_chunks(path: Path, reading: HitReading, *, jet_counts: bool = False) -> Iterator[ChunkImages]:
    """:func:`chunk_images` of every chunk of the file ``path``, in entry order (``jet_counts``: the jets'
    interface; an event of hits holds no jets to count)."""
    for chunk in read_entries(path, reading.branch_map, tree=reading.tree, step_size=reading.step_size):
        yield chunk_images(path, chunk, reading)


def chunk_images(path: Path, chunk: EntryChunk, reading: HitReading) -> ChunkImages:
    """One chunk of entries of the file ``path`` checked and drawn: the images, per-pixel and event truth and
    the observables of its drawable events, where each comes from (``positions``), the counters (hits, hits
    outside the windows, entries, dropped events per class)."""
    spec, class_names, n_classes = reading.spec, reading.class_names, len(reading.class_names)
    events = ak.zip(chunk.values, depth_limit=1)
    _check_hits(path, events, reading.names, reading.volume, n_classes)
    label = ak.to_numpy(events["label"]).astype(np.int64)
    counts = ak.to_numpy(ak.num(events["hit_x"])).astype(np.int64)
    keep = _events_with_hits(path, counts, reading)
    sub = events[keep]
    hits = {f: ak.to_numpy(ak.flatten(sub[f"hit_{f}"])) for f in HIT_FIELDS}
    images = hit_images(hits, counts[keep], spec, event_ids(path, chunk.entries[keep]), reading.seed)
    charge = images.X[:, :: len(spec.channels)]  # the charge channel of every view
    visible = _visible_events(path, charge, reading.empty_events)
    dropped = np.bincount(label[~keep], minlength=n_classes)
    dropped[:n_classes] += np.bincount(label[keep][~visible], minlength=n_classes)
    sel = np.flatnonzero(keep)[visible]
    return ChunkImages(
        images=images.X[visible], labels=label[sel],
        observables=hit_observables(charge[visible], spec.pitch_cm),
        pixels={"y_pix": images.y_pix[visible], "e_pix": images.e_pix[visible]},
        truth={t: ak.to_numpy(events[t])[sel].astype(np.float64) for t in reading.truth},
        counters={"n_hits": int(counts.sum()), "n_outside": images.n_outside, "entries_read": chunk.n_read,
                  "entries_selected": len(label),
                  **{f"n_dropped/{c}": int(d) for c, d in zip(class_names, dropped, strict=True)}},
        positions=Positions(chunk.entries[sel], chunk.start, chunk.n_read),
    )  # fmt: skip


def _events_with_hits(path: Path, counts: np.ndarray, reading: HitReading) -> np.ndarray:
    """``(n_events,)`` bool: the events with at least one hit (an InputError for any other under
    ``empty_events: error``)."""
    no_hits = counts == 0
    if np.any(no_hits) and reading.empty_events == "error":
        raise InputError(
            f"{int(no_hits.sum())} events have no hits", path=path, branch=reading.names["hit_x"],
            fix="drop them, or set empty_events: drop to drop and count them",
        )  # fmt: skip
    return ~no_hits


def _visible_events(path: Path, charge: np.ndarray, empty_events: str) -> np.ndarray:
    """``(n_events,)`` bool: the events of charge images ``(n_events, n_views, H, W)`` with a pixel above
    threshold (an InputError for any other under ``empty_events: error``)."""
    visible = charge.reshape(len(charge), -1).max(axis=1) > 0
    if not np.all(visible) and empty_events == "error":
        raise InputError(
            f"{int((~visible).sum())} events have no pixel above threshold", path=path,
            fix="lower hit_images.threshold_ke, or set hit_images.empty_events: drop",
        )  # fmt: skip
    return visible


def _summarise(stats: dict[str, Any], dataset: str, seconds: float) -> dict[str, Any]:
    """The statistics of :func:`write_splits` with the kept and outside fractions and the time [s], logged
    (a warning for dropped events)."""
    stats["kept_fraction"] = stats.get("entries_selected", 0) / max(stats.get("entries_read", 0), 1)
    stats["seconds"] = seconds
    stats["outside_fraction"] = stats.get("n_outside", 0) / max(stats.get("n_hits", 0), 1)
    n_dropped = sum(v for k, v in stats.items() if k.startswith("n_dropped/"))
    if n_dropped:
        log.warning("%s: dropped %d events with nothing to draw (per class in the stats)", dataset, n_dropped)
    log.info(
        "%s: %s events in %.1f s; %.2f%% of hits fell outside the windows",
        dataset, stats["per_split"], stats["seconds"], 100 * stats["outside_fraction"],
    )  # fmt: skip
    return stats
