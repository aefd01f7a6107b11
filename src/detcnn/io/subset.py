"""Nested, seeded subsets of a train split, for learning curves: the subset of ``n`` events is the first ``n``
of one permutation of the split's rows drawn from the config seed, so a smaller subset is always inside a
larger one (the curve adds events, it does not swap them) and the same split and seed give the same subsets.

A subset file is an image file like its split (the same datasets, groups and attributes, rows in file order),
with ``n_events`` its size, the attributes ``subset_of`` (the split's path), ``subset_seed`` and the group
``subset`` holding ``rows`` ``(n,)``, the subset's row numbers in the split.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path

#: The seed stream of the subset permutation (the split draws and the group draw use others).
SUBSET_STREAM = 2
#: Events of the split read per block (bounded memory for a large split).
BLOCK = 8192


def subset_rows(n_events: int, size: int, seed: int) -> np.ndarray:
    """The sorted rows ``(size,)`` of the subset of ``size`` of a split of ``n_events``: the first ``size`` of a
    permutation seeded from ``seed`` (stream :data:`SUBSET_STREAM`), so subsets of one split are nested."""
    perm = np.random.default_rng([int(seed), SUBSET_STREAM]).permutation(int(n_events))
    return np.sort(perm[: int(size)])


def write_subset(train: str | os.PathLike[str], out: str | os.PathLike[str], size: int, seed: int) -> dict[str, Any]:
    """Write the subset of ``size`` events of the split file ``train`` to ``out`` (atomically); an InputError
    when the split has fewer than ``size`` events. Returns ``{n_events, n_split, seed}``."""
    import h5py

    with h5py.File(train, "r") as src:
        n = len(src["y"])
        if size > n:
            raise InputError(f"a learning-curve subset of {size} events is larger than the train split ({n})",
                             path=train, fix="lower learning_curve.sizes or generate more events")  # fmt: skip
        rows = subset_rows(n, size, seed)
        with atomic_path(out) as tmp, h5py.File(tmp, "w") as dst:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            dst.attrs["n_events"] = int(size)
            dst.attrs["subset_of"] = str(Path(train))
            dst.attrs["subset_seed"] = int(seed)
            _copy_rows(src, dst, rows, n)
            dst.create_group("subset").create_dataset("rows", data=rows)
    return {"n_events": int(size), "n_split": int(n), "seed": int(seed)}


def _copy_rows(src: Any, dst: Any, rows: np.ndarray, n: int) -> None:
    """Every per-event dataset of ``src`` (first axis ``n``; in groups too) at ``rows`` into ``dst``, with the
    same dtype, chunking and compression, block by block."""
    import h5py

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group):
            dst.require_group(name)
            return
        if obj.ndim == 0 or obj.shape[0] != n:
            dst.create_dataset(name, data=obj[...])
            return
        chunks = (min(obj.chunks[0], len(rows)), *obj.chunks[1:]) if obj.chunks and len(rows) else None
        out = dst.create_dataset(name, shape=(len(rows), *obj.shape[1:]), dtype=obj.dtype, chunks=chunks,
                                 compression=obj.compression)  # fmt: skip
        written = 0
        for start in range(0, n, BLOCK):  # the split read once, in order, a block at a time
            lo, hi = np.searchsorted(rows, [start, start + BLOCK])
            if hi > lo:
                out[written : written + hi - lo] = obj[start : start + BLOCK][rows[lo:hi] - start]
                written += hi - lo

    src.visititems(visit)
