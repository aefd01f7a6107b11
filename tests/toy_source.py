"""A source that the sources table does not have (docs/extending.md: a module with the names of every source
and a line in :data:`detcnn.generate.SOURCES`): random jets (:func:`tests.conftest.make_jets`), the quark
jets cut to at most :data:`QUARK_MAX_CONSTITUENTS` constituents, so that multiplicity tells them apart."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.generate import seeding
from detcnn.io.events import JET_CLASS_NAMES, write_events
from tests.conftest import make_jets

NAME = "toy_jets"
SAMPLES = ("quark", "gluon")
EVENTS = "jets"
#: The dataset keys it adds (JSON-schema properties): the ``generate`` section.
SCHEMA: dict[str, Any] = {
    "generate": {
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "properties": {"n_jets_per_shard": {"type": "integer", "minimum": 1, "default": 200,
                                            "description": "Jets per shard and sample."}},
    }
}  # fmt: skip
#: Seed streams (:mod:`detcnn.generate.seeding`) and labels of the samples.
STREAMS = {"quark": 0, "gluon": 1}
LABELS = {"quark": 1, "gluon": 0}
MAX_SEED = 2**32 - 1
QUARK_MAX_CONSTITUENTS = 8


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """``cfg['n_jets_per_shard']`` jets of ``sample`` into the ROOT file ``out``."""
    n = int(cfg["n_jets_per_shard"])
    jets = make_jets(n, seed=seeding.shard_seed(seed, seeding.stream_of(STREAMS, sample), shard, MAX_SEED),
                     label=LABELS[sample])  # fmt: skip
    if sample == "quark":
        jets.update({k: v[:, :QUARK_MAX_CONSTITUENTS] for k, v in jets.items() if k.startswith("part_")})
    write_events(out, jets)
    return {"sample": sample, "shard": shard, "n_jets": n}


def class_names(ds: Mapping[str, Any]) -> list[str]:
    return list(JET_CLASS_NAMES)


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    return {}
