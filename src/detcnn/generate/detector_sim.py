"""Source ``detector_sim``: neutrino events (nu_e CC, nu_mu CC, NC) in a liquid-argon TPC, simulated by
:mod:`detcnn.generate.lartpc`, as ROOT files of hits. The classes are the samples, in label order."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.generate.lartpc.settings import CLASS_NAMES, SimSettings
from detcnn.generate.lartpc.settings import SAMPLES as SAMPLE_LABELS

NAME = "detector_sim"
SAMPLES = tuple(SAMPLE_LABELS)
EVENTS = "hits"
#: The event truth copied into the image files (order = the order of the datasets in the ``truth`` group).
TRUTH = (
    "nu_energy", "lepton_energy", "hadronic_energy", "dep_energy", "vtx_x", "vtx_y", "vtx_z",
    "n_pi0", "n_proton", "n_pion",
)  # fmt: skip


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """Simulate ``cfg['n_events_per_shard']`` events of ``sample`` with the seed of this shard."""
    from detcnn.generate.lartpc.events import generate_hits_shard, shard_seed

    return generate_hits_shard(
        out, sample=sample, n_events=int(cfg["n_events_per_shard"]), seed=shard_seed(seed, sample, shard),
        settings=SimSettings.from_config(cfg.get("detector")), progress=progress,
    )  # fmt: skip


def class_names(ds: Mapping[str, Any]) -> list[str]:
    return list(CLASS_NAMES)


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The class names, the truth branches and the active volume [cm] of the simulated detector."""
    lx, ly, lz = SimSettings.from_config(ds.get("generate", {}).get("detector")).volume
    return {"class_names": list(CLASS_NAMES), "truth": TRUTH,
            "volume_cm": [[0.0, lx], [-ly / 2, ly / 2], [0.0, lz]]}  # fmt: skip
