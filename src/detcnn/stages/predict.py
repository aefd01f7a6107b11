"""The predict stage: trained networks and fitted baselines applied to one ROOT events file -> a friend tree.

The events are read as the dataset reads its files (tree, selection, branch expressions, jets per event:
the source's reading options) and drawn by the very chunk functions of the rasterise stage
(``file_chunks`` of :mod:`detcnn.rasterisers.jets` and :mod:`detcnn.rasterisers.hits`) with the image
settings the models were trained with, which must match the ``reference`` image file's; the images are scored
by the evaluate stage's scorers (:data:`detcnn.stages.evaluate.SCORERS`), on every image whatever its class,
so a score here equals the evaluate stage's for the same event or jet.

Out comes one ROOT file (:mod:`detcnn.io.friends`) holding a friend tree of the events file: the same tree name
and number of entries, in the same order, with float32 branches (:func:`branch_name`):

- classification: ``<model>_<class>`` = P(class) for every class of the reference; a baseline that gives
  only a score: ``<model>_score``;
- energy regression: ``<model>_<target>`` [GeV] (the target's truth name, e.g. ``nu_energy``);

one value per entry, or one per jet of the event's jet collection (jagged, counter ``detcnn_njet``) for jets
per event; NaN where there is no image (the entry failed the selection, was not drawable, the jet was not
selected or not among ``max_jets``). Tasks that predict per pixel are a ConfigError; so are camera frames (their
rasteriser shares no chunk functions).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.baselines import get_baseline
from detcnn.catalogue import event_kind
from detcnn.config import fill_dataset
from detcnn.errors import ConfigError, InputError
from detcnn.generate import get_source
from detcnn.io.events import open_tree
from detcnn.io.friends import FriendWriter
from detcnn.io.images import ImageFile, ImageSet
from detcnn.io.splits import ChunkImages
from detcnn.kinds import ModelKind
from detcnn.rasterisers import RASTERISERS
from detcnn.stages.evaluate import SCORERS, Scorer
from detcnn.tasks import TASKS, get_task

log = logging.getLogger(__name__)
Paths = str | os.PathLike[str]
#: Attributes of an image file that describe its labels or provenance, not its images: not compared.
NOT_IMAGES = ("config_hash", "dataset", "class_names", "signal_class", "pixel_class_names", "image_shape")
#: What a model's file is, by its suffix (a network's ``weights.pt``, a baseline's ``baseline.json``).
MODEL_SUFFIXES = {".pt": ModelKind.NETWORK, ".json": ModelKind.BASELINE}


def branch_name(*parts: str) -> str:
    """The parts joined by ``_``, every run of characters other than letters, digits and ``_`` made one ``_``
    (``("cnn", "nu_e CC")`` -> ``cnn_nu_e_CC``): a name C++ (RDataFrame, TTree::Draw) can use."""
    return "_".join(re.sub(r"[^A-Za-z0-9_]+", "_", str(p)).strip("_") for p in parts)


def _columns(name: str, scorer: Scorer, attrs: Mapping[str, Any], pred: Mapping[str, np.ndarray]) -> dict:
    """The branches of one model's prediction arrays (those of a task that predicts per event):
    ``<model>_<class>`` P(class) of each class of the reference where it gives ``proba``, else ``<model>_score``
    where it gives a ``score``, else ``<model>_<target>`` of its ``pred`` (the target's truth name:
    ``truth/nu_energy`` -> ``nu_energy``)."""
    if "proba" in pred:
        return {branch_name(name, c): pred["proba"][:, k] for k, c in enumerate(attrs["class_names"])}
    if "score" in pred:
        return {branch_name(name, "score"): pred["score"]}
    return {branch_name(name, scorer.judged.dataset.rpartition("/")[2]): pred["pred"]}


@dataclass
class _Model:
    """A loaded model and the friend-tree branches its predictions go to."""

    name: str
    scorer: Scorer
    attrs: dict[str, Any]
    branches: list[str]

    def columns(self, images: ImageSet) -> dict[str, np.ndarray]:
        """``{branch: (n,)}`` float32 of the model's prediction on every image of ``images``."""
        if len(images.y) == 0:
            return {b: np.empty(0, dtype=np.float32) for b in self.branches}
        pred = self.scorer.predict_rows(images, np.arange(len(images.y)))
        out = _columns(self.name, self.scorer, self.attrs, pred)
        for branch, values in out.items():
            if not np.all(np.isfinite(values)):
                raise FloatingPointError(f"model '{self.name}' gave non-finite '{branch}' on {images.path}")
        return {b: np.asarray(v, dtype=np.float32) for b, v in out.items()}


