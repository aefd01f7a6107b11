"""Scoring a dataset's event files (``datasets.<name>.predict``): which models, trained on which dataset, and
the dataset section the predict stage reads the files with.

The files are read as the dataset itself reads them (its tree, selection, branch expressions, jets per event);
the images are made with the image settings of the dataset the models were trained on (``trained_on``), so a
tagger trained on generated jets scores the user's own files exactly as it saw its training images.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detcnn.catalogue import entry_task, event_kind, runs_on
from detcnn.config.variations import without_studies
from detcnn.errors import ConfigError
from detcnn.tasks import get_task

Section = Mapping[str, Any]


def trained_on(name: str, ds: Section) -> str:
    """The dataset whose models score dataset ``name`` (its ``predict.trained_on``, else itself)."""
    return (ds.get("predict") or {}).get("trained_on") or name


def image_keys(ds: Section) -> tuple[str, ...]:
    """The keys of a (filled) dataset section that make its images: its kind of events' image sections (the
    rasteriser's ``SCHEMA`` keys, without the chunk size, which bounds memory only)."""
    from detcnn.rasterisers import RASTERISERS

    return tuple(k for k in RASTERISERS[event_kind(ds)].SCHEMA if k != "chunk_size")


def scoring_dataset(datasets: Mapping[str, Section], name: str) -> dict[str, Any]:
    """The section the predict stage reads dataset ``name``'s files with: its own reading settings (without its
    studies and its ``predict``) and the image settings of the dataset its models were trained on."""
    source = datasets[trained_on(name, datasets[name])]
    return {**without_studies(datasets[name]), **{k: source[k] for k in image_keys(source) if k in source}}


def check_predict(datasets: Mapping[str, Section], entries: Mapping[str, Section]) -> None:
    """Every dataset's ``predict`` (``datasets``: the filled sections; ``entries``: the filled networks and
    baselines by name): the models exist, run on the dataset they were trained on, give one prediction per
    event; that dataset exists and has the same kind of events."""
    for name, ds in datasets.items():
        predict = ds.get("predict")
        if not predict:
            continue
        key = f"datasets.{name}.predict"
        source = trained_on(name, ds)
        if source not in datasets:
            raise ConfigError(f"no dataset '{source}'; valid: {sorted(datasets)}", key=f"{key}.trained_on")
        if event_kind(datasets[source]) != event_kind(ds):
            raise ConfigError(f"'{source}' holds {event_kind(datasets[source])}, '{name}' {event_kind(ds)}: its "
                              "models cannot score these events", key=f"{key}.trained_on")  # fmt: skip
        for model in predict["models"]:
            if model not in entries:
                raise ConfigError(f"'{model}' is neither under models nor under baselines; valid: "
                                  f"{sorted(entries)}", key=f"{key}.models")  # fmt: skip
            if not runs_on(entries[model], source, datasets):
                raise ConfigError(f"'{model}' is not trained on dataset '{source}'",
                                  key=f"{key}.models")  # fmt: skip
            task = entry_task(entries[model])
            if get_task(task).PIXEL_TRUTH:
                raise ConfigError(f"'{model}' ({task}) predicts per pixel: a friend tree holds one value per "
                                  "event or jet (classification, energy_regression)", key=f"{key}.models")  # fmt: skip
