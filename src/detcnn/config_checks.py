"""Checks of a workflow config beyond its schema, run when Snakemake reads the config (``snakemake -n``
included), so a mistake stops the workflow before any job runs instead of hours later on a cluster.

They use the same tables and the same code as the stages: unknown sources, tasks and baseline kinds are
looked up in the catalogue; every network is built (on PyTorch's ``meta`` device: no memory, no compute) for
every dataset it trains on, with the image files' attributes known from the config, and run on one meta
batch, so an unknown ``arch``, an arch of the wrong kind for its task, bad ``args`` or an image size the
network cannot take fail here with the valid choices in the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detcnn.baselines import get_baseline
from detcnn.catalogue import applies, class_names, event_kind
from detcnn.errors import ConfigError
from detcnn.generate import get_source
from detcnn.tasks import DEFAULT_TASK, get_task


def _datasets_of(entry: Mapping[str, Any], key: str, datasets: Mapping[str, Any]) -> list[str]:
    """The datasets an entry runs on (its ``datasets`` list, all by default) that list its task."""
    listed = entry.get("datasets", list(datasets))
    unknown = [d for d in listed if d not in datasets]
    if unknown:
        raise ConfigError(f"unknown dataset(s) {unknown}; valid: {sorted(datasets)}", key=f"{key}.datasets")
    return [d for d in listed if applies(entry, datasets[d])]


def check_datasets(datasets: Mapping[str, Any]) -> None:
    for name, ds in datasets.items():
        key = f"datasets.{name}"
        source = get_source(ds.get("source", "pythia_jets"), key=f"{key}.source")
        for task in ds.get("tasks", [DEFAULT_TASK]):
            get_task(task, key=f"{key}.tasks")
        try:
            kind = event_kind(ds)
        except ConfigError as exc:
            raise exc.under(key) from None
        if not source.SAMPLES and not ds.get("files"):
            raise ConfigError(f"source '{source.NAME}' reads the files listed under 'files', and there are none",
                              key=f"{key}.files", fix="list your ROOT files")  # fmt: skip
        if kind == "hits" and not class_names(ds):
            raise ConfigError("a dataset of hits needs one class name per label value", key=f"{key}.class_names")
        from detcnn.rasterisers import RASTERISERS

        try:
            RASTERISERS[kind].check_config(ds)
        except ConfigError as exc:
            raise exc.under(key) from None


def planned_attrs(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes and ``image_shape`` the image files of dataset config ``ds`` will have."""
    from detcnn.rasterisers import RASTERISERS

    options = get_source(ds["source"]).rasterise_options(ds)
    return RASTERISERS[event_kind(ds)].planned_attrs(ds, options)


def check_network(name: str, entry: Mapping[str, Any], dataset: str, attrs: Mapping[str, Any]) -> None:
    """Build the model ``entry`` exactly as the train stage will for ``dataset`` and run a batch of two
    blank images through it on the CPU (milliseconds for these networks; a meta-device batch would import
    torch's compiler, seconds on every workflow start)."""
    import torch

    from detcnn.training.network import build_model

    key = f"models.{name}"
    task = get_task(entry.get("task"), key=f"{key}.task")
    channels, height, width = attrs["image_shape"]
    try:
        plugin = task.plugin(attrs, dict(entry.get("task_args") or {}))
        model, _ = build_model(entry["arch"], dict(entry.get("args", {})), attrs, width, task=task, plugin=plugin)
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


def check_config(config: Mapping[str, Any]) -> None:
    """Every check of the module doc; the first failure raises a ConfigError naming the config key."""
    from detcnn.training.loop import TrainSettings

    datasets = config["datasets"]
    check_datasets(datasets)
    attrs = {}
    for name, entry in (config.get("models") or {}).items():
        key = f"models.{name}"
        get_task(entry.get("task"), key=f"{key}.task")
        try:
            TrainSettings.from_config(dict(entry.get("train", {})))
        except ConfigError as exc:
            raise exc.under(f"{key}.train") from None
        for dataset in _datasets_of(entry, key, datasets):
            if dataset not in attrs:
                attrs[dataset] = planned_attrs(datasets[dataset])
            check_network(name, entry, dataset, attrs[dataset])
    for name, entry in (config.get("baselines") or {}).items():
        get_baseline(entry.get("kind"), key=f"baselines.{name}.kind")
        _datasets_of(entry, f"baselines.{name}", datasets)
