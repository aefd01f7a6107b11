"""The catalogue the workflow rules and the package share: sources and their samples, baseline kinds and their
task, tasks and their report figures. Each entry is defined once, beside its code (one module per source in
:mod:`detcnn.generate`, per baseline kind in :mod:`detcnn.baselines`, per task in :mod:`detcnn.tasks`, each
listed in its package's table); this module only looks them up, so nothing is copied.

Torch-free: importing it imports neither torch nor Pythia (the Snakefile imports it at every parse).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detcnn.baselines import BASELINES, get_baseline
from detcnn.errors import ConfigError
from detcnn.generate import SOURCES, get_source
from detcnn.tasks import DEFAULT_TASK, TASKS, get_task

__all__ = ["BASELINES", "SOURCES", "TASKS", "applies", "class_names", "entry_task", "event_kind", "samples",
           "task_figures"]  # fmt: skip

EVENT_KINDS = ("jets", "hits", "frames")


def samples(ds: Mapping[str, Any]) -> tuple[str, ...]:
    """The samples a dataset's source generates (one job per sample and shard; none for the user's files)."""
    return tuple(get_source(ds["source"]).SAMPLES)


def event_kind(ds: Mapping[str, Any]) -> str:
    """``"jets"`` or ``"hits"``: fixed by the source, or the ``events`` key of a dataset of the user's files."""
    kind = get_source(ds.get("source", "pythia_jets")).EVENTS or ds.get("events", "jets")
    if kind not in EVENT_KINDS:
        raise ConfigError(f"events must be one of {list(EVENT_KINDS)}, got '{kind}'", key="events")
    return kind


def class_names(ds: Mapping[str, Any]) -> list[str]:
    """The event classes of a dataset, in label order."""
    return get_source(ds["source"]).class_names(ds)


def entry_task(entry: Mapping[str, Any]) -> str:
    """The task of a ``models`` entry (its ``task``) or a ``baselines`` entry (its kind's)."""
    if "kind" in entry:
        return get_baseline(entry["kind"]).TASK
    return entry.get("task", DEFAULT_TASK)


def applies(entry: Mapping[str, Any], ds: Mapping[str, Any]) -> bool:
    """Whether a models or baselines entry can run on dataset ``ds``: the dataset lists its task, and a
    baseline kind for two classes (or for more) meets a dataset of two classes (or of more)."""
    if entry_task(entry) not in ds.get("tasks", [DEFAULT_TASK]):
        return False
    wanted = get_baseline(entry["kind"]).CLASSES if "kind" in entry else None
    n = len(class_names(ds))
    return wanted is None or (wanted == "binary") == (n == 2)


def task_figures(task: str) -> tuple[str, ...]:
    """The report figures (``<name>.png``) of a task."""
    return tuple(get_task(task).FIGURES)
