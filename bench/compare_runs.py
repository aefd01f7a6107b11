"""Compare two finished workflow runs file by file: are the results the same?

    python bench/compare_runs.py /path/to/run_a /path/to/run_b [--same OLD=NEW ...]

For every file under ``results/`` of both runs (the MLflow store aside) it says: identical bytes; the same
content (image files: every dataset and attribute; ROOT files: every branch; weights: every tensor; JSON:
equal once timings, rates, run ids and paths are left out; tables: the same lines); or different, with
what differs (the metrics of a ``metrics.json`` that moved, from and to).
Files only one run has are listed. ``--same OLD=NEW`` declares a deliberate rename between the runs (a file
name, or a JSON string value or table cell that is exactly OLD in run a and NEW in run b, e.g. ``cuts.json=
baseline.json`` and ``cuts=baseline``): such pairs count as the same. ``--ignore-key KEY`` leaves a JSON key
or HDF5 attribute out, ``--ignore-text REGEX`` removes text from table lines: for what a change adds on
purpose. Exit code 0 when nothing differs in content.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

VOLATILE = ("seconds", "mlflow_run_id", "tracking_uri", "artifact_root", "per_s", "inference_", "train_s")
TIMING_COLUMNS = ("seconds", "train s/epoch", "inference images/s")  # table columns that are timings


RENAMED: dict[str, str] = {}  # --same OLD=NEW: deliberate renames from run a to run b
IGNORED: list[str] = []  # --ignore-key: JSON keys (and HDF5 attributes) left out, e.g. one a change added
IGNORED_TEXT: list[re.Pattern[str]] = []  # --ignore-text: regular expressions removed from table lines


def _strip(obj: Any) -> Any:
    """JSON without what changes from run to run (timings, rates, run ids, paths), renames applied."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not any(v_ in k for v_ in VOLATILE) and k not in IGNORED}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return RENAMED.get(obj, obj) if isinstance(obj, str) else obj


