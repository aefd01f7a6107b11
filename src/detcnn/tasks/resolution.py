"""What the two regression tasks share: their metrics are the bias and width of the relative residual
``(pred - true) / true`` of a per-event quantity (:func:`detcnn.evaluation.regression.resolution`), and their
reports compare those residuals model against model. Not a task itself (it is not in the task table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.evaluation.regression import resolution

PerEvent = dict[str, tuple[np.ndarray, np.ndarray]]  # model -> (predicted, true) per event, float64


def resolution_values(pred: np.ndarray, true: np.ndarray, prefix: str = "") -> dict[str, float]:
    """``{prefix}resolution`` (standard deviation of r: the ``rms`` of
    :func:`~detcnn.evaluation.regression.resolution`), ``{prefix}core_width`` (half the central 68 %),
    ``{prefix}bias`` (median of r) of ``r = (pred - true) / true``."""
    r = resolution(pred, true)
    return {f"{prefix}resolution": r["rms"], f"{prefix}core_width": r["core_width"], f"{prefix}bias": r["bias"]}


def resolution_report(
    per_event: PerEvent, loaded: Mapping[str, tuple[dict[str, Any], dict[str, np.ndarray]]],
    figures: Mapping[str, Path], headline: tuple[str, bool], indices: np.ndarray,
    examples: Callable[[Path], None],
) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """Residual overlays, bias and core width against the true value, the task's examples (``examples`` draws
    them into the given path), and the paired standard-deviation (``rms``) and core-width differences of the best
    network and the best baseline."""
    from detcnn.evaluation.bootstrap import paired
    from detcnn.kinds import ModelKind
    from detcnn.report import figures as draw
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_kind

    summaries = [s for s, _ in loaded.values()]
    name = f"test/{headline[0]}"
    out: dict[str, Any] = {"models": {m: s["metrics"][name]["value"] for m, (s, _) in loaded.items()}}
    text: list[str] = []
    best_net = best_of_kind(summaries, ModelKind.NETWORK, headline)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, headline)
    if best_net and best_cut:
        n = len(per_event[best_net][1])
        for what in ("rms", "core_width"):

            def width(model: str, what: str = what) -> Callable[[np.ndarray], float]:
                pred, true = per_event[model]
                return lambda rows: resolution(pred[rows], true[rows])[what]

            diff = paired(width(best_net), width(best_cut), n, indices).as_dict()
            out[f"paired_{what}_difference"] = {"network": best_net, "baseline": best_cut, **diff}
            text.append(sentence(f"Resolution ({what} of (pred - true) / true)", best_net, best_cut, diff))
    draw.plot_residuals(figures["residuals"], per_event)
    draw.plot_resolution_vs_energy(figures["resolution_vs_energy"], per_event)
    examples(figures["examples"])
    return out, text


def residual_axes(ax: Any, rel: np.ndarray, label: str) -> None:
    """A step histogram of relative residuals clipped to [-1, 1] on ``ax`` (``hist`` + ``mplhep``)."""
    from detcnn.report.histograms import step

    step(ax, rel, np.linspace(-1, 1, 81), label, clip=True)
    ax.set_xlabel("(predicted - true) / true")
    ax.set_ylabel("events")
    ax.legend(fontsize=8)
