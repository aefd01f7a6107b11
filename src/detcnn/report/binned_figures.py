"""The figure of the binned report: every model's study metrics against a per-event variable.

One row of panels per variable, one column per metric (at most :data:`MAX_COLUMNS`, the caller's order: the
headline first); in each panel every model's value in each bin at the bin centre, its bootstrap error as the
vertical bar and the bin's extent as the horizontal one; networks solid, baselines dashed. A bin without a
value (no events, or a metric undefined there) leaves a gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.kinds import ModelKind
from detcnn.report.plots import pyplot, save_figure

#: Metric columns of the figure (the table has them all).
MAX_COLUMNS = 3


def variable_label(variable: str, absolute: bool) -> str:
    """``truth/jet_y`` -> ``jet_y``; ``|jet_y|`` for the absolute value."""
    name = variable.partition("/")[2] or variable
    return f"|{name}|" if absolute else name


def metric_points(bins: Sequence[Mapping[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(values, errors)`` ``(n_bins,)`` of ``metric`` in ``bins`` (NaN where a bin lacks it or it is null)."""

    def number(m: Mapping[str, Any] | None, key: str) -> float:
        v = None if m is None else m.get(key)
        return float("nan") if v is None else float(v)

    found = [b["metrics"].get(metric) for b in bins]
    return np.array([number(m, "value") for m in found]), np.array([number(m, "err") for m in found])


def _panel(ax: Any, variable: Mapping[str, Any], metric: str, kinds: Mapping[str, str]) -> None:
    """Every model's ``metric`` against the bins of one ``variable`` (``{variable, abs, edges, models}``)."""
    edges = np.asarray(variable["edges"], dtype=np.float64)
    centres, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * np.diff(edges)
    models = list(variable["models"])
    for i, model in enumerate(models):
        values, errors = metric_points(variable["models"][model], metric)
        shift = half * 0.3 * ((i + 0.5) / len(models) - 0.5)  # models side by side within a bin
        dashed = ModelKind(kinds[model]) is ModelKind.BASELINE
        span = (half + shift, half - shift)  # the horizontal bar spans the bin
        ax.errorbar(centres + shift, values, yerr=errors, xerr=span, fmt="s--" if dashed else "o-", capsize=2,
                    markersize=4, lw=1, label=model)  # fmt: skip
    ax.set_xlabel(variable_label(variable["variable"], variable["abs"]))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)


def plot_binned(
    path: str | Path, variables: Sequence[Mapping[str, Any]], metrics: Sequence[str], kinds: Mapping[str, str]
) -> None:
    """Draw the figure of the module doc into ``path``: ``variables`` ``[{variable, abs, edges, models: {model:
    [bins]}}]`` (bins as :func:`detcnn.evaluation.binned.binned_metrics` gives them), the first
    :data:`MAX_COLUMNS` of ``metrics`` as columns, ``kinds`` ``{model: network | baseline}``."""
    plt = pyplot()
    columns = list(metrics[:MAX_COLUMNS]) or [""]
    fig, axes = plt.subplots(len(variables), len(columns), figsize=(4.6 * len(columns), 3.4 * len(variables)),
                             squeeze=False)  # fmt: skip
    for r, variable in enumerate(variables):
        for c, metric in enumerate(columns):
            _panel(axes[r, c], variable, metric, kinds)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
