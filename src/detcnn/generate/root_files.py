"""Source ``root_files``: the user's own ROOT files, listed under the dataset's ``files``, read with the
branch mapping under ``branches``. Nothing is generated; the dataset's ``events`` says whether the files hold
jets, detector hits or camera frames, and for hits and frames ``class_names`` (one per label value), for hits
``truth`` (event branches). How the files are read (tree, selection, branches, bad files, jets per event) is
what this source gives the rasteriser; files a detcnn source wrote are read as the rasteriser's defaults say."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.config.schema import dataclass_properties
from detcnn.errors import ConfigError
from detcnn.io.events import JET_CLASS_NAMES, TREE_NAME
from detcnn.io.splits import BAD_FILE_CHOICES
from detcnn.rasterisers.jets_per_event import JetsPerEvent

NAME = "root_files"
SAMPLES: tuple[str, ...] = ()
EVENTS = None
_NAMES = {"type": "array", "items": {"type": "string"}}
#: The dataset keys it adds (JSON-schema properties): where the files are and how they are read.
SCHEMA: dict[str, Any] = {
    "events": {"type": "string", "default": "jets",
               "description": "What the files hold, a kind of events of detcnn.rasterisers.RASTERISERS: jets "
                              "(constituents), hits (detector hits) or frames (camera frames)."},
    "files": {**_NAMES, "default": [], "description": "The ROOT files (their layout mapped under 'tree', 'branches', "
                                                      "'selection', 'jets'; docs/own_files.md)."},
    "tree": {"type": "string", "default": TREE_NAME,
             "description": "The TTree to read (e.g. Events for CMS NanoAOD, CollectionTree for ATLAS, Delphes)."},
    "selection": {"type": ["string", "null"], "default": None,
                  "description": "An entry selection, an expression of the file's branches (e.g. \"nJet >= 1\"), "
                                 "applied before the branch expressions are evaluated; the kept fraction goes into "
                                 "stats.json."},
    "branches": {"type": "object", "additionalProperties": {"type": "string"}, "default": {},
                 "description": "Map from contract names (jets - part_pt, part_eta, part_phi, part_charge, part_m, "
                                "jet_eta, jet_phi, label, and optionally jet_pt, part_jet; hits - hit_x, hit_y, hit_z, "
                                "hit_t, hit_e, hit_q, hit_label, label and the truth names; frames - frame, label, "
                                "density, n_emitters, em_x, em_y, em_photons) to a branch or an expression of your "
                                "files' branches (e.g. \"part_deta + jet_eta\", \"Jet_eta[:, 0]\", "
                                "\"label_QCD == 0\")."},
    "jets": {"type": "object", "additionalProperties": False, "default": {},
             "description": "Jets - several jets per event (jagged jet branches), exploded to one image per jet.",
             "properties": {**dataclass_properties(JetsPerEvent, {
                 "per_event": {"type": "boolean", "description": "The jet branches are jagged per event; "
                               "constituents doubly jagged, or linked to their jet by an index (map part_jet, e.g. "
                               "to a *_jetIdx branch)."},
                 "max_jets": {"type": ["integer", "null"], "minimum": 1, "description": "The leading N jets of each "
                              "event (by jet_pt when it is mapped, else the file's order; null - all)."}}),
                 "selection": {"type": ["string", "null"], "default": None, "description": "A jet selection, an "
                               "expression giving one True/False per jet (e.g. \"Jet_pt > 30\")."}}},
    "jet_radius": {"type": "number", "exclusiveMinimum": 0,
                   "description": "Jets - the clustering radius R of the files' jets, the R of the Les Houches "
                                  "angularity lambda = sum z (dR / R)^0.5 among the observables (default 0.4, "
                                  "detcnn.physics.observables.DEFAULT_JET_RADIUS; R scales lambda only)."},
    "on_bad_file": {"type": "string", "enum": list(BAD_FILE_CHOICES), "default": "fail",
                    "description": "A file that cannot be read (not ROOT, truncated, damaged, empty) stops the "
                                   "rasterise step with one line naming it (fail), or is left out and listed in "
                                   "stats.json (skip)."},
    "class_names": {**_NAMES, "description": "Hits and frames - one name per event label value (0, 1, ...); the "
                                             "first is the signal."},
    "truth": {**_NAMES, "description": "Hits - event-level truth branches to copy (e.g. nu_energy for regression)."},
}  # fmt: skip


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    raise ConfigError("a root_files dataset is read from its 'files', not generated", key="source")


def class_names(ds: Mapping[str, Any]) -> list[str]:
    """Jets: gluon (label 0) and quark (1); hits and frames: the dataset's ``class_names``."""
    return list(JET_CLASS_NAMES) if ds["events"] == "jets" else list(ds.get("class_names") or [])


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    """How the files of the filled dataset section ``ds`` are read (``tree``, ``selection``, ``branches``,
    ``on_bad_file``), and jets per event (``jets``) and their radius (``jet_radius``, when set), or the class
    names (hits and frames) and truth (hits)."""
    reading = {key: ds[key] for key in ("tree", "selection", "branches", "on_bad_file")}
    if ds["events"] == "jets":
        return {**reading, "jets": ds["jets"], **({"jet_radius": ds["jet_radius"]} if "jet_radius" in ds else {})}
    return {**reading, "class_names": class_names(ds), **({"truth": tuple(ds.get("truth") or ())}
                                                          if ds["events"] == "hits" else {})}  # fmt: skip