def _same_array(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal shapes and values, NaN equal to NaN (a NaN-padded array equals its copy)."""
    return np.array_equal(x, y, equal_nan=x.dtype.kind in "fc" and y.dtype.kind in "fc")


def _h5(a: Path, b: Path) -> list[str]:
    import h5py

    diffs = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if names_a != names_b:
            return [f"datasets differ: {sorted(set(names_a) ^ set(names_b))}"]
        for obj_a, obj_b, where in [(fa, fb, "/")] + [(fa[n], fb[n], n) for n in names_a]:
            if dict(obj_a.attrs).keys() != dict(obj_b.attrs).keys() or any(
                    not np.array_equal(obj_a.attrs[k], obj_b.attrs[k]) for k in obj_a.attrs if k not in IGNORED):  # fmt: skip
                diffs.append(f"attributes of {where}")
            if isinstance(obj_a, h5py.Dataset) and not _same_array(obj_a[...], obj_b[...]):
                diffs.append(f"values of {where}")
    return diffs


def _without_timings(text: str) -> list[str]:
    """The lines of a markdown or CSV table with the timing columns (:data:`TIMING_COLUMNS`) blanked."""
    out, drop, sep = [], set(), ","
    for line in text.splitlines():
        for pattern in IGNORED_TEXT:
            line = pattern.sub("", line)
        sep = "|" if line.startswith("|") else ","
        cells = line.split(sep)
        if any(c.strip() in TIMING_COLUMNS for c in cells):
            drop = {i for i, c in enumerate(cells) if c.strip() in TIMING_COLUMNS}
        elif not line.strip():
            drop = set()
        out.append(sep.join("" if i in drop else _renamed_cell(c) for i, c in enumerate(cells)))
    return out


def _renamed_cell(cell: str) -> str:
    """A table cell with a rename applied when the cell is exactly the old name (spaces kept)."""
    word = cell.strip()
    return cell.replace(word, RENAMED[word]) if word in RENAMED else cell


def _root(a: Path, b: Path) -> list[str]:
    """Branches whose arrays differ (the files' own bytes hold write times and UUIDs)."""
    import awkward as ak
    import uproot

    with uproot.open(a) as fa, uproot.open(b) as fb:
        ta, tb = fa["events"], fb["events"]
        if ta.keys() != tb.keys():
            return [f"branches differ: {sorted(set(ta.keys()) ^ set(tb.keys()))}"]
        return [k for k in ta.keys() if not ak.array_equal(ta[k].array(), tb[k].array())]


def _weights(a: Path, b: Path) -> list[str]:
    import torch

    wa, wb = (torch.load(p, map_location="cpu", weights_only=True) for p in (a, b))
    diffs = [k for k in wa if k != "state_dict" and wa[k] != wb.get(k)]
    sa, sb = wa["state_dict"], wb["state_dict"]
    return diffs + [f"state_dict[{k}]" for k in sa if k not in sb or not torch.equal(sa[k], sb[k])]


def _differing(a: Any, b: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two JSON objects."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return [prefix.rstrip(".") or "value"] if a != b else []
    return [d for k in sorted(set(a) | set(b)) for d in _differing(a.get(k), b.get(k), f"{prefix}{k}.")]


def _metrics(a: dict, b: dict) -> list[str]:
    out = []
    for name in sorted(set(a.get("metrics", {})) | set(b.get("metrics", {}))):
        va, vb = a["metrics"].get(name, {}).get("value"), b["metrics"].get(name, {}).get("value")
        if va != vb:
            out.append(f"{name}: {va} -> {vb}")
    return out


def _renamed_path(rel: Path) -> Path:
    return rel.with_name(RENAMED.get(rel.name, rel.name))


def compare(a: Path, b: Path) -> tuple[dict[str, list[str]], list[str]]:
    """``({category: [files]}, [details])`` of the two runs' ``results/`` trees."""
    in_a = {
        _renamed_path(p.relative_to(a)): p
        for p in (a / "results").rglob("*")
        if p.is_file() and "mlflow" not in p.parts
    }
    files_a = set(in_a)
    files_b = {p.relative_to(b) for p in (b / "results").rglob("*") if p.is_file() and "mlflow" not in p.parts}
    found: dict[str, list[str]] = {"identical bytes": [], "same content": [], "different": [], "only in one": []}
    details = []
    for rel in sorted(files_a ^ files_b):
        found["only in one"].append(f"{rel} ({'a' if rel in files_a else 'b'})")
    for rel in sorted(files_a & files_b):
        pa, pb = in_a[rel], b / rel
        if pa.read_bytes() == pb.read_bytes():
            found["identical bytes"].append(str(rel))
            continue
        if rel.suffix == ".h5":
            diffs = _h5(pa, pb)
        elif rel.suffix == ".json":
            ja, jb = json.loads(pa.read_text()), json.loads(pb.read_text())
            sa, sb = _strip(ja), _strip(jb)
            diffs = [] if sa == sb else (_metrics(ja, jb) or [f"keys {_differing(sa, sb)}"])
        elif rel.suffix in (".md", ".csv"):
            la, lb = _without_timings(pa.read_text()), _without_timings(pb.read_text())
            diffs = [f"- {x}\n  + {y}" for x, y in zip(la, lb, strict=False) if x != y] + (
                [f"{len(la)} lines against {len(lb)}"] if len(la) != len(lb) else [])  # fmt: skip
        elif rel.suffix == ".root":
            diffs = _root(pa, pb)
        elif rel.suffix == ".pt":
            diffs = _weights(pa, pb)
        elif rel.suffix == ".npz":
            with np.load(pa) as za, np.load(pb) as zb:
                diffs = [k for k in sorted(set(za.files) | set(zb.files))
                         if k not in za.files or k not in zb.files or not _same_array(za[k], zb[k])]  # fmt: skip
        else:
            diffs = ["bytes (not compared by content: figures)"]
        found["different" if diffs else "same content"].append(str(rel))
        details += [f"{rel}: {d}" for d in diffs]
    return found, details


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument(
        "--same",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="a deliberate rename from run a to run b (file name, JSON string value or table cell)",
    )
    p.add_argument(
        "--ignore-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a JSON key or HDF5 attribute a deliberate change added or changed: left out",
    )
    p.add_argument(
        "--ignore-text",
        action="append",
        default=[],
        metavar="REGEX",
        help="text a deliberate change added to table lines: removed before comparing",
    )
    args = p.parse_args()
    RENAMED.update(pair.split("=", 1) for pair in args.same)
    IGNORED.extend(args.ignore_key)
    IGNORED_TEXT.extend(re.compile(x) for x in args.ignore_text)
    found, details = compare(args.a, args.b)
    for category, files in found.items():
        print(f"{category}: {len(files)}")
        if category != "identical bytes":
            for f in files:
                print(f"  {f}")
    print("\n".join(details))
    sys.exit(1 if found["different"] or found["only in one"] else 0)


if __name__ == "__main__":
    main()
