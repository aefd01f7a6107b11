"""Choosing where to train: the GPU when there is one (one of its own per job), the CPU (with the rule's threads)
otherwise; and the seeds."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def resolve_device(requested: str = "auto") -> torch.device:
    """'auto' -> cuda if available else cpu; 'cuda' without a GPU is an error that says so."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but PyTorch sees no GPU; set train.device to 'auto' or 'cpu'")
    return torch.device(requested)


def configure_threads(threads: int) -> None:
    """Use ``threads`` CPU threads for intra-op parallelism (from the Snakemake rule's ``threads``)."""
    torch.set_num_threads(max(1, int(threads)))


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; return a torch generator for batch order."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - for third-party code that draws from the legacy global state
    torch.manual_seed(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def visible_gpus() -> int:
    """GPUs this process may use (those ``CUDA_VISIBLE_DEVICES`` leaves, else all PyTorch sees)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def default_lock_dir() -> Path:
    """Where the GPU locks of this machine live: its own temporary folder (not a shared file system)."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"detcnn-gpu-locks-{os.getuid()}"


class GpuClaim:
    """GPUs held by this process: ``n`` of the GPU indices ``0 .. total - 1``, each an exclusive ``fcntl`` lock
    on a file in ``lock_dir``, so concurrent jobs on one machine (``snakemake --cores N --resources gpu=M``)
    get distinct GPUs. The locks go with the process (also when it is killed); :meth:`release` frees them."""

    def __init__(self, lock_dir: str | os.PathLike[str], n: int, total: int) -> None:
        import fcntl

        self.indices: list[int] = []
        self._files: list[Any] = []
        Path(lock_dir).mkdir(parents=True, exist_ok=True)
        for index in range(total):
            if len(self.indices) == n:
                break
            fh = open(Path(lock_dir) / f"gpu{index}.lock", "w")  # held open as long as the lock is held
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            self.indices.append(index)
            self._files.append(fh)
        if len(self.indices) < n:
            free = len(self.indices)
            self.release()
            raise RuntimeError(
                f"{n} GPU(s) wanted but {free} of {total} are free, the others held by running jobs (locks in "
                f"{lock_dir}); run with --resources gpu={total} so Snakemake starts no more GPU jobs than GPUs"
            )

    def release(self) -> None:
        """Give the claimed GPUs back (their lock files closed)."""
        for fh in self._files:
            fh.close()
        self._files, self.indices = [], []


def claim_gpus(n: int, lock_dir: str | os.PathLike[str] | None = None, total: int | None = None) -> GpuClaim | None:
    """``n`` GPUs of this machine for this job alone (their indices in ``claim.indices``), or None when no GPU
    is wanted, the machine has none, or a batch scheduler placed the job (SLURM gives each job its own GPUs:
    then the job uses those it sees). ``total`` defaults to the GPUs PyTorch sees."""
    if n < 1 or "SLURM_JOB_ID" in os.environ:
        return None
    total = visible_gpus() if total is None else total
    if total == 0:
        return None
    return GpuClaim(lock_dir or default_lock_dir(), n, total)
