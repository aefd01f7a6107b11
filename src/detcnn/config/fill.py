"""Validation against the composed schema (:mod:`detcnn.config.schema`) that fills every default it meets,
and the one-line errors it raises: the key path, what is wrong, the valid keys or values.

:func:`validate` takes a whole config (the workflow's, through :func:`detcnn.config.load`); the ``fill_*``
functions one section, for a stage called directly (tests, a user's script): each returns a filled copy.
Names (sources, kinds of events, baseline kinds, tasks) are looked up in their tables first, so an unknown
one is the table's error with the valid names, not a schema error about the keys it would have.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from detcnn.config.schema import NO_FILL, Schema, composed, nodes_at, section_schema
from detcnn.errors import ConfigError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def _fill_properties(validator: Any, properties: Mapping[str, Schema], instance: Any, schema: Schema) -> Iterator:
    """JSON-schema ``properties``, after setting every absent property that has a default to (a copy of) it."""
    if validator.is_type(instance, "object") and schema.get(NO_FILL) is not False:
        for name, sub in properties.items():
            if "default" in sub and name not in instance:
                instance[name] = copy.deepcopy(sub["default"])
    from jsonschema import Draft202012Validator

    yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)


@functools.cache
def _filling_validator() -> Any:
    """JSON-schema draft 2020-12 whose ``properties`` fills defaults (jsonschema is imported here, on the
    first validation: a stage that only parses its JSON arguments does not pay for it)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"properties": _fill_properties})


def _fill(node: Schema, instance: Any, prefix: str) -> None:
    """Validate ``instance`` against ``node`` in place, filling defaults; the most relevant error as a
    ConfigError whose key starts with ``prefix``. (A key whose value is wrong is also "unevaluated" to
    ``unevaluatedProperties``: that error goes, the value's own is the one to report.)"""
    from jsonschema.exceptions import best_match

    errors = [e for e in _filling_validator()(node).iter_errors(instance)
              if e.validator != "unevaluatedProperties" or _extra(e)]  # fmt: skip
    error = best_match(errors)
    if error is not None:
        raise _config_error(error, node, prefix)


def validate(config: dict[str, Any]) -> None:
    """Check the names of ``config``, then validate it against :func:`detcnn.config.schema` in place, filling
    every default (but a model's ``task_args``); a ConfigError naming the first key that is wrong."""
    check_names(config)
    _fill(composed(), config, "")


