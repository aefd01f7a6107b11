"""Writing the split files of a rasterise step: every event drawn to train, val or test by a seeded generator
in file order, appended chunk by chunk to one :class:`~detcnn.io.images.ImageWriter` per split, all files
renamed into place only when every chunk has succeeded (nothing half-written is ever left)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path
from detcnn.io.images import ImageWriter

SPLITS = ("train", "val", "test")


def assign_splits(n: int, fractions: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) of ``n`` events, drawn from ``rng`` in file order."""
    total = sum(fractions[s] for s in SPLITS)
    if not np.isclose(total, 1.0):
        raise ValueError(f"split fractions must add up to 1, got {dict(fractions)} (sum {total})")
    edges = np.cumsum([fractions[s] for s in SPLITS])[:-1]
    return np.searchsorted(edges, rng.random(n), side="right")


@dataclass
class ChunkImages:
    """What a rasteriser makes of one chunk of events: ``images (n, C, H, W)``, ``labels (n,)``,
    ``observables {name: (n,)}``, optional per-pixel truth ``{name: (n, V, H, W)}`` and event truth
    ``{name: (n,)}``, plus counters to add up over chunks (e.g. ``n_outside``)."""

    images: np.ndarray
    labels: np.ndarray
    observables: dict[str, np.ndarray]
    pixels: dict[str, np.ndarray] = field(default_factory=dict)
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


def write_splits(
    chunks: Iterable[ChunkImages],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    image_shape: Sequence[int],
    attrs: Mapping[str, Any],
    split: Mapping[str, float],
    seed: int,
    desc: str,
    unit: str,
    progress: bool = True,
) -> dict[str, Any]:
    """Append every chunk's events to the split files ``outputs[split]`` (HDF5), each event to a split drawn
    from a generator seeded with ``seed`` in file order (the same inputs and seed give the same split).

    All files are written to temporary paths and renamed only when every chunk has succeeded. Returns the
    events per split and the summed counters.
    """
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"per_split": dict.fromkeys(SPLITS, 0)}
    with contextlib.ExitStack() as stack:
        writers = {}
        for s in SPLITS:
            tmp = stack.enter_context(atomic_path(outputs[s]))
            writers[s] = stack.enter_context(ImageWriter(tmp, image_shape, {**attrs, "split": s}))
        bar = stack.enter_context(tqdm(desc=desc, unit=unit, disable=not progress))
        for chunk in chunks:
            which = assign_splits(len(chunk.labels), split, rng)
            for i, s in enumerate(SPLITS):
                sel = which == i
                writers[s].append(
                    chunk.images[sel], chunk.labels[sel], {k: v[sel] for k, v in chunk.observables.items()},
                    pixels={k: v[sel] for k, v in chunk.pixels.items()},
                    truth={k: v[sel] for k, v in chunk.truth.items()},
                )  # fmt: skip
                stats["per_split"][s] += int(sel.sum())
            for key, value in chunk.counters.items():
                stats[key] = stats.get(key, 0) + value
            bar.update(len(chunk.labels))
        for s in SPLITS:
            if stats["per_split"][s] == 0:
                raise InputError(
                    f"split '{s}' received no {unit}s", path=outputs[s],
                    fix="generate more events or raise that split's fraction",
                )  # fmt: skip
    return stats
