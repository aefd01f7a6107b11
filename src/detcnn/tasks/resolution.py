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
    network and the best baseline (``paired_<what>_difference``) and the best baseline of each family
    (``versus``: ``{family: {network, baseline, rms, core_width}}``)."""
    from detcnn.kinds import ModelKind
    from detcnn.report import figures as draw
    from detcnn.report.paired import sentence
    from detcnn.report.tables import best_of_families, best_of_kind

    summaries = [s for s, _ in loaded.values()]
    name = f"test/{headline[0]}"
    out: dict[str, Any] = {"models": {m: s["metrics"][name]["value"] for m, (s, _) in loaded.items()}}
    text: list[str] = []
    best_net = best_of_kind(summaries, ModelKind.NETWORK, headline)
    best_cut = best_of_kind(summaries, ModelKind.BASELINE, headline)
    if best_net and best_cut:
        for what, diff in _width_differences(per_event, best_net, best_cut, indices).items():
            out[f"paired_{what}_difference"] = {"network": best_net, "baseline": best_cut, **diff}
            text.append(sentence(f"Resolution ({what} of (pred - true) / true)", best_net, best_cut, diff))
        out["versus"] = {}
        for family, baseline in best_of_families(summaries, headline).items():
            diffs = _width_differences(per_event, best_net, baseline, indices)
            out["versus"][family] = {"network": best_net, "baseline": baseline, **diffs}
            if baseline == best_cut:
                continue  # said above
            what = f"Resolution (core_width) against the best {family.replace('_', ' ')} baseline"
            text.append(sentence(what, best_net, baseline, diffs["core_width"]))
    draw.plot_residuals(figures["residuals"], per_event)
    draw.plot_resolution_vs_energy(figures["resolution_vs_energy"], per_event)
    examples(figures["examples"])
    return out, text


def _width_differences(per_event: PerEvent, a: str, b: str, indices: np.ndarray) -> dict[str, dict[str, float | int]]:
    """``{rms, core_width}``: model ``a`` minus model ``b``, paired over the resamples ``indices``."""
    from detcnn.evaluation.bootstrap import paired

    n = len(per_event[a][1])
    out = {}
    for what in ("rms", "core_width"):

        def width(model: str, what: str = what) -> Callable[[np.ndarray], float]:
            pred, true = per_event[model]
            return lambda rows: resolution(pred[rows], true[rows])[what]

        out[what] = paired(width(a), width(b), n, indices).as_dict()
    return out


def residual_axes(ax: Any, rel: np.ndarray, label: str) -> None:
    """A step histogram of relative residuals clipped to [-1, 1] on ``ax`` (``hist`` + ``mplhep``)."""
    from detcnn.report.histograms import step

    step(ax, rel, np.linspace(-1, 1, 81), label, clip=True)
    ax.set_xlabel("(predicted - true) / true")
    ax.set_ylabel("events")
    ax.legend(fontsize=8)
