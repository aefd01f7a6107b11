"""Writing the split files of a rasterise step: every event drawn to train, val or test by a seeded generator
in file order, appended chunk by chunk to one :class:`~detcnn.io.images.ImageWriter` per split, all files
renamed into place only when every chunk has succeeded (nothing half-written is ever left)."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError
from detcnn.io.atomic import atomic_path
from detcnn.io.images import ImageWriter

SPLITS = ("train", "val", "test")
log = logging.getLogger(__name__)


def assign_splits(n: int, fractions: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) of ``n`` events, drawn from ``rng`` in file order."""
    total = sum(fractions[s] for s in SPLITS)
    if not np.isclose(total, 1.0):
        raise ValueError(f"split fractions must add up to 1, got {dict(fractions)} (sum {total})")
    edges = np.cumsum([fractions[s] for s in SPLITS])[:-1]
    return np.searchsorted(edges, rng.random(n), side="right")


#: The seed stream of :func:`group_splits` (the event draw of :func:`write_splits` is seeded by the bare seed).
GROUP_STREAM = 1


def group_counts(n_groups: int, fractions: Mapping[str, float]) -> np.ndarray:
    """Whole groups per split (train, val, test) of ``n_groups``: the largest-remainder share of ``fractions``,
    then one for every split of a positive fraction that got none (taken from the largest); a split of
    fraction 0 (the train and val of a variation's test-only sample) gets none. A ValueError for fewer groups
    than splits of a positive fraction."""
    wanted = np.array([fractions[s] > 0 for s in SPLITS])
    if n_groups < wanted.sum():
        names = [s for s, w in zip(SPLITS, wanted, strict=True) if w]
        raise ValueError(f"{n_groups} group(s) cannot give each of {names} one of its own")
    quotas = np.array([fractions[s] for s in SPLITS], np.float64) * n_groups
    counts = np.floor(quotas).astype(np.int64)
    for i in np.argsort(counts - quotas, kind="stable")[: n_groups - int(counts.sum())]:
        counts[i] += 1
    while counts[wanted].min() == 0:
        counts[np.argmax(counts)] -= 1
        counts[np.flatnonzero(wanted)[np.argmin(counts[wanted])]] += 1
    return counts


