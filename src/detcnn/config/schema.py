"""The config's JSON schema (draft 2020-12), composed once per set of tables.

``config.schema.yaml`` (package data) holds the keys every config has: ``seed``, ``tracking``, ``export``,
``evaluate``, ``resources``, and per dataset ``source``, ``tasks``, ``split``, per model ``arch``, ``args``,
``datasets``, ``task``, ``task_args``, ``train``, per baseline ``kind`` and ``datasets``. The rest is declared
beside the code that reads it, as JSON-schema ``properties`` (type, default, description of each key):

- a source (:data:`detcnn.generate.SOURCES`): ``SCHEMA``, the dataset keys it adds (``generate``, or the
  reading settings of the user's files);
- a kind of events (:data:`detcnn.rasterisers.RASTERISERS`): ``SCHEMA``, its image section and chunk size;
- a baseline kind (:data:`detcnn.baselines.BASELINES`): ``SCHEMA``, its keys besides ``kind`` and
  ``datasets`` (and optionally ``REQUIRED``, those it cannot do without);
- a task (:data:`detcnn.tasks.TASKS`): ``ARGS_SCHEMA``, its ``task_args``.

:func:`schema` adds them as ``allOf`` branches, ``if`` the dataset's source (its kind of events, the model's
task, the baseline's kind) is theirs ``then`` their keys, each branch titled (``source 'pythia_jets'``), with
``unevaluatedProperties: false``: a key of another source or kind is refused. A model's ``task_args`` are
marked ``x-fill-defaults: false``: the config keeps them as written, the task fills them when it runs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

COMMON = Path(__file__).with_name("config.schema.yaml")
#: Marks an object schema whose defaults the config validation does not fill (its owner does).
NO_FILL = "x-fill-defaults"
Schema = dict[str, Any]


@functools.cache
def _common() -> Schema:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster, the same result
    return yaml.load(COMMON.read_text(), Loader=loader)


def _tables(section: str) -> tuple[dict[str, ModuleType], ...]:
    """The tables whose modules declare the keys of one entry of ``section`` (imported here, and only those: a
    training fills its model's section without importing the sources and baselines)."""
    if section == "datasets":
        from detcnn.generate import SOURCES
        from detcnn.rasterisers import RASTERISERS

        return SOURCES, RASTERISERS
    if section == "models":
        from detcnn.tasks import TASKS

        return (TASKS,)
    from detcnn.baselines import BASELINES

    return (BASELINES,)


SECTIONS = ("datasets", "models", "baselines")
_COMPOSED: dict[str, tuple[tuple[tuple[str, int], ...], Schema]] = {}


def section_schema(section: str) -> Schema:
    """The composed schema of one entry of ``datasets``, ``models`` or ``baselines``, for the tables as they are
    now (rebuilt when a table changes, as a test's does; shared: do not mutate)."""
    tables = _tables(section)
    key = tuple((name, id(module)) for table in tables for name, module in table.items())
    if section not in _COMPOSED or _COMPOSED[section][0] != key:
        node = copy.deepcopy(_common()["properties"][section]["additionalProperties"])
        _COMPOSERS[section](node, *tables)
        _COMPOSED[section] = (key, node)
    return _COMPOSED[section][1]


def composed() -> Schema:
    """The whole composed schema: the common keys with each section's entries composed (shared: do not mutate
    it; :func:`schema` copies)."""
    out = dict(_common())
    out["properties"] = {**out["properties"]}
    for section in SECTIONS:
        out["properties"][section] = {**out["properties"][section], "additionalProperties": section_schema(section)}
    return out


def schema() -> Schema:
    """The full config schema: the common keys and, per source, kind of events, baseline kind and task, theirs."""
    return copy.deepcopy(composed())


def dataclass_properties(cls: type, properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Schema]:
    """JSON-schema ``properties`` of fields of the settings dataclass ``cls``: each of ``properties`` (type,
    description) with the field's default (a tuple as a list), so that the default is written once."""
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # fmt: skip
    unknown = sorted(set(properties) - set(defaults))
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}")
    return {name: {**sub, "default": _plain(defaults[name])} for name, sub in properties.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _when(field: str, values: Sequence[str], default: str | None = None) -> Schema:
    """The ``if`` of a branch: ``field`` is one of ``values`` (or absent, when its default is one of them)."""
    given = {"required": [field], "properties": {field: {"enum": list(values)}}}
    return {"anyOf": [given, {"not": {"required": [field]}}]} if default in values else given


def _branch(condition: Schema, title: str, properties: Mapping[str, Schema], required: Sequence[str] = ()) -> Schema:
    """``if condition then`` the ``properties`` (their closed objects titled too, for the error messages)."""
    props = {k: {"title": title, **v} if v.get("additionalProperties") is False else dict(v)
             for k, v in properties.items()}  # fmt: skip
    then: Schema = {"title": title, "properties": props}
    if required:
        then["required"] = list(required)
    return {"if": condition, "then": then}


def _source_branches(sources: Mapping[str, ModuleType]) -> Iterator[Schema]:
    for name, module in sources.items():
        yield _branch(_when("source", [name]), f"source '{name}'", getattr(module, "SCHEMA", {}))


def _event_branches(sources: Mapping[str, ModuleType], rasterisers: Mapping[str, ModuleType]) -> Iterator[Schema]:
    """A kind of events applies to the datasets of the sources of that kind, and of the sources whose
    datasets say (``events``, with its default) when they say it."""
    choosing = {name: m.SCHEMA["events"].get("default") for name, m in sources.items() if m.EVENTS is None}
    for kind, module in rasterisers.items():
        fixed = [name for name, m in sources.items() if m.EVENTS == kind]
        alternatives = [_when("source", fixed)] if fixed else []
        alternatives += [{"allOf": [_when("source", [name]), _when("events", [kind], default)]}
                         for name, default in choosing.items()]  # fmt: skip
        if alternatives:
            yield _branch({"anyOf": alternatives}, f"events '{kind}'", getattr(module, "SCHEMA", {}))


def _task_args(name: str, task: ModuleType) -> Schema:
    """A model's ``task_args`` for ``task``: the keys of its ``ARGS_SCHEMA``, their defaults not filled."""
    properties = getattr(task, "ARGS_SCHEMA", {})
    return {"type": "object", "additionalProperties": False, NO_FILL: False, "properties": properties,
            "description": f"The settings of task '{name}'."}  # fmt: skip


def _compose_dataset(dataset: Schema, sources: dict[str, ModuleType], rasterisers: dict[str, ModuleType]) -> None:
    from detcnn.tasks import DEFAULT_TASK

    dataset["properties"]["tasks"]["default"] = [DEFAULT_TASK]
    dataset["allOf"] = [*_source_branches(sources), *_event_branches(sources, rasterisers)]
    dataset["unevaluatedProperties"] = False


def _compose_model(model: Schema, tasks: dict[str, ModuleType]) -> None:
    from detcnn.tasks import DEFAULT_TASK

    model["properties"]["task"]["default"] = DEFAULT_TASK
    _train_defaults(model["properties"]["train"]["properties"])
    model["allOf"] = [_branch(_when("task", [name], DEFAULT_TASK), f"task '{name}'", {"task_args": _task_args(name, t)})
                      for name, t in tasks.items()]  # fmt: skip


def _compose_baseline(baseline: Schema, baselines: dict[str, ModuleType]) -> None:
    baseline["allOf"] = [_branch(_when("kind", [name]), f"baseline kind '{name}'", getattr(kind, "SCHEMA", {}),
                                 getattr(kind, "REQUIRED", ())) for name, kind in baselines.items()]  # fmt: skip
    baseline["unevaluatedProperties"] = False


_COMPOSERS: dict[str, Any] = {"datasets": _compose_dataset, "models": _compose_model, "baselines": _compose_baseline}


def _train_defaults(properties: dict[str, Schema]) -> None:
    """The defaults of a model's ``train`` keys from :class:`~detcnn.training.settings.TrainSettings` (the
    settings without one, such as ``max_train_events``, stay absent: all events)."""
    from detcnn.training.settings import TrainSettings

    for f in dataclasses.fields(TrainSettings):
        if f.default is not None:
            properties[f.name]["default"] = f.default


def nodes_at(node: Schema, path: Sequence[str | int]) -> list[Schema]:
    """Every object schema under ``node`` that may describe the value at ``path``, whatever the conditions of
    the branches (a key known to any of them is a key of some source or kind)."""
    nodes = _expanded([node])
    for part in path:
        found = []
        for n in nodes:
            if part in n.get("properties", {}):
                found.append(n["properties"][part])
            elif isinstance(n.get("additionalProperties"), dict):
                found.append(n["additionalProperties"])
        nodes = _expanded(found)
    return nodes


def _expanded(nodes: list[Schema]) -> list[Schema]:
    out = []
    for n in nodes:
        out.append(n)
        out += _expanded([b.get("then", b) for b in n.get("allOf", [])])
    return out
