"""Experiment files hold several jets per event: one image per jet, exploded from the event, vectorised.

In a chunk of events the jet contract names (``jet_eta``, ``jet_phi``, optionally ``jet_pt``, ``jet_m`` and a
jet-level ``label``) are jagged per event, ``(n_events, n_jets)``. The constituents are either doubly jagged,
``(n_events, n_jets, n_constituents)`` (a JetClass- or Delphes-like layout), or jagged per event with an
index branch ``part_jet`` giving the jet each belongs to (NanoAOD's ``*_jetIdx``; -1 for none). The jets
kept are those passing ``jet_selection`` (a jagged boolean), the leading ``max_jets`` of them (by ``jet_pt``
when it is read - mapped, or a branch of that name in the file - else in the file's order) and those with at
least one constituent; an event-level ``label`` is given to each of its jets. Out comes a chunk with one jet
per row, as the one-jet-per-entry layout has it. No Python loop over events or jets: numpy and awkward over
the whole chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from detcnn.errors import InputError

JET_FIELDS = ("jet_eta", "jet_phi", "jet_pt", "jet_m", "label")


@dataclass(frozen=True)
class JetsPerEvent:
    """The ``jets`` section of a dataset: ``per_event`` turns the mode on; ``max_jets`` (None: all)."""

    per_event: bool = False
    max_jets: int | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> JetsPerEvent:
        cfg = dict(cfg or {})
        return cls(bool(cfg.get("per_event", False)), cfg.get("max_jets"))


def explode(values: Mapping[str, Any], mode: JetsPerEvent, path: object) -> tuple[dict[str, Any], dict[str, int]]:
    """One row per kept jet of the chunk ``values`` (contract name -> array, see the module doc), and the
    counters: ``jets_in_events``, ``jets_selected``, ``jets_without_constituents``."""
    out, counters, _ = explode_positions(values, mode, path)
    return out, counters


def explode_positions(
    values: Mapping[str, Any], mode: JetsPerEvent, path: object
) -> tuple[dict[str, Any], dict[str, int], tuple[np.ndarray, np.ndarray]]:
    """:func:`explode`, and where each row comes from: ``(event, jet)`` ``(n_rows,)`` int64 each, the row of
    its event in ``values`` and the jet's index in the event's jet collection (as the file orders it)."""
    jet_eta = values["jet_eta"]
    if not isinstance(jet_eta, ak.Array) or jet_eta.ndim != 2:
        raise InputError("jets per event need jagged jet branches (n_events, n_jets): 'jet_eta' is flat", path=path,
                         branch="jet_eta", fix="map jet_eta to the jets' branch (e.g. Jet_eta), or set "
                         "jets.per_event: false for one jet per entry")  # fmt: skip
    n_jets = ak.to_numpy(ak.num(jet_eta)).astype(np.int64)
    keep = ak.ones_like(jet_eta, dtype=bool) if "jet_selection" not in values else values["jet_selection"]
    if "jet_selection" in values and ak.any(ak.num(keep) != ak.num(jet_eta)):
        raise InputError("jets.selection does not give one True/False per jet", path=path, branch="jet_selection",
                         fix="write a comparison of jet branches, e.g. 'Jet_pt > 30'")  # fmt: skip
    index = ak.local_index(jet_eta)  # each jet's position in its event, as the index branch counts
    by_pt = "jet_pt" in values and _jagged(values["jet_pt"])
    order = ak.argsort(values["jet_pt"], axis=1, ascending=False) if by_pt else index
    keep, order = keep[order], order
    ordered = order[keep]
    if mode.max_jets is not None:
        ordered = ordered[ak.local_index(ordered) < mode.max_jets]
    jets = {name: values[name][ordered] for name in JET_FIELDS if name in values and _jagged(values[name])}
    parts = {name: v for name, v in values.items() if name.startswith("part_") and name != "part_jet"}
    if "part_jet" in values:
        parts, counts = _linked(parts, values["part_jet"], ordered, n_jets)
    else:
        parts = {name: v[ordered] for name, v in parts.items()}
        counts = ak.to_numpy(ak.flatten(ak.num(parts["part_pt"], axis=2))).astype(np.int64)
        parts = {name: ak.flatten(v, axis=1) for name, v in parts.items()}
    out = {name: ak.flatten(v, axis=1) for name, v in jets.items()}
    if "label" not in jets:  # one label per event: every jet of it
        per_jet = ak.num(ordered)
        out["label"] = np.repeat(np.asarray(ak.to_numpy(values["label"])), ak.to_numpy(per_jet))
    out.update(parts)
    has = counts > 0
    counters = {"jets_in_events": int(n_jets.sum()), "jets_selected": len(counts),
                "jets_without_constituents": int((~has).sum())}  # fmt: skip
    event = np.repeat(np.arange(len(n_jets), dtype=np.int64), ak.to_numpy(ak.num(ordered)))
    jet = ak.to_numpy(ak.flatten(ordered)).astype(np.int64)
    return {name: v[has] for name, v in out.items()}, counters, (event[has], jet[has])


def _jagged(values: Any) -> bool:
    return isinstance(values, ak.Array) and values.ndim >= 2


def _linked(parts: Mapping[str, ak.Array], part_jet: ak.Array, ordered: ak.Array,
            n_jets: np.ndarray) -> tuple[dict[str, ak.Array], np.ndarray]:  # fmt: skip
    """Constituents linked to jets by an index: grouped into the kept jets, in their order ``(n_kept, var)``."""
    offsets = np.concatenate([[0], np.cumsum(n_jets)])[:-1]  # the first jet of each event, in the chunk
    n_parts = ak.to_numpy(ak.num(part_jet)).astype(np.int64)
    event = np.repeat(np.arange(len(n_jets)), n_parts)
    local = ak.to_numpy(ak.flatten(part_jet)).astype(np.int64)
    valid = (local >= 0) & (local < n_jets[event])
    kept_global = (ak.to_numpy(ak.flatten(ordered)).astype(np.int64)
                   + np.repeat(offsets, ak.to_numpy(ak.num(ordered))))  # fmt: skip
    position = np.full(int(n_jets.sum()), -1, dtype=np.int64)
    position[kept_global] = np.arange(len(kept_global))
    jet_of = np.full(len(local), -1, dtype=np.int64)
    jet_of[valid] = position[offsets[event[valid]] + local[valid]]
    mine = np.flatnonzero(jet_of >= 0)
    order = mine[np.argsort(jet_of[mine], kind="stable")]
    counts = np.bincount(jet_of[mine], minlength=len(kept_global)).astype(np.int64)
    flat = {name: ak.to_numpy(ak.flatten(v))[order] for name, v in parts.items()}
    return {name: ak.unflatten(v, counts) for name, v in flat.items()}, counts
