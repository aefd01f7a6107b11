"""Histograms as a HEP analysis draws them: filled with ``hist`` (boost-histogram), drawn as steps with
``mplhep`` (errors sqrt(N) per bin, under- and overflow counted in the edge bins where asked), on axes in
mplhep's ROOT-like style. Used for the observable distributions and the residuals."""

from __future__ import annotations

from typing import Any

import numpy as np


def step(ax: Any, values: np.ndarray, edges: np.ndarray, label: str, *, density: bool = False,
         clip: bool = False) -> None:  # fmt: skip
    """Draw the histogram of ``values`` ``(n,)`` on the bin ``edges`` ``(n_bins + 1,)`` on ``ax`` as a step
    line with sqrt(N) error bars; ``clip`` puts the values outside the edges into the first and last bin;
    ``density`` normalises the area to one."""
    import hist
    import mplhep

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if clip:
        width = np.diff(edges).min()
        values = np.clip(values, edges[0], edges[-1] - 0.5 * width)
    h = hist.Hist(hist.axis.Variable(edges, underflow=False, overflow=False))
    h.fill(values)
    mplhep.histplot(h, ax=ax, density=density and h.sum() > 0, histtype="step", yerr=True, label=label)


def hep_style() -> Any:
    """A matplotlib style context of mplhep's ROOT style with the report's smaller fonts."""
    import matplotlib.pyplot as plt
    import mplhep

    return plt.style.context([mplhep.style.ROOT, {"font.size": 11, "legend.fontsize": 8, "axes.labelsize": 11,
                                                  "xtick.labelsize": 9, "ytick.labelsize": 9}])  # fmt: skip
