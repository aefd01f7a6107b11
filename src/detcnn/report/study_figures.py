"""The figures of the variation and learning-curve reports, drawn from their summaries (the dictionaries
:func:`detcnn.stages.variations.run` and :func:`detcnn.stages.learning_curve.run` return): networks are drawn
with filled markers and solid lines, baselines with open markers and dashed lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.kinds import ModelKind
from detcnn.report.plots import pyplot, save_figure

#: At most this many study metrics get a panel of their own (the headline first).
MAX_PANELS = 3


def _value(m: Mapping[str, Any] | None, key: str = "value") -> float:
    """A number of a summary entry; NaN (not drawn) where the entry or the number is missing."""
    x = None if m is None else m.get(key)
    return float("nan") if x is None else float(x)


def _style(network: bool) -> dict[str, Any]:
    return {"fmt": "o" if network else "s", "mfc": None if network else "none", "capsize": 3, "ls": "none"}


def _metric_axes(ax: Any, result: Mapping[str, Any], metric: str, samples: Sequence[str]) -> None:
    """One study metric on every sample (x: the nominal test split faded, the twin, the variations) for every
    model, with its bootstrap error."""
    twin = result["twin"]["models"]
    models = [m for m in twin if metric in twin[m]]
    x = np.arange(len(samples))
    for i, model in enumerate(models):
        entries = [twin[model].get(metric)]
        entries += [v["models"].get(model, {}).get(metric) for v in result["variations"].values()]
        style = _style(ModelKind(result["kinds"][model]) is ModelKind.NETWORK)
        offset = (i - (len(models) - 1) / 2) * 0.06
        drawn = ax.errorbar(x[1:] + offset, [_value(e) for e in entries], yerr=[_value(e, "err") for e in entries],
                            label=model, **style)  # fmt: skip
        nominal = result["nominal"]["models"].get(model, {}).get(metric)
        ax.errorbar([x[0] + offset], [_value(nominal)], yerr=[_value(nominal, "err")], color=drawn[0].get_color(),
                    alpha=0.35, **style)  # fmt: skip
    ax.set_xticks(x, samples, rotation=30, ha="right")
    ax.get_xticklabels()[0].set_alpha(0.5)
    ax.set_ylabel(f"test {metric}")
    ax.grid(alpha=0.3)


def _shift_axes(ax: Any, result: Mapping[str, Any], metric: str) -> None:
    """The shift variation - twin of ``metric`` per variation (x) and model, ± its error: a solid error bar where
    the shift is paired, a dashed one where not; a zero line."""
    names = list(result["variations"])
    models = list(result["twin"]["models"])
    x = np.arange(len(names))
    for i, model in enumerate(models):
        entries = [v["models"].get(model, {}).get(metric) for v in result["variations"].values()]
        offset = (i - (len(models) - 1) / 2) * 0.06
        color = None
        for paired in (True, False):
            chosen = [e if e is not None and bool(e.get("paired")) == paired else None for e in entries]
            drawn = ax.errorbar(x + offset, [_value(e, "shift") for e in chosen], color=color,
                                yerr=[_value(e, "shift_err") for e in chosen],
                                **_style(ModelKind(result["kinds"][model]) is ModelKind.NETWORK))  # fmt: skip
            color = drawn[0].get_color()
            if not paired:
                drawn[2][0].set_linestyle("--")
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(f"shift of test {metric} (variation - twin)")
    ax.set_title("solid error: paired, dashed: unpaired", fontsize=9)
    ax.grid(alpha=0.3)


def _ranking_axes(ax: Any, result: Mapping[str, Any], samples: Sequence[str]) -> None:
    """The best network minus the best baseline in headline on every sample (the nominal test split faded), with
    its error (filled: paired, open: unpaired) and a zero line."""
    rankings = [result["nominal"]["ranking"], result["twin"]["ranking"]]
    rankings += [v["ranking"]["variation"] for v in result["variations"].values()]
    x = np.arange(len(samples))
    for paired in (True, False):  # a paired difference filled, an unpaired one open
        chosen = [r if r is not None and bool(r.get("paired")) == paired else None for r in rankings]
        label = "paired" if paired else "unpaired"
        for part, alpha, name in ((slice(0, 1), 0.35, None), (slice(1, None), 1.0, label)):
            ax.errorbar(x[part], [_value(r) for r in chosen[part]], yerr=[_value(r, "err") for r in chosen[part]],
                        fmt="D", color="k", capsize=3, ls="none", mfc=None if paired else "none", alpha=alpha,
                        label=name)  # fmt: skip
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    ax.legend(fontsize=7)
    h = result["headline"]
    ax.set_xticks(x, samples, rotation=30, ha="right")
    ax.get_xticklabels()[0].set_alpha(0.5)
    ax.set_ylabel(f"network - baseline, {h['metric']}")
    ax.set_title(f"best network - best baseline ({'higher' if h['higher_is_better'] else 'lower'} is better)",
                 fontsize=9)  # fmt: skip
    ax.grid(alpha=0.3)


def plot_variations(path: str | Path, result: Mapping[str, Any]) -> None:
    """One panel per study metric (at most :data:`MAX_PANELS`, headline first): x the samples (the nominal test
    split faded, the twin, the variations), one marker series per model; a panel of the headline's shift per
    variation; and one of the network-minus-baseline headline difference per sample."""
    plt = pyplot()
    samples = ["nominal test split", "nominal twin", *result["variations"]]
    metrics = list(result["metrics"])[:MAX_PANELS]
    n = len(metrics) + (2 if metrics else 1)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=False):
        _metric_axes(ax, result, metric, samples)
    if metrics:
        axes[0][0].legend(fontsize=7)
        _shift_axes(axes[0][-2], result, metrics[0])
    _ranking_axes(axes[0][-1], result, samples)
    fig.tight_layout()
    save_figure(fig, path)


def plot_learning_curve(path: str | Path, result: Mapping[str, Any], metrics: Sequence[str]) -> None:
    """Each of ``metrics`` (one panel each) against the number of training events (log axis), one series per
    model with its test bootstrap errors; a dotted line at the whole train split."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for model, m in result["models"].items():
            points = [p for p in m["points"] if metric in p["metrics"]]
            if not points:
                continue
            network = ModelKind(m["kind"]) is ModelKind.NETWORK
            ax.errorbar([p["train_events"] for p in points], [_value(p["metrics"][metric]) for p in points],
                        yerr=[_value(p["metrics"][metric], "err") for p in points], fmt="-o" if network else "--s",
                        mfc=None if network else "none", capsize=3, label=model)  # fmt: skip
        ax.axvline(result["train_events"], color="grey", ls=":", lw=1, label="whole train split")
        ax.set_xscale("log")
        ax.set_xlabel("training events")
        ax.set_ylabel(f"test {metric}")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