def fill_entry(section: str, entry: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A copy of one entry of ``datasets``, ``models`` or ``baselines`` (config key ``key``), its names checked,
    validated and with its defaults."""
    out = copy.deepcopy(dict(entry))
    _NAMES[section](out, key)
    _fill(section_schema(section), out, key)
    return out


def fill_dataset(ds: Mapping[str, Any], key: str = "dataset") -> dict[str, Any]:
    """A copy of the dataset section ``ds`` (config key ``key``), validated and with its defaults."""
    return fill_entry("datasets", ds, key)


def fill_generate(source: str, cfg: Mapping[str, Any], key: str = "generate") -> dict[str, Any]:
    """A copy of the ``generate`` section ``cfg`` of a dataset of ``source``, validated and with its defaults."""
    from detcnn.generate import get_source

    node = getattr(get_source(source), "SCHEMA", {}).get("generate", {"type": "object", "maxProperties": 0})
    out = copy.deepcopy(dict(cfg))
    _fill(node, out, key)
    return out


def fill_model(cfg: Mapping[str, Any], key: str = "model") -> dict[str, Any]:
    """A copy of a network's section ``cfg`` (``arch``, ``task``, ``train``, ...), validated and with its
    defaults (its ``task_args`` as written: the task fills them)."""
    return fill_entry("models", cfg, key)


def fill_baseline(cfg: Mapping[str, Any], key: str = "baseline") -> dict[str, Any]:
    """A copy of the baseline section ``cfg`` (``kind`` and its keys), validated and with its defaults."""
    return fill_entry("baselines", cfg, key)


def fill_task_args(task: str, args: Mapping[str, Any] | None, key: str = "task_args") -> dict[str, Any]:
    """A copy of the ``task_args`` of a model of ``task`` with the task's defaults (its ``ARGS_SCHEMA``); a
    ConfigError for a key the task does not have, listing its keys."""
    from detcnn.tasks import get_task

    schema = getattr(get_task(task), "ARGS_SCHEMA", {})
    out = copy.deepcopy(dict(args or {}))
    unknown = sorted(set(out) - set(schema))
    if unknown:
        raise ConfigError(f"unknown task_args {unknown} for task '{task}'; valid: {sorted(schema)}", key=key)
    _fill({"type": "object", "properties": schema}, out, key)
    return out


# ------------------------------------------------------------------------------------------------------ names
def check_names(config: Mapping[str, Any]) -> None:
    """The sources, kinds of events, tasks and baseline kinds ``config`` names are in their tables."""
    for section, check in _NAMES.items():
        entries = config.get(section)
        for name, entry in (entries or {}).items() if isinstance(entries, Mapping) else ():
            if isinstance(entry, Mapping):
                check(entry, f"{section}.{name}")


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _dataset_names(ds: Mapping[str, Any], key: str) -> None:
    from detcnn.catalogue import event_kind
    from detcnn.generate import get_source
    from detcnn.tasks import get_task

    if _text(ds.get("source")):
        get_source(ds["source"], key=f"{key}.source")
        if _text(ds.get("events", "")):
            try:
                event_kind(ds)
            except ConfigError as exc:
                raise exc.under(key) from None
    tasks = ds.get("tasks")
    for task in tasks if isinstance(tasks, list) else ():
        if _text(task):
            get_task(task, key=f"{key}.tasks")


def _model_names(entry: Mapping[str, Any], key: str) -> None:
    from detcnn.tasks import get_task

    if _text(entry.get("task")):
        get_task(entry["task"], key=f"{key}.task")


def _baseline_names(entry: Mapping[str, Any], key: str) -> None:
    from detcnn.baselines import get_baseline

    if _text(entry.get("kind")):
        get_baseline(entry["kind"], key=f"{key}.kind")


_NAMES = {"datasets": _dataset_names, "models": _model_names, "baselines": _baseline_names}


# ----------------------------------------------------------------------------------------------------- errors
def _dotted(parts: Sequence[Any]) -> str:
    return ".".join(str(p) for p in parts if p != "")


def _config_error(error: ValidationError, root: Schema, prefix: str) -> ConfigError:
    """One line: the key path, and what is wrong (for a key too many: whose keys it is not, and the valid ones)."""
    path = [prefix, *error.absolute_path]
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        allowed, label = _allowed(error.schema, error.instance)
        extra = _extra(error)[0]
        known = {k for n in nodes_at(root, list(error.absolute_path)) for k in n.get("properties", {})}
        keys = ", ".join(sorted(allowed))
        what = f"not a key of {label}; its keys: {keys}" if label and extra in known else f"unknown key; valid: {keys}"
        return ConfigError(what, key=_dotted([*path, extra]))
    if error.validator == "required":
        missing = next(k for k in error.validator_value if k not in error.instance)
        return ConfigError("missing, and it has no default", key=_dotted([*path, missing]),
                           fix=f"set {_dotted([*path, missing])}")  # fmt: skip
    return ConfigError(error.message, key=_dotted(path) or None)


def _extra(error: ValidationError) -> list[str]:
    """The keys of an ``additionalProperties`` or ``unevaluatedProperties`` error's object that no schema
    that applies to it has."""
    return sorted(set(error.instance) - _allowed(error.schema, error.instance)[0])


def _allowed(node: Schema, instance: Mapping[str, Any]) -> tuple[set[str], str]:
    """The keys ``node`` allows for ``instance`` (its own and those of the branches that apply), and the
    titles of those branches (``source 'pythia_jets', events 'jets'``), or the node's own title."""
    keys, titles = set(node.get("properties", {})), []
    for sub in node.get("allOf", []):
        if "if" not in sub or _filling_validator()(sub["if"]).is_valid(instance):
            then = sub.get("then", sub)
            keys |= set(then.get("properties", {}))
            titles += [then["title"]] if "title" in then else []
    return keys, ", ".join(titles) or node.get("title", "")
