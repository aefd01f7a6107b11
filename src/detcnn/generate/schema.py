"""What the generating sources' config fragments share: the shape of a ``generate`` section and its
``shards`` key (one job per sample and shard)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SHARDS: dict[str, Any] = {"type": "integer", "minimum": 1, "default": 2,
                          "description": "Shards per sample; each is one job with its own seed."}  # fmt: skip


#: A positive number (a length, an energy, a rate): the type of most simulation settings.
POSITIVE: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0}


def generate_section(
    description: str, properties: Mapping[str, Mapping[str, Any]], required: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON schema of a source's ``generate`` section: ``properties`` and ``shards``, no other key."""
    section: dict[str, Any] = {"type": "object", "default": {}, "additionalProperties": False,
                               "description": description, "properties": {**properties, "shards": SHARDS}}  # fmt: skip
    if required:
        section["required"] = list(required)
    return section
