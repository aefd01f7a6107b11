"""Source ``pythia_jets``: quark and gluon jets from Pythia 8 (``pythia8mc``), clustered with ``fastjet``.

The recipe of the public Pythia quark/gluon sample (Komiske, Metodiev, Thaler, JHEP 01 (2019) 121;
the jets of Komiske, Metodiev, Schwartz, JHEP 01 (2017) 110): pp at 14 TeV, Z + jet with Z -> nu nu,
``WeakBosonAndParton:qg2gmZq`` for quark jets and ``WeakBosonAndParton:qqbar2gmZg`` for gluon jets,
hadronisation and multi-parton interactions on, anti-kt R = 0.4 on all visible final-state particles,
keeping the leading jet when its pT is in [500, 550] GeV and |y| < 1.7.

Extra Pythia settings (``generate.settings``, e.g. a systematic variation of the shower or the hadronisation)
are read after the recipe's, so they may change any of them; the shard statistics and the ROOT tree's title
record them.

Events come from Pythia in batches as awkward arrays (``Pythia.nextBatch``) and are clustered as one
multi-event array by fastjet: there is no Python loop over events or particles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from detcnn.config.schema import dataclass_properties
from detcnn.errors import ConfigError
from detcnn.generate import seeding
from detcnn.generate.schema import generate_section
from detcnn.io.events import JET_CLASS_NAMES, JET_TREE_TITLE, write_events

NAME = "pythia_jets"
SAMPLES = ("quark", "gluon")
EVENTS = "jets"
PROCESSES = {
    "quark": "WeakBosonAndParton:qg2gmZq",
    "gluon": "WeakBosonAndParton:qqbar2gmZg",
}
LABELS = {"quark": 1, "gluon": 0}
NEUTRINO_IDS = (12, 14, 16)
MAX_PYTHIA_SEED = 900_000_000
#: Seed stream of each sample (:mod:`detcnn.generate.seeding`): its place in the sorted process names.
STREAMS = {sample: i for i, sample in enumerate(sorted(PROCESSES))}


@dataclass(frozen=True)
class JetSelection:
    """Leading-jet selection. Momenta in GeV, ``radius`` in (y, phi) units."""

    pt_min: float = 500.0
    pt_max: float = 550.0
    abs_y_max: float = 1.7
    radius: float = 0.4


#: The recipe of the public sample (module doc): centre-of-mass energy and the events per Pythia batch; the hard
#: process's pT range [GeV] keeps >= 98 % of the jets of each class that end up in the leading-jet window
#: (docs/physics.md, ``bench/bench_generator_window.py``; 450-600 kept 78 % of the quark jets).
RECIPE = {"ecm": 14000.0, "pthat_min": 320.0, "pthat_max": 925.0, "batch_size": 400}
#: The dataset keys it adds (JSON-schema properties): the ``generate`` section.
SCHEMA: dict[str, Any] = {
    "generate": generate_section("Event generation with Pythia 8 and fastjet.", {
        "n_jets_per_shard": {"type": "integer", "minimum": 1, "default": 6000,
                             "description": "Selected jets per shard and sample (quark, gluon)."},
        "ecm": {"type": "number", "default": RECIPE["ecm"], "description": "Centre-of-mass energy [GeV]."},
        "pthat_min": {"type": "number", "default": RECIPE["pthat_min"],
                      "description": "Generator-level minimum pT of the hard 2->2 process [GeV]."},
        "pthat_max": {"type": "number", "default": RECIPE["pthat_max"],
                      "description": "Generator-level maximum pT of the hard process [GeV]."},
        "batch_size": {"type": "integer", "minimum": 1, "default": RECIPE["batch_size"],
                       "description": "Events per Pythia batch (clustered together by fastjet)."},
        "settings": {"type": "array", "items": {"type": "string"}, "default": [],
                     "description": "Extra Pythia settings, e.g. 'TimeShower:renormMultFac = 0.25', read after "
                                    "the recipe's."},
        "jet": {"type": "object", "additionalProperties": False, "default": {}, "description": "Leading-jet selection.",
                "properties": dataclass_properties(JetSelection, {
                    "pt_min": {"type": "number", "description": "Minimum leading-jet pT [GeV]."},
                    "pt_max": {"type": "number", "description": "Maximum leading-jet pT [GeV]."},
                    "abs_y_max": {"type": "number", "description": "Maximum leading-jet |rapidity|."},
                    "radius": {"type": "number", "exclusiveMinimum": 0, "description": "Anti-kt radius R."},
                })},
    }),
}  # fmt: skip


def shard_seed(base_seed: int, sample: str, shard: int) -> int:
    """The Pythia seed (1 .. :data:`MAX_PYTHIA_SEED`) of one shard of ``sample``, from the config seed."""
    return seeding.shard_seed(base_seed, seeding.stream_of(STREAMS, sample), shard, MAX_PYTHIA_SEED)


def pythia_settings(
    sample: str, seed: int, *, ecm: float, pthat_min: float, pthat_max: float, extra: Sequence[str] = ()
) -> list[str]:
    """Pythia settings strings for one shard of ``sample`` ('quark' or 'gluon'): the recipe's, then ``extra``
    (read after them, so an extra setting overrides the recipe's)."""
    if sample not in PROCESSES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(PROCESSES)}")
    return [
        f"Beams:eCM = {ecm}",
        f"{PROCESSES[sample]} = on",
        "WeakZ0:gmZmode = 2",  # pure Z, no gamma*
        "23:onMode = off",
        "23:onIfAny = 12 14 16",  # Z -> nu nu: the jet recoils against nothing visible
        f"PhaseSpace:pTHatMin = {pthat_min}",
        f"PhaseSpace:pTHatMax = {pthat_max}",
        "PartonLevel:MPI = on",
        "HadronLevel:all = on",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Next:numberCount = 0",
        "Print:quiet = on",
        *extra,
    ]