def _load(name: str, path: Path, attrs: dict[str, Any], sample: ImageSet, threads: int) -> _Model:
    """The model ``name`` of the file ``path`` (``weights.pt``: a network; ``baseline.json``: a baseline), its
    branches found by scoring ``sample`` (the reference's first images); a ConfigError for a pixel task."""
    kind = MODEL_SUFFIXES.get(path.suffix)
    if kind is None:
        raise ConfigError(f"model '{name}': '{path}' is neither a network's weights (.pt) nor a baseline (.json)",
                          key="models", fix="pass NAME=results/models/<dataset>/<name>/weights.pt or "
                          "baseline.json")  # fmt: skip
    if not path.is_file():
        raise InputError(f"no file of model '{name}'", path=path, fix="train or fit it first")
    task = _task(path, kind)
    if task.PIXEL_TRUTH:
        written = [t for t, module in TASKS.items() if not module.PIXEL_TRUTH]
        raise ConfigError(f"model '{name}' ({task.NAME}) predicts per pixel: predictions per pixel are not written "
                          f"to friend trees (tasks written: {', '.join(written)})", key="models",
                          fix="leave it out of the models to predict with")  # fmt: skip
    model = _Model(name, SCORERS[kind](path, attrs, threads, None), attrs, [])
    model.branches = list(model.columns(sample))
    return model


def _task(path: Path, kind: ModelKind) -> Any:
    """The task module of the model file ``path``: a network's recorded task, a baseline kind's."""
    if kind is ModelKind.BASELINE:
        return get_task(get_baseline(json.loads(path.read_text()).get("kind")).TASK)
    import torch

    return get_task(torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("task"))


def _reference(path: Paths, planned: Mapping[str, Any], section: str) -> tuple[dict[str, Any], ImageSet]:
    """The attributes of the reference image file ``path`` and its first images (at most 2); a ConfigError
    naming the config section ``section`` where the images planned here (``planned``: the rasteriser's
    ``planned_attrs``) differ from the reference's in shape or an image attribute."""
    with ImageFile(path) as f:
        attrs = dict(f.attrs)
        differ = {k: v for k, v in planned.items() if k not in NOT_IMAGES and _plain(v) != _plain(attrs.get(k))}
        if tuple(planned["image_shape"]) != f.image_shape:
            differ["image_shape"] = list(planned["image_shape"])
        if differ:
            key, value = next(iter(differ.items()))
            there = list(f.image_shape) if key == "image_shape" else attrs.get(key)
            raise ConfigError(f"the images would have {key} {value}, the models' reference '{path}' has {there}",
                              key=section, fix="pass the image settings the models were trained with")  # fmt: skip
        rows = np.arange(f.n_events) < 2
        sample = ImageSet(
            X=f.read("X", rows), y=f.labels[rows], observables={k: v[rows] for k, v in f.group("observables").items()},
            attrs=attrs, truth={k: v[rows] for k, v in f.group("truth").items()}, path=f.path,
        )  # fmt: skip
    return attrs, sample


def _plain(value: Any) -> Any:
    """``value`` as JSON has it (tuples as lists), for comparing a planned attribute with a stored one."""
    return json.loads(json.dumps(value))


def _chunk_set(chunk: ChunkImages, attrs: dict[str, Any], path: Path) -> ImageSet:
    """The images of one chunk as the scorers take a split (the reference's attributes)."""
    return ImageSet(X=chunk.images, y=chunk.labels, observables=chunk.observables, attrs=attrs,
                    pixels=chunk.pixels, truth=chunk.truth, path=path)  # fmt: skip


