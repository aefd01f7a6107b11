"""Choosing where to train: the GPU when there is one, the CPU (with the rule's threads) otherwise."""

from __future__ import annotations

import random

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
