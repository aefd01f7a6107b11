"""Cut-based classifiers on per-event observables, tuned on the train split only. Their working points are
cuts on their score, chosen on the validation split by the evaluate stage, as for every model.

* ``single_cut``: one observable, cut on the side where the signal (class 1) sits (chosen on train). Its
  score is the oriented observable.
* ``rectangular_cuts``: one-sided cuts on several observables at once (the idea of TMVA's MethodCuts,
  Hoecker et al., physics/0703039), as a nested sequence of boxes: a path from the open box (no cut) that
  tightens one observable by one step of its grid of cut values at a time. An event's score is the index
  of the tightest box on the path it passes, so cutting the score at ``k`` selects exactly box ``k``, and
  the ROC curve of the score joins the boxes' ``(eff_b, eff_s)`` points.

  The path is the one of largest area under that ROC curve (the AUC, ties counting 1/2) on train, found
  exactly: the area is a sum of trapezoids, one per step, so it is additive over the steps and the best
  path is a longest path in the directed acyclic graph of the grid boxes (an edge per one-step tightening),
  solved by dynamic programming over the anti-diagonals of the grid (boxes with equal index sums),
  vectorised over each anti-diagonal. A single cut on one observable is such a path (tighten that
  observable to the end first), so the box's train AUC is at least that of every single cut on its grid:
  at least each single cut's exact train AUC for an observable whose grid holds all its values (at most
  ``max_values`` distinct values, e.g. a particle count), and within the discretisation of ``grid``
  quantiles of it otherwise. Each observable's grid ends with a cut that rejects every event, so every
  path ends at the empty box and the areas of all paths are comparable.

  The counts of signal and background passing every box come from one d-dimensional histogram of the
  events over the cut bins, reverse-cumulated along every axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError

SIGNAL = 1
#: The most grid boxes of a rectangular-cut search (about 70 bytes of memory each: 420 MB); 4 observables at the
#: default grid and max_values (130 x 34 x 34 x 34 boxes) stay below.
MAX_BOXES = 6_000_000


def _oriented(values: np.ndarray, direction: int) -> np.ndarray:
    return direction * np.asarray(values, dtype=np.float64)


def cut_direction(values: np.ndarray, y: np.ndarray) -> int:
    """+1 if signal tends to have larger values (AUC of ``values`` >= 0.5), else -1."""
    from detcnn.evaluation.metrics import auc

    return 1 if auc(y == SIGNAL, values) >= 0.5 else -1


def fit_single_cut(observables: Mapping[str, np.ndarray], y: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The side of a cut on ``names[0]`` where the signal sits, from the train split."""
    if len(names) != 1:
        raise ConfigError(f"a single_cut takes one observable, got {list(names)}")
    name = names[0]
    return {"kind": "single_cut", "observables": [name], "direction": cut_direction(observables[name], y)}


