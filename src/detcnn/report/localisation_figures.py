"""The localisation report's figures: Jaccard index, RMSE and efficiency of every model against the emitter
density, example frames with the true emitters and the localisations, and the super-resolved images of the
structured sample (:func:`render`). Every function draws from arrays already in memory and writes one PNG
atomically; the report logic is :mod:`detcnn.tasks.localisation_report`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.kinds import ModelKind
from detcnn.report.plots import pyplot, save_figure

STRUCTURED = "filaments"  # the structured sample, drawn apart from the uniform densities
RENDER_NM = 10.0  # the super-resolved image's pixel


def _num(value: float | None) -> float:
    """A metric's value or error as a float; NaN for JSON null (a metric without a value)."""
    return float("nan") if value is None else float(value)  # JSON null: a metric without a value


def plot_versus_density(path: Path, summaries: list[dict[str, Any]], densities: Mapping[str, float]) -> None:
    """Jaccard index, RMSE [nm] and efficiency of every model against the samples' densities [um^-2]; the
    structured sample as an open marker at its own density."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    uniform = sorted((d, s) for s, d in densities.items() if s != STRUCTURED and np.isfinite(d))
    for k, summary in enumerate(summaries):
        metrics, style = summary["metrics"], "--" if summary["kind"] == ModelKind.BASELINE else "-"
        for ax, key in zip(axes, ("jaccard", "rmse_nm", "efficiency"), strict=True):
            got = [(d, metrics.get(f"test/{key}_{s}")) for d, s in uniform]
            got = [(d, m) for d, m in got if m is not None]
            xs, ys, errs = [d for d, _ in got], [_num(m["value"]) for _, m in got], [_num(m["err"]) for _, m in got]
            line = ax.errorbar(
                xs, ys, yerr=errs, ls=style, marker="o", capsize=3, label=summary["model"], color=f"C{k}"
            )
            structured = metrics.get(f"test/{key}_{STRUCTURED}")
            if structured is not None and np.isfinite(densities.get(STRUCTURED, np.nan)):
                ax.errorbar([densities[STRUCTURED]], [_num(structured["value"])], yerr=[_num(structured["err"])],
                            marker="s", mfc="none", ls="none", color=line[0].get_color())  # fmt: skip
    for ax, label in zip(axes, ("Jaccard index", "lateral RMSE [nm]", "efficiency E"), strict=True):
        ax.set_xlabel("emitter density [µm$^{-2}$]")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, title=f"open squares: {STRUCTURED}", title_fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_examples(path: Path, test: Any, rows: np.ndarray, y: np.ndarray, locs: Mapping[str, np.ndarray],
                  emitters: np.ndarray, densities: Mapping[str, float], seed: int) -> None:  # fmt: skip
    """Three frames of the densest uniform sample [photons] with the true emitters (circles) and the
    localisations of the best network and the best baseline."""
    names = list(test.class_names)
    uniform = {s: d for s, d in densities.items() if s != STRUCTURED and np.isfinite(d)} or {names[0]: 0.0}
    candidates = np.flatnonzero(y == names.index(max(uniform, key=uniform.get)))
    picks = np.random.default_rng(seed).choice(candidates, size=min(3, len(candidates)), replace=False)
    extent = list(test.attrs.get("extent", [0, 1, 0, 1]))
    plt = pyplot()
    fig, axes = plt.subplots(1, max(len(picks), 1), figsize=(4.5 * max(len(picks), 1), 4.5), squeeze=False)
    for ax, i in zip(axes[0], picks, strict=False):
        ax.imshow(test.X[rows[i], 0], origin="lower", extent=extent, cmap="gray")
        ax.plot(emitters[i, :, 0], emitters[i, :, 1], "o", mfc="none", mec="yellow", ms=9, label="true")
        for k, (name, found) in enumerate(locs.items()):
            ax.plot(found[i, :, 0], found[i, :, 1], "x+"[k % 2], color=f"C{k + 1}", ms=7, label=name)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xlabel("x [nm]")
        ax.set_ylabel("y [nm]")
    if len(picks):
        axes[0][0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path)


def render(points: np.ndarray, size_nm: float, pixel_nm: float = RENDER_NM) -> np.ndarray:
    """A super-resolved image: localisations ``(M, >=2)`` [nm] histogrammed on a ``pixel_nm`` grid and
    smoothed by a Gaussian of one render pixel, ``(n, n)`` with ``n = size_nm / pixel_nm``."""
    from scipy.ndimage import gaussian_filter

    n = round(size_nm / pixel_nm)
    ok = np.all(np.isfinite(points[:, :2]), axis=1)
    image, _, _ = np.histogram2d(points[ok, 1], points[ok, 0], bins=n, range=[[0, size_nm], [0, size_nm]])
    return gaussian_filter(image, 1.0)


def plot_super_resolution(path: Path, test: Any, rows: np.ndarray, y: np.ndarray, locs: Mapping[str, np.ndarray],
                          emitters: np.ndarray) -> None:  # fmt: skip
    """The structured sample's test frames of one structure (the one with the most frames, where the file has
    the truth ``structure``): the plain sum of the frames, the true emitters and the localisations of each model
    rendered at :data:`RENDER_NM` (all frames when there is no such sample)."""
    names = list(test.class_names)
    chosen = y == names.index(STRUCTURED) if STRUCTURED in names else np.ones(len(y), bool)
    structure = test.truth.get("structure")
    if structure is not None and chosen.any():  # one field of view: frames of two structures would overlay
        ids = np.asarray(structure)[rows]
        values, counts = np.unique(ids[chosen], return_counts=True)
        chosen &= ids == values[np.argmax(counts)]
    extent = list(test.attrs.get("extent", [0, 1, 0, 1]))
    size = float(extent[1] - extent[0])
    panels = [("sum of frames (camera pixels)", test.X[rows[chosen], 0].sum(axis=0)),
              ("true emitters", render(emitters[chosen].reshape(-1, emitters.shape[-1]), size))]  # fmt: skip
    panels += [(name, render(found[chosen].reshape(-1, found.shape[-1]), size)) for name, found in locs.items()]
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.4))
    for ax, (title, image) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(image, origin="lower", extent=extent, cmap="inferno", vmax=np.quantile(image, 0.995) or None)
        ax.set_title(f"{title}\n{int(chosen.sum())} frames", fontsize=9)
        ax.set_xlabel("x [nm]")
    np.atleast_1d(axes)[0].set_ylabel("y [nm]")
    fig.tight_layout()
    save_figure(fig, path)
