"""Report figures beyond ROC curves, mean images and observables: example events, confusion matrices, residuals and
resolution against energy. Every function draws from arrays already in memory and writes one PNG atomically.
Examples are drawn with a generator seeded from the config, so the same run shows the same events."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.io.images import ImageSet
from detcnn.report.plots import plot_confusion, pyplot, save_figure

PIXEL_COLOURS = ["white", "tab:blue", "tab:red"]  # empty, track, shower


def _view_images(test: ImageSet) -> tuple[list[str], int]:
    """The views of the images (their channels when they have none) and the channels per view."""
    views = list(test.attrs.get("views") or test.channels)
    return views, max(len(test.channels) // max(len(views), 1), 1)


def _pick(rng: np.random.Generator, candidates: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` of ``candidates`` drawn without replacement by ``rng``, sorted."""
    if not len(candidates):
        return candidates
    return np.sort(rng.choice(candidates, size=min(k, len(candidates)), replace=False))


def _show(ax: Any, img: np.ndarray, title: str, extent: list[float] | None = None, cmap: str = "viridis") -> None:
    """``img`` ``(H, W)`` on ``ax``, its empty (zero) pixels left blank, without ticks."""
    shown = np.ma.masked_where(img == 0, img)
    ax.imshow(shown, origin="lower", cmap=cmap, extent=extent, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_examples(
    path: Path, test: ImageSet, predictions: Mapping[str, Mapping[str, np.ndarray]], seed: int, per_class: int = 2
) -> None:
    """``per_class`` random test events of every class, one panel per view (the first channel of each view),
    titled with the class and, when a network is given, its probability for the true class."""
    plt = pyplot()
    rng = np.random.default_rng([seed, 5])
    names = test.class_names
    views, per_view = _view_images(test)
    events = [(c, i) for c in range(len(names)) for i in _pick(rng, np.flatnonzero(test.y == c), per_class)]
    fig, axes = plt.subplots(len(events), len(views), figsize=(2.6 * len(views), 2.4 * len(events)), squeeze=False)
    model, arrays = next(iter(predictions.items()), (None, None))
    row_of = {int(r): k for k, r in enumerate(arrays["rows"])} if arrays is not None else {}
    for r, (c, i) in enumerate(events):
        note = ""
        if arrays is not None and int(i) in row_of:
            note = f", {model}: P={arrays['proba'][row_of[int(i)], c]:.2f}"
        for v, view in enumerate(views):
            _show(axes[r, v], test.X[i, v * per_view], f"{names[c]} #{i}: {view}{note}")
    fig.tight_layout()
    save_figure(fig, path)


def plot_confusions(
    path: Path, arrays: Mapping[str, Mapping[str, np.ndarray]], y: np.ndarray, names: list[str], signal: int
) -> None:
    """Row-normalised confusion matrix of every network (arg max), and of every cut selection as
    true class against selected-as-signal or not."""
    from detcnn.evaluation.multiclass import confusion_matrix

    panels = []
    for model, a in arrays.items():
        if "proba" in a:
            panels.append((model, confusion_matrix(y, a["proba"].argmax(axis=1), len(names)), names, "predicted"))
        elif "selected" in a:
            sel = a["selected"].astype(int)
            conf = np.stack([np.bincount(sel[y == c], minlength=2) for c in range(len(names))])
            panels.append((model, conf, names, f"selected as {names[signal]}"))
    plt = pyplot()
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(4.4 * max(len(panels), 1), 4), squeeze=False)
    for ax, (model, conf, labels, xlabel) in zip(axes[0], panels, strict=False):
        if conf.shape[1] == 2 and len(labels) != 2:
            frac = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
            ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
            for i in range(conf.shape[0]):
                for j in range(2):
                    ax.text(j, i, f"{frac[i, j]:.2f}", ha="center", va="center")
            ax.set_xticks([0, 1], ["no", "yes"])
            ax.set_yticks(range(len(labels)), labels)
            ax.set_xlabel(xlabel)
            ax.set_title(model, fontsize=9)
        else:
            plot_confusion(path, model, conf, labels, xlabel=xlabel, ax=ax)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pixel_confusions(path: Path, confusions: Mapping[str, np.ndarray], labels: list[str]) -> None:
    """Row-normalised pixel confusion matrix of every model, side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(confusions), figsize=(4.4 * len(confusions), 4), squeeze=False)
    for ax, (model, conf) in zip(axes[0], confusions.items(), strict=True):
        plot_confusion(path, model, conf, labels, ax=ax)
    fig.tight_layout()
    save_figure(fig, path)


def _label_image(ax: Any, labels: np.ndarray, title: str) -> None:
    """Pixel classes ``(H, W)`` on ``ax`` in :data:`PIXEL_COLOURS`, without ticks."""
    from matplotlib.colors import ListedColormap

    ax.imshow(labels, origin="lower", cmap=ListedColormap(PIXEL_COLOURS), vmin=0, vmax=2, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_segmentation_examples(
    path: Path, test: ImageSet, predictions: Mapping[str, np.ndarray], seed: int, n_events: int = 3
) -> None:
    """Input charge, truth and every model's prediction (blue track, red shower) of a few test events,
    the first view of each."""
    plt = pyplot()
    rng = np.random.default_rng([seed, 6])
    events = _pick(rng, np.arange(len(test.y)), n_events)
    cols = 2 + len(predictions)
    fig, axes = plt.subplots(len(events), cols, figsize=(2.6 * cols, 2.5 * len(events)), squeeze=False)
    for r, i in enumerate(events):
        cls = test.class_names[test.y[i]]
        _show(axes[r, 0], test.X[i, 0], f"#{i} ({cls}): charge")
        _label_image(axes[r, 1], test.y_pix[i, 0], "truth")
        for c, (model, pred) in enumerate(predictions.items()):
            _label_image(axes[r, 2 + c], pred[i, 0], model)
    fig.tight_layout()
    save_figure(fig, path)


def plot_residuals(path: Path, per_event: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Relative residuals (pred - true) / true of every model, overlaid."""
    from detcnn.evaluation.regression import resolution
    from detcnn.report.histograms import hep_style, step

    plt = pyplot()
    with hep_style():
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for model, (pred, true) in per_event.items():
            r = resolution(pred, true)
            step(ax, (pred - true) / true, np.linspace(-1, 1, 101), clip=True,
                 label=f"{model}: core {r['core_width']:.3f}, std {r['rms']:.3f}, bias {r['bias']:+.3f}")  # fmt: skip
        ax.set_xlabel("(predicted - true) / true (clipped to [-1, 1])")
        ax.set_ylabel("events")
        ax.legend()
        fig.tight_layout()
        save_figure(fig, path)


