"""ROOT event files: write with ``uproot.recreate``, read chunk by chunk with uproot.

File contract (docs/architecture.md): TTree ``events``; jet-level branches ``jet_pt`` [GeV], ``jet_eta``,
``jet_phi`` [rad], ``jet_m`` [GeV], ``label`` (1 = quark, 0 = gluon) and jagged constituent branches
``part_pt`` [GeV], ``part_eta`` (pseudorapidity), ``part_phi`` [rad], ``part_m`` [GeV], ``part_charge`` [e],
``part_pid`` (PDG id). The user's files map their own layout onto these names (any tree name, branches or
expressions of branches, an entry selection: :mod:`detcnn.io.expressions`).

A file that cannot be read (not ROOT, truncated, a damaged basket, no entries) raises :class:`BadFile`,
one line naming the file; the rasterisers skip it or fail as the dataset's ``on_bad_file`` says.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path
from detcnn.io.expressions import BranchMap
from detcnn.io.expressions import _resolve as resolve

TREE_NAME = "events"
JET_BRANCHES = ("jet_pt", "jet_eta", "jet_phi", "jet_m", "label")
JET_CLASS_NAMES = ["gluon", "quark"]  # label 0, label 1 (the signal)
PART_BRANCHES = ("part_pt", "part_eta", "part_phi", "part_m", "part_charge", "part_pid")
JET_TREE_TITLE = (
    "detcnn jets: jet_pt, jet_m, part_pt, part_m in GeV; jet_eta, part_eta pseudorapidity; "
    "jet_phi, part_phi in radians; part_charge in units of e; part_pid PDG id; label 1=quark 0=gluon"
)
BAD_FILE_FIX = "replace or regenerate the file, or set the dataset's on_bad_file: skip to leave it out"


class BadFile(InputError):
    """A file that cannot be read at all or to its end: not ROOT, truncated, damaged, without entries."""

    def __init__(self, what: str, path: object) -> None:
        super().__init__(what, path=path, fix=BAD_FILE_FIX)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"


def write_events(
    path: str | os.PathLike[str],
    branches: Mapping[str, np.ndarray | ak.Array],
    *,
    title: str = JET_TREE_TITLE,
    tree: str = TREE_NAME,
) -> None:
    """Write one TTree of flat (``(n_events,)`` or fixed-size ``(n_events, ...)``) and jagged
    (``(n_events, var)``) branches, atomically.

    Jagged branches sharing a prefix (``part_``) get one counter branch (``npart``) as ROOT expects.
    """
    import uproot

    if not branches:
        raise InputError("no branches to write", path=path, fix="pass at least one branch")
    lengths = {name: len(arr) for name, arr in branches.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"branches have different numbers of events: {lengths}", path=path)
    jagged = {k: v for k, v in branches.items() if isinstance(v, ak.Array) and v.ndim == 2}
    flat = {k: np.asarray(v) for k, v in branches.items() if k not in jagged}
    groups: dict[str, dict[str, ak.Array]] = {}
    for name, arr in jagged.items():
        prefix, _, field = name.partition("_")
        groups.setdefault(prefix, {})[field] = arr
    payload: dict[str, object] = dict(flat)
    for prefix, fields in groups.items():
        payload[prefix] = ak.zip(fields)
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp) as fout:
            fout.mktree(tree, {k: _branch_type(v) for k, v in payload.items()}, title=title)
            fout[tree].extend(payload)


def _branch_type(value: object) -> object:
    if isinstance(value, ak.Array):
        return value.type
    arr = np.asarray(value)
    return np.dtype((arr.dtype, arr.shape[1:])) if arr.ndim > 1 else arr.dtype  # fixed-size arrays (frames)


def open_tree(path: str | os.PathLike[str], tree: str = TREE_NAME) -> Any:
    """The TTree ``tree`` of the ROOT file ``path`` (its file stays open with it): an InputError for a
    missing file or tree (naming the trees the file has), a :class:`BadFile` for one that is not readable."""
    import uproot

    path = Path(path)
    if not path.is_file():
        raise InputError("file does not exist", path=path, fix="check the path in the config or run the generate step")
    if path.stat().st_size == 0:
        raise BadFile("the file is empty (0 bytes)", path)
    try:
        fin = uproot.open(path)
        keys = fin.keys(cycle=False)
    except Exception as exc:  # uproot raises many types for a file it cannot parse
        raise BadFile(f"not a readable ROOT file ({_reason(exc)})", path) from None
    if tree not in keys:
        trees = sorted(k for k, c in fin.classnames(cycle=False).items() if c in ("TTree", "TNtuple"))
        raise InputError(f"no TTree '{tree}' (the file has {trees or sorted(keys)})", path=path,
                         fix="set the dataset's 'tree' to one of them")  # fmt: skip
    try:
        return fin[tree]
    except Exception as exc:
        raise BadFile(f"the TTree '{tree}' cannot be read ({_reason(exc)})", path) from None


@dataclass
class EntryChunk:
    """One chunk of a file as :func:`read_entries` reads it: ``values`` the contract names evaluated on the
    entries the selection keeps, ``n_read`` the entries read, ``start`` the entry number of the first of them,
    ``entries`` ``(n_kept,)`` int64 the entry numbers in the file of the kept ones, and ``counts``
    ``(n_read,)`` int64 the length of the jagged contract name ``count`` for every entry read, kept or not
    (None without ``count``)."""

    values: dict[str, Any]
    n_read: int
    start: int
    entries: np.ndarray
    counts: np.ndarray | None = None


def read_chunks(
    path: str | os.PathLike[str], branches: BranchMap, *, tree: str = TREE_NAME, step_size: int = 20_000
) -> Iterator[tuple[dict[str, Any], int]]:
    """``(values, n_read)`` per chunk of at most ``step_size`` entries of one file: ``values`` the contract
    names of ``branches`` evaluated on the entries its selection keeps (all without one), ``n_read`` the
    entries read (:func:`read_entries` gives their entry numbers too)."""
    for chunk in read_entries(path, branches, tree=tree, step_size=step_size):
        yield chunk.values, chunk.n_read


def read_entries(
    path: str | os.PathLike[str], branches: BranchMap, *, tree: str = TREE_NAME, step_size: int = 20_000,
    count: str | None = None,
) -> Iterator[EntryChunk]:  # fmt: skip
    """An :class:`EntryChunk` per chunk of at most ``step_size`` entries of one file, in entry order; with
    ``count`` (a contract name of jagged values, e.g. ``jet_eta`` of jets per event) also its length for every
    entry, evaluated before the selection. Memory bounded by the chunk. Floats are checked for NaN and inf
    (naming the expression). Reading errors (a truncated file, a damaged basket) raise :class:`BadFile`; so
    does a tree without entries."""
    t = open_tree(path, tree)
    branches = branches.for_file(list(t.keys()))
    needed = branches.branches(list(t.keys()), path)
    if t.num_entries == 0:
        raise BadFile(f"the TTree '{tree}' has no entries", path)
    chunks, start = t.iterate(needed, step_size=step_size, library="ak"), 0
    while True:
        try:
            raw = next(chunks)
        except StopIteration:
            return
        except Exception as exc:  # decompression and deserialisation of the file's own bytes
            raise BadFile(f"damaged or truncated: reading failed ({_reason(exc)})", path) from None
        columns = {name: raw[name] for name in raw.fields}
        n_read = len(raw)
        counts = None if count is None else _counts(branches, count, columns, path)
        mask = branches.select(columns, path)
        kept = np.arange(start, start + n_read, dtype=np.int64)
        if mask is not None:
            columns = {name: values[mask] for name, values in columns.items()}
            kept = kept[mask]
        values = branches.evaluate(columns, path)
        _check_finite(values, branches, path)
        yield EntryChunk(values, n_read, start, kept, counts)
        start += n_read


def _counts(branches: BranchMap, name: str, columns: Mapping[str, Any], path: object) -> np.ndarray:
    """``(n_entries,)`` int64: the length of the jagged contract name ``name`` in every entry of ``columns``."""
    values = resolve(name, branches.exprs, columns, {}, path, ())
    if not isinstance(values, ak.Array) or values.ndim < 2:
        raise InputError(f"'{name}' is not jagged (one list per entry)", path=path, branch=branches.exprs[name].text,
                         fix=f"map {name} to the jagged branch of the jets (e.g. Jet_eta)")  # fmt: skip
    return ak.to_numpy(ak.num(values, axis=1)).astype(np.int64)


def _check_finite(values: Mapping[str, Any], branches: BranchMap, path: object) -> None:
    """An InputError naming the expression of the first contract name with a NaN or infinite float."""
    for name, array in values.items():
        flat = ak.to_numpy(ak.flatten(array, axis=None)) if isinstance(array, ak.Array) else np.asarray(array)
        if flat.dtype.kind == "f" and not np.all(np.isfinite(flat)):
            raise InputError(
                f"{int(np.count_nonzero(~np.isfinite(flat)))} NaN or infinite values", path=path,
                branch=branches.exprs[name].text, fix="remove or repair those entries before rasterising",
            )  # fmt: skip


def check_file(path: str | os.PathLike[str], branches: Sequence[str], tree: str = TREE_NAME) -> int:
    """Check that ``path`` holds TTree ``tree`` with all ``branches``; return its number of entries."""
    t = open_tree(path, tree)
    BranchMap({b: b for b in branches}).branches(list(t.keys()), path)
    return int(t.num_entries)


def iterate_events(
    paths: Sequence[str | os.PathLike[str]],
    branches: Mapping[str, str],
    *,
    step_size: int = 20_000,
    tree: str = TREE_NAME,
    selection: str | None = None,
) -> Iterator[tuple[Path, ak.Array]]:
    """Yield ``(file, chunk)`` with at most ``step_size`` events per chunk, memory bounded by the chunk.

    ``branches`` maps the contract names (``part_pt``) to branches or expressions of the user's files
    (:mod:`detcnn.io.expressions`); the chunk's fields carry the contract names. ``selection`` keeps some
    entries. Every chunk is checked for NaN/inf values, naming file and expression.
    """
    branch_map = BranchMap(branches, selection)
    for path in paths:
        for values, _ in read_chunks(path, branch_map, tree=tree, step_size=step_size):
            yield Path(path), ak.zip(values, depth_limit=1)
