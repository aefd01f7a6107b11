"""What a job asks of its machine or batch system, from the config's ``resources`` section: memory, time,
threads, SLURM partition and account, GPUs. The rules pass these as Snakemake resources, which the local
scheduler (``--cores``, ``--resources gpu=N``) and the executor plugins read under their own names:
``mem_mb``, ``runtime`` [minutes], ``slurm_partition``, ``slurm_account``, ``slurm_extra``, ``gpu``,
``gpu_model``, ``cpus_per_gpu`` (SLURM), ``htcondor_request_mem_mb`` and ``request_gpus`` (HTCondor).

A job takes ``resources.default``, then its stage's section, then, for a training that asks for GPUs,
``resources.gpu``; unset keys fall back in that order. Every job has every key (a rule's resources are the
same names for all its jobs): an unset string is ``""`` and an unset count ``0``, which the plugins read as
"not set". Torch-free: the rules import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STRINGS = ("slurm_partition", "slurm_account", "slurm_extra", "gpu_model")
COUNTS = ("mem_mb", "runtime", "cpus_per_gpu")
KEYS = (*COUNTS, *STRINGS, "gpu", "htcondor_request_mem_mb", "request_gpus")


def _merged(resources: Mapping[str, Any], stage: str, gpus: int) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for section in ("default", stage, "gpu" if gpus > 0 else None):
        for key, value in (resources.get(section) or {}).items() if section else ():
            if value is not None:
                merged[key] = value
    return merged


def job_resources(resources: Mapping[str, Any], stage: str, gpus: int = 0) -> dict[str, int | str]:
    """The Snakemake resources (every key of :data:`KEYS`) of a job of ``stage`` asking for ``gpus`` GPUs."""
    merged = _merged(resources, stage, gpus)
    out: dict[str, int | str] = {k: int(merged.get(k) or 0) for k in COUNTS}
    out.update({k: str(merged.get(k) or "") for k in STRINGS})
    out["gpu"] = out["request_gpus"] = int(gpus)
    if gpus == 0:
        out["gpu_model"], out["cpus_per_gpu"] = "", 0
    out["htcondor_request_mem_mb"] = out["mem_mb"]
    return out


def job_threads(resources: Mapping[str, Any], stage: str, gpus: int = 0) -> int:
    """The CPU threads of a job of ``stage`` (its cores on a cluster, its torch threads in training)."""
    return int(_merged(resources, stage, gpus).get("threads") or 1)


def model_gpus(model: Mapping[str, Any]) -> int:
    """The GPUs a (filled) ``models`` entry asks for (``train.gpus``)."""
    return int(model["train"]["gpus"])