def plot_resolution_vs_energy(path: Path, per_event: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Bias (median) and core width of (pred - true) / true in bins of the true value, every model."""
    from detcnn.evaluation.regression import binned_resolution

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    true_all = np.concatenate([t for _, t in per_event.values()])
    edges = np.quantile(true_all, np.linspace(0, 1, 11))
    for model, (pred, true) in per_event.items():
        r = binned_resolution(pred, true, edges)
        a.errorbar(r["centre"], r["bias"], yerr=r["bias_err"], fmt="o-", capsize=2, label=model)
        b.errorbar(r["centre"], r["core_width"], yerr=r["core_width_err"], fmt="o-", capsize=2, label=model)
    for ax, label in ((a, "bias (median)"), (b, "core width (half central 68%)")):
        ax.set_xlabel("true value")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    a.axhline(0, color="k", lw=0.8)
    fig.tight_layout()
    save_figure(fig, path)


def _regression_events(loaded: Mapping[str, tuple[dict, dict[str, np.ndarray]]], seed: int) -> tuple[dict, np.ndarray]:
    """The first model's arrays and three of its evaluated events (positions in its rows), drawn from ``seed``."""
    rng = np.random.default_rng([seed, 7])
    first = next(iter(loaded.values()))[1]
    return first, _pick(rng, np.arange(len(first["rows"])), 3)


def plot_energy_regression_examples(
    path: Path, test: ImageSet, loaded: Mapping[str, tuple[dict, dict[str, np.ndarray]]], seed: int
) -> None:
    """A few events (every view) titled with the true and every model's predicted energy [GeV]."""
    plt = pyplot()
    views, per_view = _view_images(test)
    first, events = _regression_events(loaded, seed)
    fig, axes = plt.subplots(len(events), len(views), figsize=(3 * len(views), 2.6 * len(events)), squeeze=False)
    for r, k in enumerate(events):
        i = int(first["rows"][k])
        guesses = ", ".join(f"{m} {a['pred'][k]:.2f}" for m, (_, a) in loaded.items())
        for v, view in enumerate(views):
            _show(axes[r, v], test.X[i, v * per_view], f"{view}: true {first['true'][k]:.2f} GeV\n{guesses}")
    fig.tight_layout()
    save_figure(fig, path)


def plot_pixel_regression_examples(
    path: Path, test: ImageSet, loaded: Mapping[str, tuple[dict, dict[str, np.ndarray]]], seed: int
) -> None:
    """Input charge, true deposited energy and each model's predicted energy per pixel [MeV], first view."""
    plt = pyplot()
    first, events = _regression_events(loaded, seed)
    cols = 2 + len(loaded)
    fig, axes = plt.subplots(len(events), cols, figsize=(2.6 * cols, 2.5 * len(events)), squeeze=False)
    for r, k in enumerate(events):
        i = int(first["rows"][k])
        _show(axes[r, 0], test.X[i, 0], f"#{i}: charge [ke-]")
        _show(axes[r, 1], test.e_pix[i, 0], "true energy [MeV]", cmap="magma")
        for c, (m, (_, a)) in enumerate(loaded.items()):
            _show(axes[r, 2 + c], np.where(a["pred"][k, 0] > 0.05, a["pred"][k, 0], 0.0), m, cmap="magma")
    fig.tight_layout()
    save_figure(fig, path)
