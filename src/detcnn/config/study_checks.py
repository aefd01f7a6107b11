"""Checks of a dataset's studies (``variations``, ``bins``, ``learning_curve``: docs/studies.md) beyond the
schema, run by :func:`detcnn.config_checks.check_config`: a variation's merged ``generate`` section is
validated as its source's, a read-out key must be one its kind of events lets a variation change, observables
are looked up in the kind's table, bin edges must increase, a learning curve's models must run on its dataset
and its sizes increase."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from detcnn.catalogue import event_kind, observable_names, runs_on
from detcnn.config.fill import fill_generate
from detcnn.config.variations import variation_dataset, variation_generate
from detcnn.errors import ConfigError
from detcnn.generate import get_source

Section = Mapping[str, Any]


def readout_keys(ds: Section) -> tuple[str, tuple[str, ...]] | None:
    """``(image section, keys)`` a variation of dataset ``ds`` may change at read-out (its rasteriser's
    ``READOUT``; None: its kind of events has none)."""
    from detcnn.rasterisers import RASTERISERS

    return RASTERISERS[event_kind(ds)].READOUT


def _check_variable(variable: str, ds: Section, key: str) -> None:
    group, _, name = variable.partition("/")
    valid = observable_names(event_kind(ds))
    if group == "observables" and name not in valid:
        raise ConfigError(f"unknown observable '{name}' for the {event_kind(ds)} of this dataset; valid: {list(valid)}",
                          key=key)  # fmt: skip


def check_variation(ds: Section, variation: Section, key: str) -> None:
    """One variation of the (filled) dataset ``ds``: its sample can be made, its read-out keys exist, its
    expected quantities are known."""
    source = get_source(ds["source"])
    if source.SAMPLES:
        if variation.get("files"):
            raise ConfigError("a generated dataset's variation is generated, not read", key=f"{key}.files",
                              fix="change its generate settings instead")  # fmt: skip
        fill_generate(ds["source"], variation_generate(ds, variation), key=f"{key}.generate")
    elif not variation.get("files"):
        raise ConfigError("a variation of the user's files needs its own files", key=f"{key}.files",
                          fix="list the ROOT files of the varied sample")  # fmt: skip
    elif variation.get("generate"):
        raise ConfigError("a dataset of the user's files generates nothing", key=f"{key}.generate")
    variation_dataset(ds, variation, readout_keys(ds), key)
    for variable in variation.get("expect", {}):
        _check_variable(variable, ds, f"{key}.expect")


def check_bins(ds: Section, key: str) -> None:
    """Each binning of ``ds``: a known variable and increasing edges."""
    for i, binning in enumerate(ds.get("bins") or ()):
        _check_variable(binning["variable"], ds, f"{key}.bins[{i}].variable")
        edges = [float(e) for e in binning["edges"]]
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ConfigError(f"bin edges must increase, got {edges}", key=f"{key}.bins[{i}].edges")


def check_learning_curve(ds: Section, name: str, datasets: Mapping[str, Section], entries: Mapping[str, Section],
                         key: str) -> None:  # fmt: skip
    """The learning curve of dataset ``name``: models (``entries``: every filled network and baseline) that run
    on it, increasing sizes."""
    curve = ds.get("learning_curve")
    if not curve:
        return
    for model in curve["models"]:
        if model not in entries:
            raise ConfigError(f"'{model}' is neither under models nor under baselines; valid: {sorted(entries)}",
                              key=f"{key}.learning_curve.models")  # fmt: skip
        if not runs_on(entries[model], name, datasets):
            raise ConfigError(f"'{model}' does not run on dataset '{name}'", key=f"{key}.learning_curve.models")
    sizes: Sequence[int] = curve["sizes"]
    if any(b <= a for a, b in itertools.pairwise(sizes)):
        raise ConfigError(f"sizes must increase, got {list(sizes)}", key=f"{key}.learning_curve.sizes")


def check_studies(datasets: Mapping[str, Section], entries: Mapping[str, Section]) -> None:
    """Every study of every (filled) dataset; ``entries``: the filled networks and baselines by name."""
    for name, ds in datasets.items():
        key = f"datasets.{name}"
        if ds.get("variations") and get_source(ds["source"]).SAMPLES:  # the twin
            fill_generate(ds["source"], variation_generate(ds, {}), key=f"{key}.variation_sample.generate")
        for vname, variation in (ds.get("variations") or {}).items():
            check_variation(ds, variation, f"{key}.variations.{vname}")
        check_bins(ds, key)
        check_learning_curve(ds, name, datasets, entries, key)
