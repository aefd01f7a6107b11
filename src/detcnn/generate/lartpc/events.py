"""Events and hits files: :func:`simulate_events`, :func:`shard_seed`, :func:`generate_hits_shard` and the
file contract (branch names, :data:`HIT_TREE_TITLE`).

Units in the output: cm, ns, GeV and thousands of electrons (see :data:`HIT_TREE_TITLE`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import awkward as ak
import numpy as np

from detcnn.generate import seeding
from detcnn.generate.lartpc.deposits import Deposits
from detcnn.generate.lartpc.interactions import PRIMARY_KINDS, Interactions, sample_interactions
from detcnn.generate.lartpc.response import detector_response
from detcnn.generate.lartpc.settings import SAMPLES, SimSettings
from detcnn.generate.lartpc.showers import em_showers
from detcnn.generate.lartpc.tracks import SPECIES_INTERACTION_LENGTH, propagate_tracks
from detcnn.io.events import write_events

HIT_TREE_TITLE = (
    "detcnn LArTPC hits: hit_x, hit_y, hit_z, vtx_x, vtx_y, vtx_z in cm (x = drift, anode at x=0; z = beam); "
    "hit_t in ns after the interaction; hit_e, dep_energy, nu_energy, lepton_energy, hadronic_energy in GeV; "
    "hit_q in thousands of electrons; hit_label 1=track 2=shower 0=other; label 0=nu_e CC 1=nu_mu CC 2=NC"
)
EVENT_BRANCHES = (
    "label",
    "nu_energy",
    "lepton_energy",
    "hadronic_energy",
    "vtx_x",
    "vtx_y",
    "vtx_z",
    "n_pi0",
    "n_proton",
    "n_pion",
    "dep_energy",
)
HIT_BRANCHES = ("hit_x", "hit_y", "hit_z", "hit_t", "hit_e", "hit_q", "hit_label")
MAX_SEED = 2**63 - 1


def _deposits(inter: Interactions, rng: np.random.Generator, settings: SimSettings) -> Deposits:
    """The energy deposits of all primaries of ``inter``: tracks (mu, pi, p; pions and protons up to an
    exponential hadronic interaction path) then showers (e, photons), ``owner`` the primary's index."""
    lo, hi = settings.bounds
    start = inter.vertex[inter.event]
    is_track = inter.kind <= PRIMARY_KINDS["proton"]
    track_ids = np.flatnonzero(is_track)
    species = inter.kind[track_ids]
    length = SPECIES_INTERACTION_LENGTH[species]
    interaction = np.where(np.isfinite(length), rng.exponential(1.0, len(track_ids)) * length, np.inf)
    tracks = propagate_tracks(
        start[track_ids],
        inter.direction[track_ids],
        inter.kinetic[track_ids],
        species,
        rng,
        lo=lo,
        hi=hi,
        step=settings.track_step,
        max_path=interaction,
    )
    shower_ids = np.flatnonzero(~is_track)
    showers = em_showers(
        start[shower_ids],
        inter.direction[shower_ids],
        inter.kinetic[shower_ids],
        inter.kind[shower_ids] == PRIMARY_KINDS["photon"],
        rng,
        lo=lo,
        hi=hi,
        step=settings.track_step,
        granularity=settings.shower_granularity,
    )
    tracks.deposits.owner = track_ids[tracks.deposits.owner]
    showers.deposits.owner = shower_ids[showers.deposits.owner]
    return Deposits.concatenate([tracks.deposits, showers.deposits])


def _branches(
    sample: str, inter: Interactions, dep: Deposits, pos: np.ndarray, charge: np.ndarray
) -> dict[str, np.ndarray | ak.Array]:
    """The branches of :func:`simulate_events` from the truth ``inter``, the deposits ``dep`` (k,) and their
    detector response: positions ``pos`` (k, 3) [cm] and charges ``charge`` (k,) [10^3 electrons]."""
    n_events = len(inter.nu_energy)
    event = inter.event[dep.owner]
    order = np.lexsort((np.arange(len(dep)), dep.owner, event))
    counts = np.bincount(event, minlength=n_events)

    def jag(values: np.ndarray, dtype: type) -> ak.Array:
        return ak.unflatten(np.ascontiguousarray(values[order], dtype=dtype), counts)

    hit_e = (dep.e / 1000.0).astype(np.float32)
    dep_energy = np.bincount(event, weights=hit_e.astype(np.float64), minlength=n_events)
    return {
        "label": np.full(n_events, SAMPLES[sample], dtype=np.int32),
        "nu_energy": inter.nu_energy.astype(np.float32),
        "lepton_energy": inter.lepton_energy.astype(np.float32),
        "hadronic_energy": inter.hadronic_energy.astype(np.float32),
        "vtx_x": inter.vertex[:, 0].astype(np.float32),
        "vtx_y": inter.vertex[:, 1].astype(np.float32),
        "vtx_z": inter.vertex[:, 2].astype(np.float32),
        "n_pi0": inter.n_pi0.astype(np.int32),
        "n_proton": inter.n_proton.astype(np.int32),
        "n_pion": inter.n_pion.astype(np.int32),
        "dep_energy": dep_energy.astype(np.float32),
        "hit_x": jag(pos[:, 0], np.float32),
        "hit_y": jag(pos[:, 1], np.float32),
        "hit_z": jag(pos[:, 2], np.float32),
        "hit_t": jag(dep.t, np.float32),
        "hit_e": ak.unflatten(hit_e[order], counts),
        "hit_q": jag(charge, np.float32),
        "hit_label": jag(dep.label, np.int8),
    }