def make_pythia(settings: list[str], from_config: Sequence[str] = ()):
    """Initialise a silent ``pythia8mc.Pythia`` with ``settings``: a setting Pythia rejects is a ValueError naming
    it, a ConfigError naming ``generate.settings`` when it is one of ``from_config`` (the config's own)."""
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            if line in from_config:
                fix = "write 'Group:name = value' with a name and a value Pythia knows (its HTML manual)"
                raise ConfigError(f"Pythia rejected the setting '{line}'", key="generate.settings", fix=fix)
            raise ValueError(f"Pythia rejected the setting '{line}'")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise with {settings}")
    return pythia


def visible_final_state(batch: ak.Array) -> ak.Array:
    """Final-state (status > 0) particles other than neutrinos, per event: fields id, px, py, pz, E [GeV]."""
    prt = batch.prt
    abs_id = abs(prt.id)
    keep = prt.status > 0
    for nu in NEUTRINO_IDS:
        keep = keep & (abs_id != nu)
    sel = prt[keep]
    return ak.zip({"px": sel.p.px, "py": sel.p.py, "pz": sel.p.pz, "E": sel.p.e, "id": sel.id})


def charge_of(pids: np.ndarray, pythia) -> np.ndarray:
    """Electric charge [e] of each PDG id, looked up once per distinct id in Pythia's particle data."""
    unique, inverse = np.unique(pids, return_inverse=True)
    table = np.array([pythia.particleData.charge(int(p)) for p in unique], dtype=np.float32)
    return table[inverse]