def group_splits(n_groups: int, fractions: Mapping[str, float], seed: int) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) of each of ``n_groups`` groups (ids ``0 .. n_groups - 1``), kept
    whole: :func:`group_counts` of them per split, which ones drawn by a permutation seeded from ``seed``
    (stream :data:`GROUP_STREAM`). The same count and seed give the same assignment."""
    counts = group_counts(n_groups, fractions)
    out = np.empty(n_groups, np.int64)
    out[np.random.default_rng([int(seed), GROUP_STREAM]).permutation(n_groups)] = np.repeat(np.arange(3), counts)
    return out


@dataclass
class Positions:
    """Where the images of a chunk come from in their file: ``entries`` ``(n,)`` int64 the entry number of
    each image's event (before any selection), ``jets`` ``(n,)`` int64 for jets per event the jet's index in
    its event's jet collection (None: one image per entry); the chunk read entries ``start .. start + n_read
    - 1``, and ``jet_counts`` ``(n_read,)`` the jets of each of them, selected or not (jets per event)."""

    entries: np.ndarray
    start: int
    n_read: int
    jets: np.ndarray | None = None
    jet_counts: np.ndarray | None = None


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
    #: Per event, its split index fixed by the rasteriser (the events of one group kept in one split:
    #: :func:`group_splits`), -1 where it is drawn; None: every event drawn.
    split: np.ndarray | None = None
    #: Where each image's event (and jet) is in its file (the predict stage's friend trees); None: not known.
    positions: Positions | None = None


BAD_FILE_CHOICES = ("fail", "skip")


def write_splits(
    files: Iterable[tuple[Path, Iterable[ChunkImages]]],
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    image_shape: Sequence[int],
    attrs: Mapping[str, Any],
    split: Mapping[str, float],
    seed: int,
    desc: str,
    unit: str,
    progress: bool = True,
    on_bad_file: str = "fail",
) -> dict[str, Any]:
    """Append the events of every chunk of every file to the split files ``outputs[split]`` (HDF5), each
    event to a split drawn from a generator seeded with ``seed`` in file order (the same inputs and seed give
    the same split).

    ``files``: ``(path, chunks)`` per input file. A file that turns out unreadable (:class:`BadFile`, raised
    by its chunks, also after some of them were written) stops the step (``on_bad_file="fail"``) or is left
    out whole (``"skip"``): what it had added is cut off again and the split generator rewound, so the other
    files' events land exactly where they would without it; skipped files are listed in the stats. All files
    are written to temporary paths and renamed only when everything has succeeded. Returns the events per
    split, the summed counters and the skipped files.
    """
    from tqdm import tqdm

    if on_bad_file not in BAD_FILE_CHOICES:
        raise ConfigError(
            f"on_bad_file must be one of {list(BAD_FILE_CHOICES)}, got '{on_bad_file}'", key="on_bad_file"
        )
    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"per_split": dict.fromkeys(SPLITS, 0), "skipped_files": []}
    with contextlib.ExitStack() as stack:
        writers = {}
        for s in SPLITS:
            tmp = stack.enter_context(atomic_path(outputs[s]))
            writers[s] = stack.enter_context(ImageWriter(tmp, image_shape, {**attrs, "split": s}))
        bar = stack.enter_context(tqdm(desc=desc, unit=unit, disable=not progress))
        for path, chunks in files:
            stats = _write_file(path, chunks, writers, split, (rng,), stats, bar, skip=on_bad_file == "skip")
        stats["n_skipped_files"] = len(stats["skipped_files"])
        _check_filled(stats, outputs, unit, split)
    return stats


def _write_file(
    path: Path, chunks: Iterable[ChunkImages], writers: Mapping[str, ImageWriter], split: Mapping[str, float],
    generators: Sequence[np.random.Generator], stats: dict[str, Any], bar: Any, *, skip: bool,
) -> dict[str, Any]:  # fmt: skip
    """Append the chunks of one input file (the split drawn from ``generators[0]``) and return the updated
    ``stats``. If the file turns out bad (:class:`~detcnn.io.events.BadFile`) and ``skip``: truncate the
    writers and rewind ``generators`` to where they were before it, and return the earlier stats with the
    file listed as skipped; otherwise the error propagates."""
    from detcnn.io.events import BadFile

    sizes, before = {s: w.n for s, w in writers.items()}, copy.deepcopy(stats)
    states = [g.bit_generator.state for g in generators]
    try:
        for chunk in chunks:
            _append(chunk, writers, split, generators[0], stats)
            bar.update(len(chunk.labels))
    except BadFile as exc:
        if not skip:
            raise
        for s, w in writers.items():
            w.truncate(sizes[s])
        for g, st in zip(generators, states, strict=True):
            g.bit_generator.state = st
        stats = before
        stats["skipped_files"].append({"file": str(path), "reason": str(exc)})
        log.warning("skipped %s (on_bad_file: skip): %s", path, exc)
    return stats


def _check_filled(
    stats: Mapping[str, Any], outputs: Mapping[str, str | os.PathLike[str]], unit: str, split: Mapping[str, float]
) -> None:
    """InputError naming the file of the first split of a positive fraction that received no event
    (``stats['per_split']``)."""
    for s in SPLITS:
        if stats["per_split"][s] == 0 and split[s] > 0:
            raise InputError(
                f"split '{s}' received no {unit}s", path=outputs[s],
                fix="generate more events or raise that split's fraction",
            )  # fmt: skip


def _append(chunk: ChunkImages, writers: Mapping[str, ImageWriter], split: Mapping[str, float],
            rng: np.random.Generator, stats: dict[str, Any]) -> None:  # fmt: skip
    which = assign_splits(len(chunk.labels), split, rng)
    if chunk.split is not None:  # whole groups placed by the rasteriser (their draws still taken: the others'
        which = np.where(chunk.split >= 0, chunk.split, which)  # stay where they would be)
    for i, s in enumerate(SPLITS):
        sel = which == i
        writers[s].append(
            chunk.images[sel], chunk.labels[sel], {k: v[sel] for k, v in chunk.observables.items()},
            pixels={k: v[sel] for k, v in chunk.pixels.items()}, truth={k: v[sel] for k, v in chunk.truth.items()},
        )  # fmt: skip
        stats["per_split"][s] += int(sel.sum())
    for key, value in chunk.counters.items():
        stats[key] = stats.get(key, 0) + value
