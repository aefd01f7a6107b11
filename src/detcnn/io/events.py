"""ROOT event files: write with ``uproot.recreate``, read chunk by chunk with ``uproot.iterate``.

File contract (docs/architecture.md): TTree ``events``; jet-level branches ``jet_pt`` [GeV], ``jet_eta``,
``jet_phi`` [rad], ``jet_m`` [GeV], ``label`` (1 = quark, 0 = gluon) and jagged constituent branches
``part_pt`` [GeV], ``part_eta``, ``part_phi`` [rad], ``part_charge`` [e], ``part_pid`` (PDG id).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path

TREE_NAME = "events"
JET_BRANCHES = ("jet_pt", "jet_eta", "jet_phi", "jet_m", "label")
JET_CLASS_NAMES = ["gluon", "quark"]  # label 0, label 1 (the signal)
PART_BRANCHES = ("part_pt", "part_eta", "part_phi", "part_charge", "part_pid")
JET_TREE_TITLE = (
    "detcnn jets: jet_pt, jet_m, part_pt in GeV; jet_eta, part_eta pseudorapidity; "
    "jet_phi, part_phi in radians; part_charge in units of e; part_pid PDG id; label 1=quark 0=gluon"
)


def write_events(
    path: str | os.PathLike[str],
    branches: Mapping[str, np.ndarray | ak.Array],
    *,
    title: str = JET_TREE_TITLE,
    tree: str = TREE_NAME,
) -> None:
    """Write one TTree of flat (``(n_events,)``) and jagged (``(n_events, var)``) branches, atomically.

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
    return np.asarray(value).dtype


def check_file(path: str | os.PathLike[str], branches: Sequence[str], tree: str = TREE_NAME) -> int:
    """Check that ``path`` holds TTree ``tree`` with all ``branches``; return its number of entries."""
    import uproot

    path = Path(path)
    if not path.is_file():
        raise InputError("file does not exist", path=path, fix="check the path in the config or run the generate step")
    try:
        fin = uproot.open(path)
    except Exception as exc:  # uproot raises several types for a non-ROOT file
        raise InputError(f"not a readable ROOT file ({exc})", path=path, fix="regenerate or replace the file") from exc
    with fin:
        if tree not in fin:
            raise InputError(
                f"no TTree '{tree}' (keys: {sorted(fin.keys())})", path=path, fix="set the tree name in the config"
            )
        t = fin[tree]
        present = set(t.keys())
        for branch in branches:
            if branch not in present:
                raise InputError(
                    f"missing branch (the tree has {sorted(present)})",
                    path=path,
                    branch=branch,
                    fix="map your branch names in the dataset's 'branches' config",
                )
        return int(t.num_entries)


def iterate_events(
    paths: Sequence[str | os.PathLike[str]],
    branches: Mapping[str, str],
    *,
    step_size: int = 20_000,
    tree: str = TREE_NAME,
) -> Iterator[tuple[Path, ak.Array]]:
    """Yield ``(file, chunk)`` with at most ``step_size`` events per chunk, memory bounded by the chunk.

    ``branches`` maps the contract names (``part_pt``) to the names in the user's files. The chunk's
    fields carry the contract names. Every chunk is checked for NaN/inf values, naming file and branch.
    """
    import uproot

    for path in paths:
        path = Path(path)
        check_file(path, list(branches.values()), tree=tree)
        renamed = {file_name: ours for ours, file_name in branches.items()}
        for chunk in uproot.iterate(f"{path}:{tree}", list(branches.values()), step_size=step_size, library="ak"):
            chunk = ak.zip({renamed[f]: chunk[f] for f in chunk.fields}, depth_limit=1)
            for field in chunk.fields:
                values = ak.flatten(chunk[field], axis=None)
                values = ak.to_numpy(values)
                if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                    raise InputError(
                        f"{int(np.count_nonzero(~np.isfinite(values)))} NaN or infinite values",
                        path=path,
                        branch=branches[field],
                        fix="remove or repair those entries before rasterising",
                    )
            yield path, chunk
