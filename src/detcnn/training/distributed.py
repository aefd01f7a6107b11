"""Training on several processes (one per GPU, or CPU processes with the gloo backend) with PyTorch's
DistributedDataParallel, launched by PyTorch's own ``torchrun``.

A model whose ``train.gpus`` is above 1 relaunches ``detcnn train`` under ``torchrun --standalone`` with one
process per GPU (:func:`relaunch`). Each process (rank) sees its share of every batch (in memory: the same
seeded permutation on every rank, each global batch of ``batch_size`` split between the ranks, so the
gradient DDP averages is the single-process gradient of that batch; streamed: the file's blocks shared out
in the seeded order). Losses and validation predictions are reduced across the ranks; only rank 0 logs to
MLflow and writes files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes: ``rank`` of ``world``, ``local_rank`` on its node."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process logs and writes files (rank 0)."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Ranks:
        """From the variables ``torchrun`` sets (one process when they are absent)."""
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))  # fmt: skip


SINGLE = Ranks()
#: ``torchrun`` of this Python (``--`` before the module: the detcnn flags are not torchrun's).
TORCHRUN = (sys.executable, "-m", "torch.distributed.run", "--standalone")


def in_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (its variables are set)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def relaunch(argv: Sequence[str], processes: int) -> int:
    """Run ``detcnn <argv>`` again under ``torchrun --standalone`` with ``processes`` ranks; its exit code."""
    command = [*TORCHRUN, f"--nproc-per-node={processes}", "-m", "--", "detcnn.cli", *argv]
    return subprocess.run(command, check=False).returncode


def init_process_group(ranks: Ranks, device: torch.device) -> None:
    """Join the group of ``torchrun``'s processes: NCCL between GPUs, gloo between CPU processes."""
    import torch.distributed as dist

    if ranks.world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def destroy_process_group() -> None:
    """Leave the group of processes, if this process joined one."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: Sequence[float], ranks: Ranks) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (float64, on the CPU: gloo or, for NCCL, via its device)."""
    if ranks.world == 1:
        return [float(v) for v in values]
    import torch.distributed as dist

    t = torch.tensor(list(values), dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_rows(part: np.ndarray, rows: np.ndarray, n: int, ranks: Ranks) -> np.ndarray | None:
    """On rank 0, the ``(n, ...)`` array whose rows ``rows`` each rank holds in ``part``; None elsewhere."""
    if ranks.world == 1:
        return part
    import torch.distributed as dist

    pieces: list[Any] = [None] * ranks.world if ranks.main else []
    dist.gather_object((rows, part), pieces if ranks.main else None, dst=0)
    if not ranks.main:
        return None
    out = np.empty((n, *part.shape[1:]), dtype=part.dtype)
    for r, p in pieces:
        out[r] = p
    return out


def processes_for(train_cfg: dict[str, Any]) -> int:
    """How many training processes a model's ``train`` section asks for: one per GPU of ``gpus``."""
    return max(1, int(train_cfg.get("gpus", 0) or 0))
