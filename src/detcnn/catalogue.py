"""The catalogue the workflow rules and the package share: sources and their samples, kinds of events and their
observables, baseline kinds and their task, tasks and their report figures. Each entry is defined once, beside
its code (one module per source in :mod:`detcnn.generate`, per kind of events in :mod:`detcnn.rasterisers`,
per baseline kind in :mod:`detcnn.baselines`, per task in :mod:`detcnn.tasks`, each listed in its package's
table); this module only looks them up, so nothing is copied.

Torch-free: importing it imports neither torch nor Pythia (the Snakefile imports it at every parse).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detcnn.baselines import BASELINES, get_baseline
from detcnn.errors import ConfigError
from detcnn.generate import SOURCES, get_source
from detcnn.rasterisers import RASTERISERS
from detcnn.tasks import DEFAULT_TASK, TASKS, get_task

__all__ = ["BASELINES", "RASTERISERS", "SOURCES", "TASKS", "applies", "class_names", "entry_task",
           "event_kind", "observable_names", "runs_on", "samples", "task_figures"]  # fmt: skip


def samples(ds: Mapping[str, Any]) -> tuple[str, ...]:
    """The samples a dataset's source generates (one job per sample and shard; none for the user's files)."""
    return tuple(get_source(ds["source"]).SAMPLES)


def event_kind(ds: Mapping[str, Any]) -> str:
    """The kind of events of a dataset (a key of :data:`RASTERISERS`: ``"jets"``, ``"hits"``, ``"frames"``):
    fixed by the source, or the ``events`` key of a dataset of the user's files."""
    source = get_source(ds["source"])
    kind = source.EVENTS or ds.get("events", source.SCHEMA["events"]["default"])
    if kind not in RASTERISERS:
        raise ConfigError(f"events must be one of {list(RASTERISERS)}, got '{kind}'", key="events")
    return kind


def observable_names(kind: str) -> tuple[str, ...]:
    """The observables the image files of events of ``kind`` carry (its rasteriser's ``OBSERVABLES`` table),
    in file order."""
    return tuple(RASTERISERS[kind].OBSERVABLES)


def class_names(ds: Mapping[str, Any]) -> list[str]:
    """The event classes of a dataset, in label order."""
    return get_source(ds["source"]).class_names(ds)


def entry_task(entry: Mapping[str, Any]) -> str:
    """The task of a ``models`` entry (its ``task``, the schema's default when it names none) or a
    ``baselines`` entry (its kind's)."""
    if "kind" in entry:
        return get_baseline(entry["kind"]).TASK
    return entry.get("task", DEFAULT_TASK)


def applies(entry: Mapping[str, Any], ds: Mapping[str, Any]) -> bool:
    """Whether a models or baselines entry can run on the (filled) dataset ``ds``: the dataset lists its
    task, and a baseline kind for two classes (or for more) meets a dataset of two classes (or of more)."""
    if entry_task(entry) not in ds["tasks"]:
        return False
    wanted = get_baseline(entry["kind"]).CLASSES if "kind" in entry else None
    return wanted is None or wanted.admits(len(class_names(ds)))


def runs_on(entry: Mapping[str, Any], dataset: str, datasets: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a ``models`` or ``baselines`` entry runs on ``dataset`` (of the filled ``datasets``): the entry
    lists it under ``datasets`` (or lists none: all of them) and :func:`applies` to it. The one answer to
    "what runs where": the config checks use it, and :func:`detcnn.config.load` gives every typed entry the
    datasets it runs on, which the rules read."""
    return dataset in entry.get("datasets", list(datasets)) and applies(entry, datasets[dataset])


def task_figures(task: str) -> tuple[str, ...]:
    """The report figures (``<name>.png``) of a task."""
    return tuple(get_task(task).FIGURES)
