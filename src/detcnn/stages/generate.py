"""The generate stage: one shard of one sample of a dataset's source -> a ROOT events file and its stats."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.config import fill_generate
from detcnn.errors import ConfigError
from detcnn.generate import get_source
from detcnn.io.atomic import write_json


def run(
    *, source: str, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], events: str | os.PathLike[str],
    stats: str | os.PathLike[str], progress: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """Generate shard ``shard`` of ``sample`` with ``source`` (a key of :data:`detcnn.generate.SOURCES`) and the
    dataset's ``generate`` section ``cfg`` (its defaults filled here); the shard's seed derives from the config
    ``seed``. Writes the events to ``events`` (ROOT) and the statistics to ``stats`` (JSON), both atomically."""
    module = get_source(source)
    cfg = fill_generate(source, cfg)
    if sample not in module.SAMPLES:
        raise ConfigError(f"source '{source}' has no sample '{sample}'; valid: {list(module.SAMPLES)}", key="sample")
    result = module.generate(events, sample=sample, shard=shard, seed=seed, cfg=cfg, progress=progress)
    write_json(stats, result)
    return result
