"""The workflow config: its schema, composed from the common keys (``config.schema.yaml``, shipped with the
package) and the keys each source, kind of events, baseline kind and task declares beside its code; the one
function that validates a config, fills its defaults and checks it (:func:`load`, to typed, frozen sections);
the fill of one section for a stage called directly; and the hash that ties a file to its config section.

- :mod:`detcnn.config.schema`: :func:`~detcnn.config.schema.schema`, the composed JSON schema (import it from there:
  the submodule has its name);
- :mod:`detcnn.config.fill`: the default-filling validation, its one-line errors, :func:`fill_dataset`,
  :func:`fill_generate`, :func:`fill_model`, :func:`fill_baseline`, :func:`fill_task_args`;
- :mod:`detcnn.config.typed`: :func:`load` and :class:`WorkflowConfig`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from detcnn.errors import ConfigError

if TYPE_CHECKING:
    from detcnn.config.fill import fill_baseline, fill_dataset, fill_generate, fill_model, fill_task_args, validate
    from detcnn.config.typed import WorkflowConfig, load

#: Where each name of the validation lives: imported on first use (PEP 562), so that a stage which only
#: parses its JSON arguments or hashes a section does not import YAML and the schema machinery.
_LAZY = {
    "fill_baseline": "fill",
    "fill_dataset": "fill",
    "fill_generate": "fill",
    "fill_model": "fill",
    "fill_task_args": "fill",
    "validate": "fill",
    "WorkflowConfig": "typed",
    "load": "typed",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"detcnn.config.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'detcnn.config' has no attribute '{name}'")


__all__ = ["WorkflowConfig", "config_hash", "fill_baseline", "fill_dataset", "fill_generate", "fill_model",
           "fill_task_args", "load", "parse_json_arg", "validate"]  # fmt: skip


def config_hash(section: Mapping[str, Any]) -> str:
    """A short, stable hash of a config section (key order does not matter)."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def parse_json_arg(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object passed on the command line by a Snakemake rule (option ``--{what}``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"--{what} must be a JSON object, got {type(value).__name__}")
    return value
