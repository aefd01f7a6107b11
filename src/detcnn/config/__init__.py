"""The workflow config: its schema, composed from the common keys (``config.schema.yaml``, shipped with the
package) and the keys each source, kind of events, baseline kind and task declares beside its code; the one
function that validates a config, fills its defaults and checks it (:func:`load`, to typed, frozen sections);
the fill of one section for a stage called directly; and the hash that ties a file to its config section.

- :mod:`detcnn.config.schema`: :func:`schema`, the composed JSON schema;
- :mod:`detcnn.config.fill`: the default-filling validation, its one-line errors, :func:`fill_dataset`,
  :func:`fill_generate`, :func:`fill_model`, :func:`fill_baseline`, :func:`fill_task_args`;
- :mod:`detcnn.config.typed`: :func:`load` and :class:`WorkflowConfig`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from detcnn.config.fill import fill_baseline, fill_dataset, fill_generate, fill_model, fill_task_args, validate
from detcnn.config.schema import schema
from detcnn.config.typed import WorkflowConfig, load
from detcnn.errors import ConfigError

__all__ = ["WorkflowConfig", "config_hash", "fill_baseline", "fill_dataset", "fill_generate", "fill_model",
           "fill_task_args", "load", "parse_json_arg", "schema", "validate"]  # fmt: skip


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