def leading_jets(particles: ak.Array, selection: JetSelection) -> tuple[np.ndarray, dict[str, ak.Array]]:
    """Cluster each event with anti-kt and keep its leading jet if it passes ``selection``.

    Returns the indices of the kept events and the branches of their leading jets: flat
    ``jet_pt``, ``jet_eta``, ``jet_phi``, ``jet_m``, ``jet_y`` and jagged constituents ``part_pt``,
    ``part_eta``, ``part_phi``, ``part_m`` (the particle's mass, for its rapidity), ``part_id``
    (particles of the leading jet, sorted by decreasing pT; ``part_index`` into ``particles``).
    """
    import fastjet
    import vector

    vector.register_awkward()
    momenta = ak.zip(
        {"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.E}, with_name="Momentum4D"
    )
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, selection.radius)
    sequence = fastjet.ClusterSequence(momenta, jetdef)
    pt_floor = 0.5 * selection.pt_min  # only jets that could be the leading one matter
    jets = sequence.inclusive_jets(min_pt=pt_floor)
    constituents = sequence.constituent_index(min_pt=pt_floor)
    jets = ak.with_name(jets, "Momentum4D")
    has_jet = ak.num(jets) > 0
    order = ak.argmax(jets.pt, axis=1, keepdims=True)
    lead = ak.firsts(jets[order])
    lead_constituents = ak.firsts(constituents[order])
    lead_y = 0.5 * np.log((lead.E + lead.pz) / (lead.E - lead.pz))
    passed = ak.fill_none(
        has_jet & (lead.pt >= selection.pt_min) & (lead.pt <= selection.pt_max) & (abs(lead_y) < selection.abs_y_max),
        False,
    )
    kept = np.flatnonzero(ak.to_numpy(passed))
    lead = ak.drop_none(lead[kept], axis=0)
    idx = ak.drop_none(lead_constituents[kept], axis=0)
    parts = particles[kept][idx]
    part_pt = np.hypot(parts.px, parts.py)
    by_pt = ak.argsort(part_pt, axis=1, ascending=False)
    parts = parts[by_pt]
    part_vec = ak.zip({"px": parts.px, "py": parts.py, "pz": parts.pz, "E": parts.E}, with_name="Momentum4D")
    mass2 = parts.E**2 - parts.px**2 - parts.py**2 - parts.pz**2  # rounding can make a massless one tachyonic
    out = {
        "jet_pt": ak.to_numpy(lead.pt),
        "jet_eta": ak.to_numpy(lead.eta),
        "jet_phi": ak.to_numpy(lead.phi),
        "jet_m": ak.to_numpy(lead.mass),
        "jet_y": ak.to_numpy(lead_y),
        "part_pt": part_vec.pt,
        "part_eta": part_vec.eta,
        "part_phi": part_vec.phi,
        "part_m": np.sqrt(np.maximum(mass2, 0.0)),
        "part_id": parts.id,
    }
    return kept, out


@dataclass
class ShardStats:
    """Bookkeeping of one generated shard."""

    sample: str
    seed: int
    settings: list[str] = field(default_factory=list)  # the extra Pythia settings
    n_events: int = 0
    n_jets: int = 0
    pythia_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def kept_fraction(self) -> float:
        return self.n_jets / max(self.n_events, 1)


def _next_jets(
    pythia, batch_size: int, selection: JetSelection, wanted: int, stats: ShardStats
) -> dict[str, ak.Array] | None:
    """Generate one batch of ``batch_size`` events and return the branches of at most ``wanted`` selected
    leading jets (those of :func:`leading_jets` plus the event's ``pthat`` [GeV] and jagged ``part_charge``
    [e]), None if none passed; counts the events and the Pythia seconds in ``stats``."""
    t0 = time.perf_counter()
    batch = pythia.nextBatch(batch_size)
    stats.pythia_seconds += time.perf_counter() - t0
    stats.n_events += len(batch)
    particles = visible_final_state(batch)
    kept, jets = leading_jets(particles, selection)
    take = min(len(kept), wanted)
    if take == 0:
        return None
    jets = {k: v[:take] for k, v in jets.items()}
    jets["pthat"] = np.sqrt(ak.to_numpy(batch.info.pT2Hat))[kept[:take]]
    pid = ak.to_numpy(ak.flatten(jets["part_id"]))
    charge = ak.unflatten(charge_of(pid, pythia), ak.num(jets["part_id"]))
    return {**jets, "part_charge": charge}


