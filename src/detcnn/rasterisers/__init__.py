"""Rasterisers: events of one kind (``jets``, ``hits`` or camera ``frames``) -> image files per split. One
module per kind of event, each with the same names, and :data:`RASTERISERS`, the one table (its keys are the
kinds of events: a new kind is a module and a line here):

- ``EVENTS``: the kind of events it reads (a source's ``EVENTS``, or a root_files dataset's ``events``);
- ``OBSERVABLES``: the table of the per-event observables its files carry (name -> function, in file order;
  a new observable is a function and a line there), the names the cut baselines may use;
- ``READOUT``: ``(image section, keys)``, the read-out settings a systematic variation may change (the noise
  and threshold of detector images), or None;
- ``SCHEMA``: the dataset keys of its kind of events (JSON-schema properties with defaults and descriptions:
  its image section and ``chunk_size``), composed into the config schema by :func:`detcnn.config.schema`;
- ``rasterise_dataset(inputs, outputs, ds, *, dataset, seed, config_hash, progress, **source_options)``:
  the ROOT files ``inputs`` -> the split files ``outputs`` (``{"train", "val", "test"}`` -> path), with the
  settings of the filled dataset config ``ds`` and the source's options (how its files are read, class
  names, truth, camera); returns the statistics for ``stats.json``;
- ``planned_attrs(ds, source_options)``: the attributes and ``image_shape`` its files will have, known from the
  config before anything runs (the workflow checks networks against them);
- ``check_config(ds)``: the dataset's reading settings (contract names, expressions, image settings), a
  ConfigError before anything runs;
- where its files get friend trees of predictions (:mod:`detcnn.stages.predict`; jets and hits):
  ``IMAGE_SECTION`` (the dataset's section of image settings), ``dataset_reading(ds, *, seed, **source_options)``
  (how every chunk is read and drawn; its ``per_jet``: several images per entry) and
  ``file_chunks(path, reading, *, jet_counts)``: the rasterise stage's own chunks of one file, each
  :class:`~detcnn.io.splits.ChunkImages` with its ``positions`` (entry numbers, jet indices, jets per entry).
"""

from __future__ import annotations

from types import ModuleType

from detcnn.rasterisers import frames, hits, jets

RASTERISERS: dict[str, ModuleType] = {m.EVENTS: m for m in (jets, hits, frames)}
