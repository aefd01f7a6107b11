"""Reading the workflow config: datasets, models and the hashes that tie files to the config."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from detcnn.errors import InputError


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("config file does not exist", path=path, fix="pass the path of config/config.yaml")
    with path.open() as fh:
        return yaml.safe_load(fh) or {}


def config_hash(section: Mapping[str, Any]) -> str:
    """A short, stable hash of a config section (key order does not matter)."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def parse_json_arg(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object passed on the command line by a Snakemake rule."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"--{what} must be a JSON object, got {type(value).__name__}")
    return value


#: What a source's events are: jets (constituents) or detector hits.
SOURCE_EVENTS = {"pythia_jets": "jets", "detector_sim": "hits"}


def event_kind(dataset: Mapping[str, Any]) -> str:
    """``"jets"`` or ``"hits"``: fixed by the source, or the ``events`` key of a root_files dataset."""
    kind = SOURCE_EVENTS.get(dataset.get("source", "pythia_jets")) or dataset.get("events", "jets")
    if kind not in ("jets", "hits"):
        raise ValueError(f"events must be 'jets' or 'hits', got '{kind}'")
    return kind
