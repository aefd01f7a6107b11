"""Rasterising jets: ROOT events (jets file contract, :mod:`detcnn.io.events`) -> image files per split.

Reads the events file by file, chunk by chunk (memory bounded by the chunk size): the dataset's tree, its
branches or expressions for the contract names, its entry selection (:mod:`detcnn.io.expressions`), one
jet per entry or several per event (:mod:`detcnn.rasterisers.jets_per_event`). Draws the jet images and
observables of a whole chunk at once, on the rapidity of the constituents (massive, from ``part_m``; or on
their pseudorapidity, ``images.axis``) and the jet's kinematics (``truth``: :data:`TRUTH`, the variables of
the performance in bins), assigns each jet to a split with a seeded random number (the same
config gives the same split), and appends to one HDF5 file per split, all renamed into place only when
everything succeeded. A file that cannot be read fails the step, or is left out (``on_bad_file: skip``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.config.schema import dataclass_properties
from detcnn.errors import ConfigError, InputError
from detcnn.io.events import JET_CLASS_NAMES, TREE_NAME, EntryChunk, read_entries
from detcnn.io.expressions import BranchMap
from detcnn.io.splits import ChunkImages, Positions, write_splits
from detcnn.physics import compiled
from detcnn.physics.jet_images import AXES, CHANNELS, ImageSpec, jet_images
from detcnn.physics.kinematics import event_index, per_event_sum, rapidity, summed_rapidity
from detcnn.physics.observables import DEFAULT_JET_RADIUS, jet_observables
from detcnn.physics.observables import OBSERVABLES as JET_OBSERVABLES
from detcnn.rasterisers.jets_per_event import JetsPerEvent, explode_positions

log = logging.getLogger(__name__)

EVENTS = "jets"
IMAGE_SECTION = "images"  # the dataset's section of image settings
OBSERVABLES = JET_OBSERVABLES  # the observables its files carry (name -> function)
READOUT = None  # no read-out setting a systematic variation may change (rasterisers/hits.py has some)
IMAGE_ARGS = ("pt", "eta", "phi", "charge", "counts", "jet_phi")
NEEDED = ("jet_eta", "jet_phi", "label", "part_pt", "part_eta", "part_phi", "part_charge")
#: Contract names read when mapped or present in the file: masses, jet pT and mass (the jet truth; the order of
#: jets per event), the constituents' jet index (mapped only) and a jet selection (jets per event).
OPTIONAL = ("part_m", "jet_pt", "jet_m", "part_jet")
#: Read where the file has them as plain branches, unless mapped (then they must be there).
READ_IF_PRESENT = ("part_m", "jet_pt", "jet_m")
#: The event truth of jet image files: the jet's pT [GeV] and rapidity, from :func:`jet_truth`.
TRUTH = ("jet_pt", "jet_y")
#: The dataset keys of a dataset of jets (JSON-schema properties): its images (the defaults of
#: :class:`~detcnn.physics.jet_images.ImageSpec`) and the entries read per chunk.
SCHEMA: dict[str, Any] = {
    "images": {"type": "object", "additionalProperties": False, "default": {}, "description": "How jets become images.",
               "properties": dataclass_properties(ImageSpec, {
        "n_pix": {"type": "integer", "minimum": 4, "description": "Pixels per side."},
        "half_width": {"type": "number", "exclusiveMinimum": 0,
                       "description": "The image covers [-half_width, half_width] in Delta eta and Delta phi."},
        "channels": {"type": "array", "items": {"type": "string", "enum": list(CHANNELS)}, "minItems": 1,
                     "description": "Image channels (\"colours\"); pT channels in GeV, multiplicities in counts."},
        "rotate": {"type": "boolean", "description": "Rotate the principal axis of each jet to vertical."},
        "flip": {"type": "boolean", "description": "Reflect each jet so its hardest quadrant is the upper right one."},
        "normalise": {"type": "string", "enum": ["none", "pt_sum"],
                      "description": "pt_sum divides the pT channels by the jet's pT inside the image."},
        "axis": {"type": "string", "enum": list(AXES),
                 "description": "The image's longitudinal axis - the constituents' rapidity (massive, from part_m; "
                                "the clustering's and the public sample's axis) or their pseudorapidity."},
    })},
    "chunk_size": {"type": "integer", "minimum": 1, "default": 20_000,
                   "description": "Entries (jets, or events of several jets) read per chunk while rasterising "
                                  "(bounds the memory)."},
}  # fmt: skip


def chunk_arrays(chunk: Any, axis: str = "rapidity") -> dict[str, np.ndarray]:
    """Flat numpy views of one chunk: constituents ``(n_constituents,)`` and jets ``(n_jets,)``.

    ``eta`` is the constituents' longitudinal image coordinate and ``jet_eta`` the jet axis on it: on the
    ``rapidity`` axis the constituents' rapidity (massive when the chunk has ``part_m``, else equal to the
    pseudorapidity) and the rapidity of the summed constituents; on ``pseudorapidity`` the file's values.
    ``mt`` = sqrt(pT^2 + m^2) for the massive jet mass (``pt`` when massless).
    """
    counts = ak.to_numpy(ak.num(chunk["part_pt"])).astype(np.int64)
    pt = ak.to_numpy(ak.flatten(chunk["part_pt"])).astype(np.float64)
    eta = ak.to_numpy(ak.flatten(chunk["part_eta"])).astype(np.float64)
    jet_eta = ak.to_numpy(chunk["jet_eta"]).astype(np.float64)
    mt = pt
    if axis == "rapidity":
        if "part_m" in _fields(chunk):
            mass = ak.to_numpy(ak.flatten(chunk["part_m"])).astype(np.float64)
            eta, mt = rapidity(pt, eta, mass), np.sqrt(pt * pt + mass * mass)
        jet_eta = summed_rapidity(mt, eta, event_index(counts), len(counts))
    return {
        "counts": counts,
        "pt": pt,
        "mt": mt,
        "eta": eta,
        "phi": ak.to_numpy(ak.flatten(chunk["part_phi"])).astype(np.float64),
        "charge": ak.to_numpy(ak.flatten(chunk["part_charge"])),
        "jet_eta": jet_eta,
        "jet_phi": ak.to_numpy(chunk["jet_phi"]).astype(np.float64),
        "label": ak.to_numpy(chunk["label"]).astype(np.int64),
    }


def _fields(chunk: Any) -> list[str]:
    return list(chunk.fields) if isinstance(chunk, ak.Array) else list(chunk)


def jet_truth(chunk: Any, counts: np.ndarray, path: object = None) -> dict[str, np.ndarray]:
    """The jets' :data:`TRUTH` ``{name: (n_jets,)}`` of one chunk (``counts``: constituents per jet) of the file
    ``path``.

    ``jet_pt`` [GeV]: the chunk's ``jet_pt`` where the file has it, else the pT of the summed constituents;
    ``jet_y``: the rapidity y = asinh(pT sinh(eta) / sqrt(pT^2 + m^2)) of the jet from ``jet_pt``, the file's
    ``jet_eta`` (pseudorapidity) and ``jet_m`` (the file's, else the mass of the summed constituents, massless
    without ``part_m``). For the files a detcnn source writes (the jet is the sum of its constituents, E-scheme)
    it is the rapidity of the summed constituents.
    """
    fields, n = _fields(chunk), len(counts)
    jet = {k: _per_jet(chunk, k, n, path) for k in ("jet_pt", "jet_m") if k in fields}
    if len(jet) < 2:
        summed_pt, summed_m = _summed_constituents(chunk, counts)
        jet.setdefault("jet_pt", summed_pt)
        jet.setdefault("jet_m", summed_m)
    jet_eta = _per_jet(chunk, "jet_eta", n, path)
    return {"jet_pt": jet["jet_pt"], "jet_y": rapidity(jet["jet_pt"], jet_eta, jet["jet_m"])}


def _summed_constituents(chunk: Any, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pT and mass [GeV] ``(n_jets,)`` of the sum of each jet's constituents (massless without ``part_m``)."""
    owner, n = event_index(counts), len(counts)
    pt, eta, phi = (ak.to_numpy(ak.flatten(chunk[k])).astype(np.float64) for k in ("part_pt", "part_eta", "part_phi"))
    has_m = "part_m" in _fields(chunk)
    mass = ak.to_numpy(ak.flatten(chunk["part_m"])).astype(np.float64) if has_m else np.zeros_like(pt)
    y, mt = rapidity(pt, eta, mass), np.sqrt(pt * pt + mass * mass)
    px, py = per_event_sum(pt * np.cos(phi), owner, n), per_event_sum(pt * np.sin(phi), owner, n)
    e, pz = per_event_sum(mt * np.cosh(y), owner, n), per_event_sum(mt * np.sinh(y), owner, n)
    return np.hypot(px, py), np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))