def run(
    *, events: Paths, out: Paths, dataset: str, ds: Mapping[str, Any], reference: Paths, models: Mapping[str, Paths],
    seed: int, threads: int = 1, progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Score every image of the ROOT file ``events`` with ``models`` (name -> ``weights.pt`` or ``baseline.json``)
    and write their predictions as the friend tree ``out`` (module doc). ``ds``: the config section of dataset
    ``dataset`` whose files these are (filled here), with the image section the models were trained with;
    ``reference``: an image file (HDF5) of the dataset they were trained on; ``seed``: the rasterise seed
    (the readout noise of hits). Returns (and logs) the entries, selected entries, images, seconds and
    entries per second."""
    t_start = time.perf_counter()
    ds = fill_dataset(ds, key=f"datasets.{dataset}")
    rasteriser = _rasteriser(ds, dataset)
    if not models:
        raise ConfigError("no models to predict with", key=f"datasets.{dataset}.predict.models")
    options = get_source(ds["source"]).rasterise_options(ds)
    section = f"datasets.{dataset}.{rasteriser.IMAGE_SECTION}"
    attrs, sample = _reference(reference, rasteriser.planned_attrs(ds, options), section)
    loaded = [_load(name, Path(path), attrs, sample, threads) for name, path in models.items()]
    _check_branches(loaded)
    reading = rasteriser.dataset_reading(ds, seed=seed, **options)
    jagged, path = reading.per_jet, Path(events)
    chunks = rasteriser.file_chunks(path, reading, jet_counts=True)
    info = {"dataset": dataset, "seed": seed, "reference": str(reference), "events": path.name,
            "models": {name: str(p) for name, p in models.items()}}  # fmt: skip
    writer = FriendWriter(out, reading.tree, [b for m in loaded for b in m.branches], jagged=jagged, info=info,
                          title=f"detcnn predict: friend of '{reading.tree}' in {path.name}")  # fmt: skip
    n_entries = int(open_tree(path, reading.tree).num_entries)
    stats = _write(writer, chunks, loaded, attrs, path, n_entries, f"predict {dataset}", progress)
    stats["seconds"] = time.perf_counter() - t_start
    stats["events_per_s"] = stats["entries"] / max(stats["seconds"], 1e-9)
    log.info("%s: %d entries (%d selected, %d images) of %s in %.1f s, %.0f events/s", dataset, stats["entries"],
             stats["selected"], stats["imaged"], path.name, stats["seconds"], stats["events_per_s"])  # fmt: skip
    return stats


def _rasteriser(ds: Mapping[str, Any], dataset: str) -> Any:
    """The rasteriser of the (filled) dataset ``ds``; a ConfigError for a kind of events whose rasteriser has no
    chunk functions to share (camera frames: no friend trees)."""
    kind = event_kind(ds)
    rasteriser = RASTERISERS[kind]
    if not hasattr(rasteriser, "dataset_reading"):
        have = [k for k, module in RASTERISERS.items() if hasattr(module, "dataset_reading")]
        raise ConfigError(f"dataset '{dataset}' holds {kind}: friend trees are written for {' and '.join(have)}",
                          key=f"datasets.{dataset}.predict")  # fmt: skip
    return rasteriser


def _check_branches(loaded: list[_Model]) -> None:
    """A ConfigError naming two models whose branches would have the same name."""
    owner: dict[str, str] = {}
    for model in loaded:
        for branch in model.branches:
            if branch in owner:
                raise ConfigError(f"models '{owner[branch]}' and '{model.name}' would both write branch '{branch}'",
                                  key="models", fix="rename one of them")  # fmt: skip
            owner[branch] = model.name


def _write(
    writer: FriendWriter, chunks: Iterator[ChunkImages], loaded: list[_Model], attrs: dict[str, Any], path: Path,
    n_entries: int, desc: str, progress: bool,
) -> dict[str, Any]:  # fmt: skip
    """Score and write chunk by chunk (a tqdm bar over the entries); the counts of entries, selected entries
    and images."""
    from tqdm import tqdm

    stats = {"entries": 0, "selected": 0, "imaged": 0}
    with writer, tqdm(total=n_entries, desc=desc, unit="entry", disable=not progress) as bar:
        for chunk in chunks:
            assert chunk.positions is not None  # the rasterisers' chunk functions always give them
            images = _chunk_set(chunk, attrs, path)
            writer.extend(chunk.positions, {b: v for m in loaded for b, v in m.columns(images).items()})
            stats["entries"] += chunk.positions.n_read
            stats["selected"] += int(chunk.counters["entries_selected"])
            stats["imaged"] += len(chunk.labels)
            bar.update(chunk.positions.n_read)
        if writer.n_entries != n_entries:
            raise RuntimeError(f"wrote {writer.n_entries} entries of the {n_entries} of {path}")
    return stats