def simulate_events(
    sample: str, n_events: int, rng: np.random.Generator, settings: SimSettings
) -> dict[str, np.ndarray | ak.Array]:
    """Simulate ``n_events`` events of ``sample`` (one of :data:`SAMPLES`); the branches of the hits file.

    Event-level numpy arrays (n_events,): ``label`` (int32), ``nu_energy``, ``lepton_energy``, ``hadronic_energy``
    [GeV], ``vtx_x``, ``vtx_y``, ``vtx_z`` [cm], ``n_pi0``, ``n_proton``, ``n_pion`` (int32), ``dep_energy`` [GeV]
    (the sum of ``hit_e``). Jagged awkward arrays (n_events, var), hits grouped by primary particle in step order:
    ``hit_x``, ``hit_y``, ``hit_z`` [cm, after diffusion], ``hit_t`` [ns], ``hit_e`` [GeV, true deposit],
    ``hit_q`` [10^3 electrons], ``hit_label`` (int8: 1 track, 2 shower). All float branches are float32.
    """
    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    if n_events < 0:
        raise ValueError(f"n_events must be >= 0, got {n_events}")
    inter = sample_interactions(sample, n_events, rng, settings)
    dep = _deposits(inter, rng, settings)
    pos, charge = detector_response(dep, rng, settings)
    return _branches(sample, inter, dep, pos, charge)


def shard_seed(base_seed: int, sample: str, shard: int) -> int:
    """The numpy seed of one shard of ``sample``, from the config seed; the seed streams
    (:mod:`detcnn.generate.seeding`) are the samples' labels (:data:`SAMPLES`: 0, 1, 2)."""
    return seeding.shard_seed(base_seed, seeding.stream_of(SAMPLES, sample), shard, MAX_SEED)


def _concatenate(pieces: list[dict[str, np.ndarray | ak.Array]]) -> dict[str, np.ndarray | ak.Array]:
    out: dict[str, np.ndarray | ak.Array] = {}
    for key, first in pieces[0].items():
        if isinstance(first, ak.Array):
            out[key] = ak.concatenate([p[key] for p in pieces])
        else:
            out[key] = np.concatenate([p[key] for p in pieces])
    return out


def generate_hits_shard(
    out: str | os.PathLike[str],
    *,
    sample: str,
    n_events: int,
    seed: int,
    settings: SimSettings | None = None,
    batch_size: int = 1000,
    progress: bool = True,
) -> dict[str, float | int | str]:
    """Simulate ``n_events`` events of ``sample`` with ``seed`` in batches; write them to ``out`` (ROOT, atomic).

    Returns stats: sample, seed, n_events, n_hits, mean/max hits per event, mean deposited energy [GeV],
    seconds (total), simulate_seconds, write_seconds, events_per_s.
    """
    from tqdm import tqdm

    if sample not in SAMPLES:
        raise ValueError(f"unknown sample '{sample}'; valid: {sorted(SAMPLES)}")
    if n_events <= 0:
        raise ValueError(f"n_events must be positive, got {n_events}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    settings = settings or SimSettings()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    pieces = []
    with tqdm(total=n_events, desc=f"{sample} seed {seed}", unit="ev", disable=not progress, mininterval=2.0) as bar:
        for first in range(0, n_events, batch_size):
            size = min(batch_size, n_events - first)
            pieces.append(simulate_events(sample, size, rng, settings))
            bar.update(size)
    branches = _concatenate(pieces)
    t1 = time.perf_counter()
    write_events(Path(out), branches, title=HIT_TREE_TITLE)
    t2 = time.perf_counter()
    n_hits = ak.num(branches["hit_e"])
    return {
        "sample": sample,
        "seed": int(seed),
        "n_events": int(n_events),
        "n_hits": int(ak.sum(n_hits)),
        "mean_hits_per_event": float(ak.mean(n_hits)),
        "max_hits_per_event": int(ak.max(n_hits)),
        "mean_dep_energy_gev": float(np.mean(branches["dep_energy"])),
        "simulate_seconds": t1 - t0,
        "write_seconds": t2 - t1,
        "seconds": t2 - t0,
        "events_per_s": n_events / (t2 - t0),
    }