def _jet_branches(pieces: list[dict[str, ak.Array]], label: int) -> dict[str, np.ndarray | ak.Array]:
    """The jets file's branches (float32 momenta [GeV], int32 labels, charges and PDG ids) of the jets of
    ``pieces`` one after the other, all of class ``label``; besides the contract, ``pthat`` (float32 [GeV]):
    the pT of the hard 2 -> 2 process of the jet's event (Pythia's pT-hat)."""
    merged = {k: ak.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    return {
        "jet_pt": ak.to_numpy(merged["jet_pt"]).astype(np.float32),
        "jet_eta": ak.to_numpy(merged["jet_eta"]).astype(np.float32),
        "jet_phi": ak.to_numpy(merged["jet_phi"]).astype(np.float32),
        "jet_m": ak.to_numpy(merged["jet_m"]).astype(np.float32),
        "label": np.full(len(merged["jet_pt"]), label, dtype=np.int32),
        "pthat": ak.to_numpy(merged["pthat"]).astype(np.float32),
        "part_pt": ak.values_astype(merged["part_pt"], np.float32),
        "part_eta": ak.values_astype(merged["part_eta"], np.float32),
        "part_phi": ak.values_astype(merged["part_phi"], np.float32),
        "part_m": ak.values_astype(merged["part_m"], np.float32),
        "part_charge": ak.values_astype(merged["part_charge"], np.int32),
        "part_pid": ak.values_astype(merged["part_id"], np.int32),
    }


def generate_shard(
    path: str | os.PathLike[str],
    *,
    sample: str,
    n_jets: int,
    seed: int,
    ecm: float = RECIPE["ecm"],
    pthat_min: float = RECIPE["pthat_min"],
    pthat_max: float = RECIPE["pthat_max"],
    selection: JetSelection = JetSelection(),
    batch_size: int = RECIPE["batch_size"],
    settings: Sequence[str] = (),
    progress: bool = True,
) -> ShardStats:
    """Generate events until ``n_jets`` leading jets pass ``selection``; write them to ``path`` (ROOT).

    Branches follow the jets file contract (see :mod:`detcnn.io.events`); ``settings``: extra Pythia settings
    read after the recipe's (a ConfigError naming ``generate.settings`` for one Pythia rejects), recorded in
    the tree's title and the returned statistics.
    """
    from tqdm import tqdm

    if n_jets <= 0:
        raise ValueError(f"n_jets must be positive, got {n_jets}")
    extra = [str(line) for line in settings]
    pythia = make_pythia(
        pythia_settings(sample, seed, ecm=ecm, pthat_min=pthat_min, pthat_max=pthat_max, extra=extra), extra
    )
    stats = ShardStats(sample=sample, seed=seed, settings=extra)
    pieces: list[dict[str, ak.Array]] = []
    start = time.perf_counter()
    bar = tqdm(total=n_jets, desc=f"{sample} seed {seed}", unit="jet", disable=not progress, mininterval=2.0)
    while stats.n_jets < n_jets:
        jets = _next_jets(pythia, batch_size, selection, n_jets - stats.n_jets, stats)
        if jets is None:
            continue
        take = len(jets["jet_pt"])
        pieces.append(jets)
        stats.n_jets += take
        bar.update(take)
        bar.set_postfix(kept=f"{stats.kept_fraction:.1%}")
    bar.close()
    title = f"{JET_TREE_TITLE}; extra Pythia settings: {'; '.join(extra)}" if extra else JET_TREE_TITLE
    write_events(Path(path), _jet_branches(pieces, LABELS[sample]), title=title)
    stats.total_seconds = time.perf_counter() - start
    return stats


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """One shard of ``cfg['n_jets_per_shard']`` selected jets of ``sample`` (the dataset's filled ``generate``
    section ``cfg``), with the Pythia seed of this shard; returns the shard statistics and rates."""
    stats = generate_shard(
        out, sample=sample, n_jets=int(cfg["n_jets_per_shard"]), seed=shard_seed(seed, sample, shard),
        ecm=float(cfg["ecm"]), pthat_min=float(cfg["pthat_min"]), pthat_max=float(cfg["pthat_max"]),
        selection=JetSelection(**cfg["jet"]), batch_size=int(cfg["batch_size"]), settings=cfg.get("settings", ()),
        progress=progress,
    )  # fmt: skip
    return {**stats.__dict__, "kept_fraction": stats.kept_fraction, "jets_per_s": stats.n_jets / stats.total_seconds,
            "pythia_events_per_s": stats.n_events / stats.pythia_seconds}  # fmt: skip


def class_names(ds: Mapping[str, Any]) -> list[str]:
    """Gluon (label 0) and quark (label 1, the signal)."""
    return list(JET_CLASS_NAMES)


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The jets' clustering radius (the angularity's R of the jet observables)."""
    return {"jet_radius": float(ds["generate"]["jet"]["radius"])}
