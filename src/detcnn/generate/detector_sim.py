"""Source ``detector_sim``: neutrino events (nu_e CC, nu_mu CC, NC) in a liquid-argon TPC, simulated by
:mod:`detcnn.generate.lartpc`, as ROOT files of hits. The classes are the samples, in label order."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from detcnn.config.schema import dataclass_properties
from detcnn.generate.lartpc.settings import CLASS_NAMES, SimSettings
from detcnn.generate.lartpc.settings import SAMPLES as SAMPLE_LABELS
from detcnn.generate.schema import POSITIVE, generate_section
from detcnn.physics.argon import Recombination

NAME = "detector_sim"
SAMPLES = tuple(SAMPLE_LABELS)
EVENTS = "hits"
#: The event truth copied into the image files (order = the order of the datasets in the ``truth`` group).
TRUTH = (
    "nu_energy", "lepton_energy", "hadronic_energy", "dep_energy", "vtx_x", "vtx_y", "vtx_z",
    "n_pi0", "n_proton", "n_pion",
)  # fmt: skip
#: The dataset keys it adds (JSON-schema properties): the ``generate`` section, the detector's settings with
#: the defaults of :class:`~detcnn.generate.lartpc.settings.SimSettings`.
SCHEMA: dict[str, Any] = {
    "generate": generate_section("The detector simulation (docs/detector_sim.md).", {
        "n_events_per_shard": {"type": "integer", "minimum": 1,
                               "description": "Simulated events per shard and sample (nue_cc, numu_cc, nc)."},
        "detector": {"type": "object", "additionalProperties": False, "default": {},
                     "description": "Physics and detector settings.", "properties": dataclass_properties(SimSettings, {
            "energy_mean": {**POSITIVE, "description": "Mean neutrino energy [GeV] (Gamma spectrum)."},
            "energy_shape": {**POSITIVE, "description": "Shape of the Gamma energy spectrum."},
            "energy_min": {**POSITIVE, "description": "Lowest neutrino energy [GeV]."},
            "energy_max": {**POSITIVE, "description": "Highest neutrino energy [GeV]."},
            "volume": {"type": "array", "items": POSITIVE, "minItems": 3, "maxItems": 3,
                       "description": "Active volume (L_x drift, L_y, L_z beam) [cm], MicroBooNE's."},
            "fiducial_margin": {"type": "number", "minimum": 0,
                                "description": "Vertices at least this far from every face [cm]."},
            "track_step": {**POSITIVE, "description": "Track step length [cm], one hit per step."},
            "shower_granularity": {**POSITIVE, "description": "Energy of one shower deposit [MeV]."},
            "efield": {**POSITIVE, "description": "Drift field [kV/cm] for recombination."},
            "drift_velocity": {**POSITIVE, "description": "Electron drift velocity [cm/us]."},
            "lifetime": {**POSITIVE, "description": "Electron lifetime [ms]."},
            "diffusion": {"type": "boolean", "description": "Smear hits by longitudinal and transverse diffusion."},
            "recombination": {"type": "string", "enum": [m.value for m in Recombination],
                              "description": "Recombination model of the charge yield: the modified Box model "
                                             "(ArgoNeuT) or Birks' law (ICARUS)."},
            "charge_scale": {**POSITIVE, "description": "Gain / calibration scale multiplying the collected charge "
                                                        "hit_q (a systematic variation of the charge scale)."},
        })},
    }, required=["n_events_per_shard"]),
}  # fmt: skip


def generate(
    out: str | os.PathLike[str], *, sample: str, shard: int, seed: int, cfg: Mapping[str, Any], progress: bool = True
) -> dict[str, Any]:
    """Simulate ``cfg['n_events_per_shard']`` events of ``sample`` with the seed of this shard (``cfg``: the
    dataset's filled ``generate`` section)."""
    from detcnn.generate.lartpc.events import generate_hits_shard, shard_seed

    return generate_hits_shard(
        out, sample=sample, n_events=int(cfg["n_events_per_shard"]), seed=shard_seed(seed, sample, shard),
        settings=SimSettings.from_config(cfg["detector"]), progress=progress,
    )  # fmt: skip


def class_names(ds: Mapping[str, Any]) -> list[str]:
    return list(CLASS_NAMES)


def rasterise_options(ds: Mapping[str, Any]) -> dict[str, Any]:
    """The class names, the truth branches and the active volume [cm] of the simulated detector (``ds``: the
    filled dataset section)."""
    lx, ly, lz = SimSettings.from_config(ds["generate"]["detector"]).volume
    return {"class_names": list(CLASS_NAMES), "truth": TRUTH,
            "volume_cm": [[0.0, lx], [-ly / 2, ly / 2], [0.0, lz]]}  # fmt: skip
