"""The init-tracking stage: create the MLflow store once, before parallel jobs log to it."""

from __future__ import annotations

import os
from typing import Any

from detcnn.io.atomic import write_json
from detcnn.tracking import init_store, resolve_uri


def run(*, uri: str | None, marker: str | os.PathLike[str]) -> dict[str, Any]:
    """Create (for SQLite: migrate) the store at ``uri`` (None: the SQLite file under results/) and write the
    ``marker`` JSON the other rules depend on."""
    info = init_store(resolve_uri(uri))
    write_json(marker, info)
    return info
