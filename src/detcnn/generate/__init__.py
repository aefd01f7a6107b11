"""Event sources: where a dataset's ROOT files come from. One module per source, each with the same names,
and :data:`SOURCES`, the one table:

- ``NAME``; ``SAMPLES``: the samples generated (one ``generate`` job per sample and shard; empty for files
  that are read, not made); ``EVENTS``: the kind of events (``"jets"``, ``"hits"`` or ``"frames"``; None:
  the dataset's ``events`` key says); ``SCHEMA``: the dataset keys it adds (JSON-schema properties with
  defaults and descriptions, e.g. its ``generate`` section), composed into the config schema by
  :func:`detcnn.config.schema`;
- ``generate(out, *, sample, shard, seed, cfg, progress)``: one shard of ``sample`` into the ROOT file
  ``out`` (atomic), ``cfg`` the dataset's filled ``generate`` section; returns its statistics;
- ``class_names(ds)``: the event classes, in label order, of a dataset config ``ds``;
- ``rasterise_options(ds)``: what the rasteriser needs from the source (class names, event truth, detector
  volume, camera; how the user's files are read), as keyword arguments.

Importing this package does not import torch, Pythia or fastjet (the workflow rules read the table).
"""

from __future__ import annotations

from types import ModuleType

from detcnn.errors import ConfigError
from detcnn.generate import detector_sim, pythia_jets, root_files, smlm_sim

SOURCES: dict[str, ModuleType] = {m.NAME: m for m in (pythia_jets, detector_sim, smlm_sim, root_files)}


def get_source(name: str, key: str = "source") -> ModuleType:
    """The source ``name``; a ConfigError listing the sources for an unknown one."""
    if name not in SOURCES:
        raise ConfigError(f"unknown source '{name}'; valid: {sorted(SOURCES)}", key=key)
    return SOURCES[name]
