"""The config as the stages receive it: JSON sections passed by the rules, and the hash that ties a file to
the config section it was made from."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from detcnn.errors import ConfigError


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
