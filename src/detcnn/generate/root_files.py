"""Source ``root_files``: the user's own ROOT files, listed under the dataset's ``files``, read with the
branch mapping under ``branches``. Nothing is generated; the dataset's ``events`` says whether the files hold
jets or detector hits, and for hits ``class_names`` (one per label value) and ``truth`` (event branches)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.errors import ConfigError
from detcnn.io.events import JET_CLASS_NAMES

NAME = "root_files"
SAMPLES: tuple[str, ...] = ()
EVENTS = None


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    raise ConfigError("a root_files dataset is read from its 'files', not generated", key="source")


def class_names(ds: Mapping[str, Any]) -> list[str]:
    """Jets: gluon (label 0) and quark (1); hits: the dataset's ``class_names``."""
    return list(JET_CLASS_NAMES) if ds.get("events", "jets") == "jets" else list(ds.get("class_names") or [])


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    if ds.get("events", "jets") == "jets":
        return {}
    return {"class_names": class_names(ds), "truth": tuple(ds.get("truth") or ())}
