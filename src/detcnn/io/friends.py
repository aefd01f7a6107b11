"""Friend trees: one value (or one per jet) per entry of an events file, written beside it with uproot.

A friend tree has the events tree's name and its number of entries, in the same order, so ROOT joins them
entry by entry (``TTree::AddFriend``, ``RDataFrame``'s ``AddFriend`` on the chain of the events file). Every
branch is float32: flat ``(n_entries,)`` where the dataset makes one image per entry, or jagged ``(n_entries,
var)`` with one value per jet of the event's jet collection (aligned with e.g. ``Jet_pt``) where it makes one
image per jet; all jagged branches share one counter, :data:`COUNTER`. NaN marks an entry (or jet) without an
image: outside the selection, not drawable, not among the ``max_jets`` kept.

Written chunk by chunk (:class:`FriendWriter`: one ``extend`` per chunk, memory bounded by it) into a temporary
file renamed into place only when the whole file is written (:mod:`detcnn.io.atomic`).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.io.atomic import atomic_path
from detcnn.io.splits import Positions

#: The counter branch shared by the jagged branches of a friend tree of jets per event (the jets per entry).
COUNTER = "detcnn_njet"
#: The file's TObjString that records what wrote it (JSON: models, dataset, seed, reference).
INFO_KEY = "detcnn_predict"


def per_entry(positions: Positions, values: np.ndarray) -> np.ndarray:
    """``(n_read,)`` float32 of the chunk's entries: ``values`` ``(n,)`` at the entries of its images, NaN at the
    others."""
    out = np.full(positions.n_read, np.nan, dtype=np.float32)
    out[positions.entries - positions.start] = values
    return out


def per_jet(positions: Positions, values: np.ndarray) -> ak.Array:
    """``(n_read, var)`` float32 of the chunk's entries, ``positions.jet_counts`` values each: ``values``
    ``(n,)`` at each image's jet (``positions.jets``) of its entry, NaN for the other jets."""
    if positions.jets is None or positions.jet_counts is None:
        raise ValueError("values per jet need the jets' positions and the jets of every entry")
    counts = np.asarray(positions.jet_counts, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    row = positions.entries - positions.start
    if np.any(positions.jets >= counts[row]):
        raise RuntimeError("a jet index beyond its event's jet collection: the counts do not match the images")
    flat = np.full(int(offsets[-1]), np.nan, dtype=np.float32)
    flat[offsets[row] + positions.jets] = values
    return ak.unflatten(flat, counts)


class FriendWriter:
    """``with FriendWriter(path, tree, branches, jagged=...) as w: w.extend(positions, columns)``: the friend
    tree ``tree`` of the float32 ``branches`` (jagged per jet with ``jagged``) written to ``path`` atomically;
    ``info`` (JSON-able) is stored as the TObjString :data:`INFO_KEY`, ``title`` as the tree's title."""

    def __init__(
        self, path: str | os.PathLike[str], tree: str, branches: Sequence[str], *, jagged: bool, title: str = "",
        info: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.path, self.tree, self.branches = Path(path), tree, list(branches)
        self.jagged, self.title, self.info = jagged, title, dict(info or {})
        self.n_entries = 0
        self._stack = contextlib.ExitStack()
        self._file: Any = None

    def __enter__(self) -> FriendWriter:
        import uproot

        with self._stack as stack:
            tmp = stack.enter_context(atomic_path(self.path))
            self._file = stack.enter_context(uproot.recreate(tmp))
            kind: Any = "var * float32" if self.jagged else np.float32
            self._file.mktree(self.tree, dict.fromkeys(self.branches, kind), title=self.title,
                              counter_name=lambda _name: COUNTER)  # fmt: skip
            if self.info:
                self._file[INFO_KEY] = json.dumps(self.info, sort_keys=True)
            self._stack = stack.pop_all()  # kept open until __exit__
        return self

    def extend(self, positions: Positions, columns: Mapping[str, np.ndarray]) -> None:
        """Append the chunk's ``positions.n_read`` entries: ``columns`` ``{branch: (n_images,)}`` placed at the
        images' entries (and jets), NaN elsewhere."""
        place = per_jet if self.jagged else per_entry
        self._file[self.tree].extend({name: place(positions, columns[name]) for name in self.branches})
        self.n_entries += positions.n_read

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # closes the file, then renames it into place (or removes it on an error)