def _per_jet(chunk: Any, name: str, n: int, path: object) -> np.ndarray:
    """The contract name ``name`` of a chunk as ``(n,)`` float64; an InputError when it is not one number per jet."""
    values = chunk[name]
    if (isinstance(values, ak.Array) and values.ndim != 1) or len(values) != n:
        raise InputError(f"'{name}' is not one number per jet", path=path, branch=name,
                         fix=f"map {name} to a branch or expression with one value per jet")  # fmt: skip
    return np.asarray(ak.to_numpy(values) if isinstance(values, ak.Array) else values, dtype=np.float64)


def rasterise_chunk(
    arrays: Mapping[str, np.ndarray], spec: ImageSpec, backend: str = "auto", jet_radius: float = DEFAULT_JET_RADIUS
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Images ``(n_jets, C, H, W)``, observables ``{name: (n_jets,)}`` and the number of constituents off
    the grid, for one chunk from :func:`chunk_arrays`. ``backend``: "numba" (the fused kernels), "numpy"
    (the reference array functions) or "auto" (numba when installed); ``jet_radius``: the jets' clustering
    radius R (the angularities' dR / R)."""
    keys = ("pt", "eta", "phi", "counts", "jet_eta", "jet_phi", "mt")
    arrays = {"mt": arrays["pt"], **arrays}  # massless unless the chunk says otherwise
    if compiled.use_compiled(backend):
        images, n_outside = jet_images(*(arrays[k] for k in IMAGE_ARGS), spec, backend=backend)
        return images, jet_observables(backend, jet_radius, **{k: arrays[k] for k in keys}), n_outside
    owner = event_index(arrays["counts"])  # jet of every constituent, shared by images and observables
    images, n_outside = jet_images(*(arrays[k] for k in IMAGE_ARGS), spec, owner, backend)
    return images, jet_observables(backend, jet_radius, **{k: arrays[k] for k in keys}, owner=owner), n_outside


def _check_jagged(path: Path, chunk: Any, branches: Mapping[str, str]) -> None:
    """Every constituent branch must have, jet by jet, as many entries as ``part_pt``."""
    counts = ak.num(chunk["part_pt"])
    for name in [n for n in ("part_eta", "part_phi", "part_charge", "part_m") if n in _fields(chunk)]:
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
    """The image settings of a (filled) dataset's ``images`` section."""
    img = dict(ds["images"])
    if "channels" in img:
        img["channels"] = tuple(img["channels"])
    try:
        return ImageSpec(**img)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), key="images") from None


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
        "axis": spec.axis,
    }


