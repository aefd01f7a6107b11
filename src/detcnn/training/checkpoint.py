"""Resumable training: the whole state of a training after every complete epoch, in one file written
atomically where Snakemake does not delete it (it is no declared output, so a failed or killed job keeps it).

The state is what the next epoch depends on: the weights, the optimiser and learning-rate schedule, the
epoch count, the history, the early-stopping bookkeeping (best loss and epoch, epochs without improvement,
the best weights so far) and every random state (the batch-order generator, torch's global generator for
dropout, CUDA's, numpy's and Python's). Resuming from it gives the same training as never stopping.

A checkpoint belongs to one training: its ``key`` (a hash of the model's config, the seed and the image
files' config hashes) must match, else it is stale and ignored. It also carries ``meta`` (the MLflow run id),
so the resumed training continues the same run. Everything in it is a tensor, number, string or container of
those, so it loads with ``weights_only=True``.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from detcnn.errors import sigterm_waits
from detcnn.io.atomic import atomic_path

log = logging.getLogger(__name__)


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every random state a training draws from, as tensors and numbers."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002 - third-party code may draw from it
    version, internal, next_gauss = random.getstate()
    state = {
        "generator": generator.get_state(),
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": next_gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any], generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved."""
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))  # noqa: NPY002
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpoint:
    """The checkpoint file of one training at ``path``, valid for trainings with the same ``key``."""

    def __init__(self, path: str | os.PathLike[str], key: str, meta: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.key = key
        self.meta: dict[str, Any] = dict(meta or {})
        self.stale_meta: dict[str, Any] | None = None  # what a checkpoint of another training carried

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none or it belongs to another training (its ``meta`` is
        then in :attr:`stale_meta`, so the caller can close that training's run). A damaged file is stale."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: start again rather than fail
            log.warning("ignoring the unreadable checkpoint %s (%s); training starts again", self.path, exc)
            return None
        if state.get("key") != self.key:
            log.warning("ignoring the checkpoint %s of another config; training starts again", self.path)
            self.stale_meta = dict(state.get("meta") or {})
            return None
        self.meta.update(state.get("meta") or {})
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        """Write ``state`` with the key and meta, atomically (a kill mid-write leaves the previous one)."""
        with sigterm_waits(), atomic_path(self.path) as tmp:
            torch.save({**state, "key": self.key, "meta": self.meta}, tmp)

    def remove(self) -> None:
        """Delete the checkpoint file (if there is one)."""
        self.path.unlink(missing_ok=True)