def score_single_cut(model: Mapping[str, Any], observables: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-event score of a single cut: the observable, oriented so that signal is high."""
    return _oriented(observables[model["observables"][0]], int(model["direction"]))


# ------------------------------------------------------------------------------------------ rectangular cuts


def cut_values(values: np.ndarray, grid: int, max_values: int) -> np.ndarray:
    """The candidate cuts ``x >= c`` on one oriented observable ``(n_events,)``, ascending, each above its
    lowest value (a cut there keeps every event): every distinct value when it has at most ``max_values``,
    else ``grid`` quantiles of the events (values of events, as ``x >= c`` must be able to keep them)."""
    distinct = np.unique(values)
    if len(distinct) > max_values:
        levels = np.arange(1, grid + 1) / (grid + 1)
        distinct = np.unique(np.quantile(values, levels, method="inverted_cdf"))
    return distinct[distinct > values.min()]


def _box_counts(bins: np.ndarray, shape: tuple[int, ...], weights: np.ndarray) -> np.ndarray:
    """Counts passing each box: ``out[i1..id]`` = sum of weights with ``bins[:, k] >= i_k`` for all k."""
    flat = np.ravel_multi_index(tuple(bins.T), shape)
    hist = np.bincount(flat, weights=weights, minlength=int(np.prod(shape))).reshape(shape)
    for axis in range(len(shape)):
        hist = np.flip(np.cumsum(np.flip(hist, axis), axis=axis), axis)
    return hist


def _digitise(oriented: np.ndarray, cuts: Sequence[np.ndarray]) -> np.ndarray:
    """Bin index per event and observable: the number of cuts <= value (0 = below all)."""
    return np.stack([np.searchsorted(c, oriented[:, k], side="right") for k, c in enumerate(cuts)], axis=1)


def _edge_areas(s: np.ndarray, b: np.ndarray, flat: np.ndarray, step: int) -> np.ndarray:
    """Twice the ROC area [counts^2] of the trapezoid from box ``flat`` to box ``flat + step``."""
    return (b[flat] - b[flat + step]) * (s[flat] + s[flat + step])


def _best_path(sig: np.ndarray, bkg: np.ndarray) -> list[int]:
    """The observable tightened at each step of the path of largest ROC area from the open box (index 0 on
    every axis) to a box rejecting all (the last index of an axis).

    ``sig``, ``bkg``: ``(n_1, ..., n_d)`` signal and background counts passing each box. The best area from
    a box is the largest, over its one-step tightenings, of the step's trapezoid plus the best area from
    there; boxes are solved anti-diagonal by anti-diagonal from the tightest down (one numpy pass each).
    """
    shape = sig.shape
    strides = [int(np.prod(shape[k + 1 :])) for k in range(len(shape))]
    s, b = sig.ravel().astype(np.float64), bkg.ravel().astype(np.float64)  # integer counts: exact sums
    level = np.zeros(shape, dtype=np.int32)
    for k, n in enumerate(shape):
        level += np.arange(n, dtype=np.int32).reshape([n if a == k else 1 for a in range(len(shape))])
    level = level.ravel()
    order = np.argsort(level, kind="stable")
    bounds = np.searchsorted(level[order], np.arange(int(level[-1]) + 2))
    best = np.zeros(len(s))
    choice = np.zeros(len(s), dtype=np.int8)
    for lev in range(int(level[-1]) - 1, -1, -1):  # the corner level[-1] rejects all: its area is 0
        flat = order[bounds[lev] : bounds[lev + 1]]
        value = np.full(len(flat), -1.0)
        for k, (n, stride) in enumerate(zip(shape, strides, strict=True)):
            ok = (flat // stride) % n < n - 1
            cand = np.full(len(flat), -1.0)
            cand[ok] = _edge_areas(s, b, flat[ok], stride) + best[flat[ok] + stride]
            better = cand > value  # ties keep the earlier observable
            value[better], choice[flat[better]] = cand[better], k
        best[flat] = value
    steps, index, flat = [], [0] * len(shape), 0
    while all(i < n - 1 for i, n in zip(index, shape, strict=True)):
        k = int(choice[flat])
        steps.append(k)
        index[k] += 1
        flat += strides[k]
    return steps


def _single_cut_area(counts_s: np.ndarray, counts_b: np.ndarray) -> float:
    """Twice the ROC area [counts^2] of the nested cuts along one axis (counts passing each, open first)."""
    return float(np.sum((counts_b[:-1] - counts_b[1:]) * (counts_s[:-1] + counts_s[1:])))


def _check_finite(oriented: np.ndarray, names: Sequence[str]) -> None:
    bad = ~np.isfinite(oriented)
    if bad.any():
        k = int(np.flatnonzero(bad.any(axis=0))[0])
        raise InputError(f"observable '{names[k]}' has {int(bad[:, k].sum())} NaN/inf values of {len(bad)}",
                         fix="fill or drop those events before the cuts")  # fmt: skip


def _grid_shape(cuts: Sequence[np.ndarray], grid: int, max_values: int) -> tuple[int, ...]:
    """Boxes per axis: no cut, each cut value, reject all; a ConfigError if there are too many in all."""
    shape = tuple(len(c) + 2 for c in cuts)
    if math.prod(shape) > MAX_BOXES:
        raise ConfigError(
            f"{' x '.join(map(str, shape))} = {math.prod(shape):,} grid boxes > {MAX_BOXES:,} "
            f"(grid {grid}, max_values {max_values})", key="baselines.<name>.grid",
            fix="lower grid (quantile cuts per observable) or max_values (below it, a cut per value), or cut on "
                "fewer observables",
        )  # fmt: skip
    return shape


def _selection(names: Sequence[str], directions: Sequence[int], cuts: Sequence[float | None]) -> str:
    """A box's cuts in words, e.g. ``n_constituents <= 28 and ptd >= 0.264`` ("all" without a cut)."""
    words = [f"{n} {'>=' if d > 0 else '<='} {d * c:.6g}" for n, d, c in zip(names, directions, cuts, strict=True)
             if c is not None]  # fmt: skip
    return " and ".join(words) or "all"


def fit_rectangular_cuts(
    observables: Mapping[str, np.ndarray], y: np.ndarray, names: Sequence[str], *, grid: int, max_values: int
) -> dict[str, Any]:
    """The nested boxes of one-sided cuts on ``names`` of largest train AUC (see module doc).

    ``observables``: ``(n_events,)`` arrays; ``y``: ``(n_events,)`` labels, 1 the signal. Cut values per
    observable: each distinct value if it has at most ``max_values``, else ``grid`` quantiles. Returns the
    model: ``directions`` (+1: the signal sits at high values), ``boxes`` (open first, each tighter than the
    one before: ``cuts`` on the oriented observables, None for none, the same in words in ``selection``;
    ``eff_s``, ``eff_b`` on train) and
    ``train_auc_alone`` (the train AUC of the cuts on each observable alone on its grid, a lower bound of the
    boxes' train AUC).
    """
    if len(names) < 2:
        raise ConfigError(f"rectangular_cuts need two or more observables, got {list(names)}")
    directions = [cut_direction(observables[n], y) for n in names]
    oriented = np.stack([_oriented(observables[n], d) for n, d in zip(names, directions, strict=True)], axis=1)
    _check_finite(oriented, names)
    cuts = [cut_values(oriented[:, k], grid, max_values) for k in range(len(names))]
    shape = _grid_shape(cuts, grid, max_values)
    is_sig = y == SIGNAL
    bins = _digitise(oriented, cuts)
    sig, bkg = (_box_counts(bins, shape, w.astype(np.float64)) for w in (is_sig, ~is_sig))
    steps = _best_path(sig, bkg)
    n_s, n_b = max(int(is_sig.sum()), 1), max(int((~is_sig).sum()), 1)
    boxes, index = [], [0] * len(names)
    for k in [None, *steps[:-1]]:  # the last step rejects every event: not a box
        if k is not None:
            index[k] += 1
        box_cuts = [float(cuts[a][i - 1]) if i > 0 else None for a, i in enumerate(index)]
        at = tuple(index)
        boxes.append({"cuts": box_cuts, "selection": _selection(names, directions, box_cuts),
                      "eff_s": float(sig[at]) / n_s, "eff_b": float(bkg[at]) / n_b})  # fmt: skip
    alone = {}
    for k, name in enumerate(names):
        along = tuple(slice(None) if a == k else 0 for a in range(len(names)))
        alone[name] = _single_cut_area(sig[along], bkg[along]) / (2.0 * n_s * n_b)
    return {
        "kind": "rectangular_cuts",
        "observables": list(names),
        "directions": directions,
        "boxes": boxes,
        "train_auc_alone": alone,
        "comment": "an event passes a box if direction_k * observable_k >= cut_k for every k (None: no cut); "
        "the boxes are nested, each inside the one before, and the score is the index of the last box passed",
    }


def passes_box(oriented: np.ndarray, cuts: Sequence[float | None]) -> np.ndarray:
    """Boolean ``(n_events,)``: every oriented observable ``(n_events, d)`` at or above its cut."""
    ok = np.ones(len(oriented), dtype=bool)
    for k, cut in enumerate(cuts):
        if cut is not None:
            ok &= oriented[:, k] >= cut
    return ok


def score_rectangular_cuts(model: Mapping[str, Any], observables: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(n_events,)`` index of the last of the nested ``boxes`` an event passes (0: the open box, passed by
    all; an observable that is NaN fails every cut on it). ValueError if the boxes are not nested."""
    names, dirs, boxes = model["observables"], model["directions"], model["boxes"]
    score = np.full(len(observables[names[0]]), len(boxes) - 1)
    for k, (name, direction) in enumerate(zip(names, dirs, strict=True)):
        cuts = np.array([-np.inf if b["cuts"][k] is None else b["cuts"][k] for b in boxes], dtype=np.float64)
        if np.any(cuts[1:] < cuts[:-1]):
            raise ValueError(f"the boxes' cuts on '{name}' loosen along the list: the boxes are not nested")
        values = np.nan_to_num(_oriented(observables[name], direction), nan=-np.inf)
        score = np.minimum(score, np.searchsorted(cuts, values, side="right") - 1)
    return score.astype(np.float64)
