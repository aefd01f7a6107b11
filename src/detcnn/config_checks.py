"""Checks of a workflow config beyond its schema, run when Snakemake reads the config (``snakemake -n``
included, through :func:`detcnn.config.load`), so a mistake stops the workflow before any job runs instead
of hours later on a cluster.

They use the same tables and the same code as the stages: a dataset's reading settings are checked by its
rasteriser, a baseline's observables against the table of its dataset's kind of events; every network is
built for every dataset it trains on, with the image files' attributes known from the config, and run on a
batch of blank images, so an unknown ``arch``, an arch of the wrong kind for its task, bad ``args`` or an
image size the network cannot take fail here with the valid choices in the message. Which models and
baselines run on a dataset is :func:`detcnn.catalogue.runs_on`, as in the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detcnn.baselines import get_baseline
from detcnn.catalogue import class_names, event_kind, observable_names, runs_on
from detcnn.config.fill import fill_entry
from detcnn.config.predict import check_predict
from detcnn.config.study_checks import check_studies
from detcnn.errors import ConfigError
from detcnn.generate import get_source
from detcnn.tasks import get_task


def _datasets_of(entry: Mapping[str, Any], key: str, datasets: Mapping[str, Any]) -> list[str]:
    """The datasets an entry runs on (:func:`detcnn.catalogue.runs_on`); a ConfigError for a dataset it lists
    that the config does not have."""
    unknown = [d for d in entry.get("datasets", ()) if d not in datasets]
    if unknown:
        raise ConfigError(f"unknown dataset(s) {unknown}; valid: {sorted(datasets)}", key=f"{key}.datasets")
    return [d for d in datasets if runs_on(entry, d, datasets)]


def check_datasets(datasets: Mapping[str, Any]) -> None:
    """The (filled) datasets: files to read, class names, and the reading settings as their rasteriser takes
    them."""
    from detcnn.rasterisers import RASTERISERS

    for name, ds in datasets.items():
        key = f"datasets.{name}"
        source = get_source(ds["source"], key=f"{key}.source")
        if not source.SAMPLES and not ds.get("files"):
            raise ConfigError(f"source '{source.NAME}' reads the files listed under 'files', and there are none",
                              key=f"{key}.files", fix="list your ROOT files")  # fmt: skip
        if not class_names(ds):
            raise ConfigError(f"a dataset of {event_kind(ds)} needs one class name per label value",
                              key=f"{key}.class_names")  # fmt: skip
        try:
            RASTERISERS[event_kind(ds)].check_config(ds)
        except ConfigError as exc:
            raise exc.under(key) from None


def planned_attrs(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` the image files of dataset config ``ds`` will have."""
    from detcnn.rasterisers import RASTERISERS

    options = get_source(ds["source"]).rasterise_options(ds)
    return RASTERISERS[event_kind(ds)].planned_attrs(ds, options)


def check_network(name: str, entry: Mapping[str, Any], dataset: str, attrs: Mapping[str, Any]) -> None:
    """Build the (filled) model ``entry`` exactly as the train stage will for ``dataset`` and run a batch of two
    blank images through it on the CPU (milliseconds for these networks; a meta-device batch would import
    torch's compiler, seconds on every workflow start)."""
    import torch

    from detcnn.training.network import build_model

    key = f"models.{name}"
    task = get_task(entry["task"], key=f"{key}.task")
    channels, height, width = attrs["image_shape"]
    try:
        plugin = task.plugin(attrs, dict(entry["task_args"]))
        model, _ = build_model(entry["arch"], dict(entry["args"]), attrs, width, task=task, plugin=plugin)
    except ConfigError as exc:
        raise exc.under(key) from None
    except (ValueError, TypeError) as exc:  # a constructor refusing its arguments
        raise ConfigError(f"{exc} (dataset '{dataset}')", key=f"{key}.args") from None
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(2, channels, height, width))
    except ConfigError as exc:
        raise ConfigError(f"{exc.what} (dataset '{dataset}' has {height}x{width} images)", key=f"{key}.args") from None
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"'{entry['arch']}' cannot run on the {channels} x {height} x {width} images of dataset "
                          f"'{dataset}': {exc}", key=f"{key}.args") from None  # fmt: skip


def check_observables(key: str, entry: Mapping[str, Any], dataset: str, kind: str) -> None:
    """The observables a baseline entry names (``observables``, ``cuts[].observable``) are in the table of the
    kind of events ``kind`` of ``dataset`` it runs on (:func:`detcnn.catalogue.observable_names`)."""
    valid = observable_names(kind)
    cuts = [c if isinstance(c, str) else c.get("observable") for c in entry.get("cuts") or []]
    schema = getattr(get_baseline(entry["kind"]), "SCHEMA", {})
    reads = {k for k in ("observables", "cuts") if k in schema and "default" not in schema[k]}
    if reads and not (entry.get("observables") or cuts):  # a kind that cuts on observables, given none
        # (a kind whose observables have a default, e.g. all of the file's for boosted trees, may omit them)
        raise ConfigError("names no observable to cut on", key=f"{key}.observables",
                          fix=f"list some of {list(valid)} under 'observables'")  # fmt: skip
    for field, names in (("observables", entry.get("observables") or []), ("cuts", cuts)):
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise ConfigError(f"unknown observable(s) {unknown} for the {kind} of dataset '{dataset}'; valid: "
                              f"{list(valid)}", key=f"{key}.{field}")  # fmt: skip


def _filled(config: Mapping[str, Any], section: str) -> dict[str, dict[str, Any]]:
    """The entries of ``section`` (``datasets``, ``models``, ``baselines``; none when absent), each filled."""
    entries = config.get(section) or {}
    return {name: fill_entry(section, entry, f"{section}.{name}") for name, entry in entries.items()}


def check_config(config: Mapping[str, Any], *, networks: bool = True) -> None:
    """Every check of the module doc on ``config`` (as :func:`detcnn.config.load` filled it, or partial: each
    entry is filled here); ``networks``: build them too. The first failure raises a ConfigError naming the key."""
    from detcnn.training.settings import TrainSettings

    datasets, models, baselines = (_filled(config, s) for s in ("datasets", "models", "baselines"))
    check_datasets(datasets)
    both = sorted(set(models) & set(baselines))
    if both:
        raise ConfigError(f"'{both[0]}' is the name of a network (under models) and of a baseline",
                          key=f"baselines.{both[0]}", fix="give each model a name of its own")  # fmt: skip
    attrs: dict[str, dict[str, Any]] = {}
    for name, entry in models.items():
        key = f"models.{name}"
        try:
            TrainSettings.from_config(dict(entry["train"]))
        except ConfigError as exc:
            raise exc.under(f"{key}.train") from None
        for dataset in _datasets_of(entry, key, datasets):
            if networks:
                attrs[dataset] = attrs.get(dataset) or planned_attrs(datasets[dataset])
                check_network(name, entry, dataset, attrs[dataset])
    for name, entry in baselines.items():
        for dataset in _datasets_of(entry, f"baselines.{name}", datasets):
            check_observables(f"baselines.{name}", entry, dataset, event_kind(datasets[dataset]))
    check_studies(datasets, {**models, **baselines})
    check_predict(datasets, {**models, **baselines})
