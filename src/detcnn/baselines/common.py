"""What the baseline kinds share: reading their inputs from an image split in memory (observables, the
charge of every view, event classes, event truth) and counting the numbers a fit set."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.errors import InputError
from detcnn.io.images import ImageSet


def require_observables(images: ImageSet, names: Sequence[str]) -> None:
    """An InputError naming the observables the image file lacks (and those it has)."""
    missing = [n for n in names if n not in images.observables]
    if missing:
        raise InputError(
            f"observable(s) {missing} not in the image file (it has {sorted(images.observables)})",
            path=images.path, fix="choose observables the rasterise step writes",
        )  # fmt: skip


def charge_images(images: ImageSet) -> np.ndarray:
    """The charge channel of every view, ``(N, V, H, W)`` [ke-], from detector images ``(N, V * C, H, W)``."""
    views = list(images.attrs.get("views") or [])
    if not views:
        raise InputError("not a detector image file (no 'views' attribute)", path=images.path,
                         fix="pixel baselines need detector images")  # fmt: skip
    per_view = len(images.channels) // len(views)
    return images.X[:, ::per_view]


def event_rows(images: ImageSet, classes: Sequence[str] | None) -> np.ndarray:
    """Boolean mask of the events of the classes named ``classes`` (all when empty)."""
    names = list(images.class_names)
    if not classes:
        return np.ones(len(images.y), dtype=bool)
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise InputError(f"classes {unknown} are not classes of this dataset; valid: {names}", path=images.path,
                         fix="list class names of the dataset under the baseline's 'classes'")  # fmt: skip
    return np.isin(images.y, [names.index(c) for c in classes])


def event_truth(images: ImageSet, target: str) -> np.ndarray:
    """The event truth ``target`` ``(N,)`` (e.g. the neutrino energy [GeV])."""
    if target not in images.truth:
        raise InputError(f"no truth '{target}' in the image file (has {sorted(images.truth)})", path=images.path,
                         fix="choose a target among the dataset's truth branches")  # fmt: skip
    return images.truth[target]


def train_auc(images: ImageSet, prediction: Mapping[str, np.ndarray]) -> float:
    """The AUC of a binary baseline's ``score`` on the train split (class 1 the signal)."""
    from detcnn.evaluation.metrics import auc

    return auc(images.y, prediction["score"])


def train_auc_metrics(model: Mapping[str, Any]) -> dict[str, float]:
    """The train AUC a binary cut fit stored (``train_auc``)."""
    return {"auc": float(model["train_auc"])}


def signal_class(images: ImageSet) -> int:
    return int(images.attrs.get("signal_class", 0))


def count_thresholds(model: Mapping[str, Any]) -> int:
    """Thresholds a fit set (None: a cut left open), in ``thresholds`` and in the ``box`` and ``noise``
    sections; the number of observables, or 1, when it set none."""
    thresholds = list(model.get("thresholds") or [])
    for part in ("box", "noise"):
        section = model.get(part) or {}
        thresholds += list(section.get("thresholds") or [])
        thresholds += [v for k, v in section.items() if k.startswith("min_")]
    n = sum(t is not None for t in thresholds)
    return n or len(model.get("observables", [])) or 1


def train_section(model: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a fit's ``train`` section (its figures of merit on the train split; none without one)."""
    return {k: float(v) for k, v in (model.get("train") or {}).items() if isinstance(v, int | float)}


def no_task_args(model: Mapping[str, Any]) -> dict[str, Any]:
    """A baseline judged by its task's default settings."""
    return {}
