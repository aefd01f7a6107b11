"""Small hand-made inputs of the report: evaluated models as the report stage loads them (``metrics.json``
content and ``scores.npz`` arrays), figure paths, and independent counts to check the report's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

PNG = b"\x89PNG\r\n\x1a\n"

Evaluation = tuple[dict[str, Any], dict[str, np.ndarray]]


def metric(value: float | None, err: float | None, n_nonfinite: int = 0, n_bootstrap: int = 20) -> dict[str, Any]:
    """One metric as ``metrics.json`` holds it (a JSON null for a non-finite number)."""
    return {"value": value, "err": err, "n_bootstrap": n_bootstrap, "n_nonfinite": n_nonfinite}


def summary(model: str, kind: str, metrics: Mapping[str, Any], n_parameters: int = 10, **extra: Any) -> dict[str, Any]:
    """A ``metrics.json`` of one model; ``metrics`` by name without the ``test/`` prefix."""
    return {"model": model, "kind": kind, "n_parameters": n_parameters, **extra,
            "metrics": {f"test/{k}": v for k, v in metrics.items()}}  # fmt: skip


def evaluated(
    task: ModuleType, model: str, kind: str, truth: np.ndarray, prediction: Mapping[str, np.ndarray],
    attrs: Mapping[str, Any], indices: np.ndarray, y: np.ndarray | None = None,
    settings: Mapping[str, Any] | None = None, family: str = "cuts",
    val: Mapping[str, np.ndarray] | None = None,
) -> Evaluation:  # fmt: skip
    """``(summary, arrays)`` of a model evaluated on every test event, as the evaluate stage writes them: the
    task's own metrics of ``prediction`` against ``truth``; ``y`` the event classes (zeros by default); a
    baseline's ``family``; ``val``: the validation arrays (``val_y``, ``val_score``, ``val_selected``) of a model
    with a score, by default the test events' own (then a working point set on validation is the test's)."""
    n = len(truth)
    metrics = task.metrics(truth, prediction, attrs, settings or {}, indices)
    arrays = {"y": np.zeros(n, np.int64) if y is None else y, "rows": np.arange(n), **prediction}
    if np.ndim(truth) == 1:
        arrays["true"] = truth
    if "score" in prediction:
        own = {"val_y": arrays["y"], **{f"val_{k}": prediction[k] for k in ("score", "selected") if k in prediction}}
        arrays.update(own if val is None else val)
    extra = {"family": family} if kind == "baseline" else {}
    return summary(model, kind, metrics, **extra), arrays


def figure_paths(task: ModuleType, folder: Path) -> dict[str, Path]:
    return {name: folder / f"{name}.png" for name in task.FIGURES}


def written_pngs(paths: Mapping[str, Path]) -> list[str]:
    """The names whose file exists and is a PNG image."""
    return [name for name, path in paths.items() if path.is_file() and path.read_bytes()[:8] == PNG]


def pair_count_auc(is_signal: np.ndarray, score: np.ndarray) -> float:
    """AUC by counting every signal-background pair: a win counts 1, a tie 1/2."""
    is_signal = np.asarray(is_signal, dtype=bool)
    s, b = score[is_signal][:, None], score[~is_signal][None, :]
    return float(np.mean((s > b) + 0.5 * (s == b)))


def scan_efficiency_at_purity(is_signal: np.ndarray, score: np.ndarray, purity: float) -> float:
    """The largest signal efficiency of the selections ``score >= t`` (every score value ``t``) whose purity
    reaches ``purity``, 0 if none does: a plain scan."""
    best = 0.0
    for t in np.unique(score):
        chosen = score >= t
        if np.sum(is_signal & chosen) / np.sum(chosen) >= purity - 1e-12:
            best = max(best, np.sum(is_signal & chosen) / np.sum(is_signal))
    return float(best)