def check_config(ds: Mapping[str, Any]) -> None:
    """The dataset's reading settings as the rasteriser will take them: contract names, expressions, image
    settings (a ConfigError before anything runs)."""
    spec_from_config(ds)
    jets = JetsPerEvent.from_config(ds.get("jets"))
    contract_map(ds.get("branches"), ds.get("selection"), (ds.get("jets") or {}).get("selection") if jets.per_event
                 else None)  # fmt: skip


def planned_attrs(ds: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` ``(C, H, W)`` the image files of dataset config ``ds`` will have."""
    spec = spec_from_config(ds)
    return {**file_attrs(spec), "image_shape": (len(spec.channels), spec.n_pix, spec.n_pix)}


def rasterise_dataset(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], ds: Mapping[str, Any],
    *, dataset: str, seed: int, config_hash: str, progress: bool = True, on_bad_file: str = "fail", **options: Any,
) -> dict[str, Any]:  # fmt: skip
    """Rasterise ``inputs`` into ``outputs`` as :func:`rasterise_jets` with the settings of the filled dataset
    config ``ds`` (``images``, ``split``, ``chunk_size``) and the source's ``options`` (:func:`dataset_reading`:
    how its files are read - ``tree``, ``branches``, ``selection``; the defaults for files a detcnn source
    wrote - the ``jets`` per event and their radius)."""
    return _rasterise(inputs, outputs, dataset_reading(ds, **options), split=ds["split"], seed=seed,
                      config_hash=config_hash, dataset=dataset, on_bad_file=on_bad_file, progress=progress)  # fmt: skip


@dataclass(frozen=True)
class JetReading:
    """How every chunk of a dataset of jets is read and drawn: image settings, contract names (and the
    selections), jets per event, tree, entries per chunk and the jets' clustering radius R (the observables')."""

    spec: ImageSpec
    branch_map: BranchMap
    jets: JetsPerEvent = field(default_factory=JetsPerEvent)
    tree: str = TREE_NAME
    step_size: int = 20_000
    jet_radius: float = DEFAULT_JET_RADIUS

    @property
    def names(self) -> dict[str, str]:
        """Contract name -> the expression it is read with (for error messages)."""
        return {name: e.text for name, e in self.branch_map.exprs.items()}

    @property
    def per_jet(self) -> bool:
        """Whether an entry holds several jets, one image each (jets per event)."""
        return self.jets.per_event


def dataset_reading(
    ds: Mapping[str, Any], *, seed: int = 0, jets: Mapping[str, Any] | None = None, on_bad_file: str = "fail",
    branches: Mapping[str, str] | None = None, selection: str | None = None, **reading: Any,
) -> JetReading:  # fmt: skip
    """The :class:`JetReading` of the filled dataset config ``ds`` and its source's options (``tree``,
    ``branches``, ``selection``, ``jets``, ``jet_radius``; ``seed`` and ``on_bad_file`` play no part in a
    chunk's images: the interface of the hits' reading)."""
    jets = dict(jets or {})
    mode = JetsPerEvent.from_config(jets)
    branch_map = contract_map(branches, selection, jets.get("selection") if mode.per_event else None)
    return JetReading(spec_from_config(ds), branch_map, mode, step_size=int(ds["chunk_size"]), **reading)


def chunk_images(path: Path, chunk: EntryChunk, reading: JetReading) -> ChunkImages:
    """One chunk of entries of the file ``path`` drawn: the images, labels, observables and truth of its jets
    (exploded from their events for jets per event), where each comes from (``positions``) and the counters
    (entries read and selected, jets, constituents outside the grid)."""
    values, names = chunk.values, reading.names
    counters = {"entries_read": chunk.n_read, "entries_selected": len(chunk.entries)}
    rows, jet = np.arange(len(chunk.entries)), None
    if reading.jets.per_event:
        values, jet_counters, (rows, jet) = explode_positions(values, reading.jets, path)
        counters.update(jet_counters)
    _check_jagged(path, values, names)
    arrays = chunk_arrays(values, reading.spec.axis)
    _check_chunk(path, arrays, names)
    images, obs, n_outside = rasterise_chunk(arrays, reading.spec, jet_radius=reading.jet_radius)
    counters.update(n_outside=n_outside, n_constituents=len(arrays["pt"]))
    truth = jet_truth(values, arrays["counts"], path)
    positions = Positions(chunk.entries[rows], chunk.start, chunk.n_read, jet, chunk.counts)
    return ChunkImages(images, arrays["label"], obs, truth=truth, counters=counters, positions=positions)


def file_chunks(path: Path, reading: JetReading, *, jet_counts: bool = False) -> Iterator[ChunkImages]:
    """:func:`chunk_images` of every chunk of the file ``path`` in entry order; ``jet_counts``: with the jets
    of every entry read (jets per event), selected or not, in the positions."""
    count = "jet_eta" if jet_counts and reading.per_jet else None
    for chunk in read_entries(path, reading.branch_map, tree=reading.tree, step_size=reading.step_size, count=count):
        yield chunk_images(path, chunk, reading)


def contract_map(
    branches: Mapping[str, str] | None, selection: str | None, jet_selection: str | None = None
) -> BranchMap:
    """The contract names to read: the needed ones and :data:`READ_IF_PRESENT` (read where the file has them:
    massless constituents and the jet's pT and mass from its constituents where not) as themselves unless
    ``branches`` maps them, the optional ones it maps, a jet selection."""
    branches = dict(branches or {})
    unknown = sorted(set(branches) - set(NEEDED) - set(OPTIONAL))
    if unknown:
        raise ConfigError(f"no contract names {unknown} in a jets file; valid: {sorted({*NEEDED, *OPTIONAL})}",
                          key="branches")  # fmt: skip
    names = {**{b: b for b in NEEDED}, **{b: b for b in READ_IF_PRESENT}, **branches}
    if jet_selection:
        names["jet_selection"] = jet_selection
    return BranchMap(names, selection, optional=tuple(b for b in READ_IF_PRESENT if b not in branches))


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
    tree: str = TREE_NAME,
    selection: str | None = None,
    jets: JetsPerEvent | None = None,
    jet_selection: str | None = None,
    on_bad_file: str = "fail",
    step_size: int = 20_000,
    progress: bool = True,
    jet_radius: float = DEFAULT_JET_RADIUS,
) -> dict[str, Any]:
    """Rasterise all jets in ``inputs`` (ROOT files, TTree ``tree``) into ``outputs[split]`` HDF5 files.

    ``branches`` maps contract names (``part_pt``) to branches or expressions of the files (identity by
    default); ``selection`` keeps entries; ``jets``: one jet per entry, or several per event; ``on_bad_file``:
    ``fail`` or ``skip``; ``jet_radius``: the jets' clustering radius R (the observables' angularity). Returns
    counts per split, constituents outside the grid, selection and jet counts, skipped files and the timings.
    """
    jets = jets or JetsPerEvent()
    branch_map = contract_map(branches, selection, jet_selection if jets.per_event else None)
    reading = JetReading(spec, branch_map, jets, tree, step_size, jet_radius)
    return _rasterise(inputs, outputs, reading, split=split, seed=seed, config_hash=config_hash, dataset=dataset,
                      on_bad_file=on_bad_file, progress=progress)  # fmt: skip


def _rasterise(
    inputs: Sequence[str | os.PathLike[str]], outputs: Mapping[str, str | os.PathLike[str]], reading: JetReading,
    *, split: Mapping[str, float], seed: int, config_hash: str, dataset: str, on_bad_file: str, progress: bool,
) -> dict[str, Any]:  # fmt: skip
    """The chunks of every file of ``inputs`` drawn with ``reading`` into the split files (drawn from ``seed``),
    and the statistics, logged."""
    if not inputs:
        raise InputError("no input ROOT files", fix="list files under the dataset's 'files' key")
    spec = reading.spec
    t_start = time.perf_counter()
    stats = write_splits(
        ((Path(p), file_chunks(Path(p), reading)) for p in inputs), outputs,
        image_shape=(len(spec.channels), spec.n_pix, spec.n_pix), attrs=file_attrs(spec, config_hash, dataset),
        split=split, seed=seed, desc=f"rasterise {dataset}", unit="jet", progress=progress, on_bad_file=on_bad_file,
    )  # fmt: skip
    stats["seconds"] = time.perf_counter() - t_start
    stats["outside_fraction"] = stats.get("n_outside", 0) / max(stats.get("n_constituents", 0), 1)
    stats["kept_fraction"] = stats.get("entries_selected", 0) / max(stats.get("entries_read", 0), 1)
    log.info(
        "%s: %s jets in %.1f s; %.2f%% of constituents fell outside the image; the selection kept %.1f%% of "
        "the entries", dataset, stats["per_split"], stats["seconds"], 100 * stats["outside_fraction"],
        100 * stats["kept_fraction"],
    )  # fmt: skip
    return stats
