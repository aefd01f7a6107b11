"""Baseline kind ``sequential_cuts``: a selection of signal (nu_e CC) events, the way a neutrino analysis builds one.

An ordered list of one-sided cuts on per-event observables, e.g. ``[{"observable": "dense_fraction",
"direction": ">"}, {"observable": "length_cm", "direction": "<"}]``. Direction ``">"`` keeps events with
``observable >= threshold``, ``"<"`` keeps ``observable <= threshold``; ``"auto"`` takes the side where the
signal sits (the ROC AUC of the observable for signal vs the rest >= 0.5 means ``">"``).

Tuning, on the train split only: start with no cut; for each cut in order, scan its threshold over the
quantiles of the observable among the events that pass all the OTHER cuts (plus "no cut" and the current
threshold), and keep the threshold maximising the figure of merit of the whole selection; repeat the
sweep (``n_passes``) until no threshold moves. A threshold only moves if that strictly improves the figure
of merit, so the sweeps converge. Figures of merit (lookup table ``FIGURES_OF_MERIT``), with S and B the
selected signal and background counts and S_tot all signal events:

* ``"eff_x_purity"`` (default): ``(S / S_tot) * (S / (S + B))``, the usual nu_e appearance choice;
* ``"s_over_sqrt_b"``: ``S / sqrt(max(B, 1))``; B is floored at one event so that a cut leaving no train
  background is not infinitely good (it would otherwise pick the tightest cut keeping a single signal event).

The per-event score for ROC curves is the number of cuts passed plus a tie-break ``sum_k pass_k 2^-(k+1)``
(earlier cuts weigh more): more cuts passed always scores higher, and only events passing every cut reach
``n_cuts + 1 - 2^-n_cuts``, the highest score, so ``score >= n_cuts`` is exactly the selection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.baselines.common import count_thresholds, no_task_args, signal_class, train_section
from detcnn.errors import ConfigError, InputError
from detcnn.io.images import ImageSet
from detcnn.kinds import BaselineFamily, ClassCount

NU_E = 0
DIRECTIONS: dict[str, int] = {">": 1, "<": -1}
FigureOfMerit = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def _eff_x_purity(s: np.ndarray, b: np.ndarray, s_total: int) -> np.ndarray:
    selected = np.maximum(s + b, 1)
    return (s / s_total) * np.where(s + b > 0, s / selected, 0.0)


def _s_over_sqrt_b(s: np.ndarray, b: np.ndarray, s_total: int) -> np.ndarray:
    return s / np.sqrt(np.maximum(b, 1.0))


FIGURES_OF_MERIT: dict[str, FigureOfMerit] = {
    "eff_x_purity": _eff_x_purity,
    "s_over_sqrt_b": _s_over_sqrt_b,
}


def _columns(observables: Mapping[str, np.ndarray], names: Sequence[str]) -> np.ndarray:
    """``(n_events, n_cuts)`` float64 observables; InputError for a missing name, NaN or unequal lengths."""
    missing = [n for n in names if n not in observables]
    if missing:
        raise InputError(f"observable(s) {missing} not found; valid: {sorted(observables)}",
                         fix="name observables the rasterise step writes")  # fmt: skip
    cols = [np.asarray(observables[n], dtype=np.float64) for n in names]
    lengths = {n: c.shape for n, c in zip(names, cols, strict=True)}
    if len(set(lengths.values())) != 1 or cols[0].ndim != 1:
        raise InputError(f"observables must be 1-d arrays of one length, got shapes {lengths}")
    for n, c in zip(names, cols, strict=True):
        if np.isnan(c).any():
            raise InputError(f"observable '{n}' has {int(np.isnan(c).sum())} NaN values of {len(c)}",
                             fix="fill or drop those events before the cuts")  # fmt: skip
    return np.stack(cols, axis=1)


def _parse_cuts(cuts: Sequence[Mapping[str, str] | str]) -> tuple[list[str], list[str]]:
    """Names and directions of ``cuts`` (a bare string means ``{"observable": s, "direction": "auto"}``)."""
    if len(cuts) == 0:
        raise ConfigError("a sequential selection needs at least one cut, got an empty list")
    specs = [{"observable": c, "direction": "auto"} if isinstance(c, str) else dict(c) for c in cuts]
    for spec in specs:
        unknown = set(spec) - {"observable", "direction"}
        if unknown or "observable" not in spec:
            raise ConfigError(f"a cut is {{observable, direction}}, got {spec}")
        if spec.setdefault("direction", "auto") not in (*DIRECTIONS, "auto"):
            raise ConfigError(f"cut direction '{spec['direction']}' of '{spec['observable']}' is not one of "
                             f"{[*DIRECTIONS, 'auto']}")  # fmt: skip
    return [s["observable"] for s in specs], [s["direction"] for s in specs]


def _auto_direction(values: np.ndarray, is_signal: np.ndarray) -> str:
    """``">"`` if signal tends to larger values (AUC >= 0.5), else ``"<"``."""
    from detcnn.evaluation.metrics import auc

    if is_signal.all() or not is_signal.any():
        return ">"
    return ">" if auc(is_signal, values) >= 0.5 else "<"


def _count_at_or_above(sorted_values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return len(sorted_values) - np.searchsorted(sorted_values, thresholds, side="left")


def _passes(oriented: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    return oriented >= cuts[None, :]


def _signal_mask(y: np.ndarray, signal_class: int, n_events: int) -> tuple[np.ndarray, int]:
    """``(n_events,)`` bool signal mask of the labels ``y`` and the number of signal events; InputError for a
    shape mismatch or no signal."""
    is_signal = np.asarray(y) == signal_class
    if is_signal.shape != (n_events,):
        raise InputError(f"y has shape {np.shape(y)}, the observables have {n_events} events")
    n_sig = int(is_signal.sum())
    if n_sig == 0:
        raise InputError(f"no signal event (class {signal_class}) among the {n_events} train events",
                         fix="check the labels and signal_class")  # fmt: skip
    return is_signal, n_sig


def _better_threshold(
    oriented: np.ndarray, cuts_at: np.ndarray, k: int, is_signal: np.ndarray, n_sig: int, fom_fn: FigureOfMerit,
    grid: np.ndarray,
) -> float | None:  # fmt: skip
    """The oriented threshold of cut ``k`` that maximises the figure of merit over the quantiles ``grid`` of
    its observable among the events passing the other cuts (plus no cut and the current one), or None if
    none strictly beats the current ``cuts_at[k]``. ``oriented`` ``(n_events, n_cuts)``, ``cuts_at`` ``(n_cuts,)``."""
    passing = _passes(oriented, cuts_at)
    others = np.all(np.delete(passing, k, axis=1), axis=1)
    v = oriented[others, k]
    candidates = np.unique(np.r_[-np.inf, cuts_at[k], np.quantile(v, grid) if len(v) else []])
    s = _count_at_or_above(np.sort(v[is_signal[others]]), candidates)
    b = _count_at_or_above(np.sort(v[~is_signal[others]]), candidates)
    values = fom_fn(s.astype(np.float64), b.astype(np.float64), n_sig)
    best = int(np.argmax(values))  # the loosest of equally good thresholds
    current = values[np.searchsorted(candidates, cuts_at[k])]
    return candidates[best] if values[best] > current + 1e-12 * abs(current) else None


def _tune(
    oriented: np.ndarray, is_signal: np.ndarray, n_sig: int, fom_fn: FigureOfMerit, n_passes: int, n_quantiles: int
) -> tuple[np.ndarray, list[float]]:
    """Sweep the cuts in order up to ``n_passes`` times (see module doc): the oriented thresholds
    ``(n_cuts,)`` (-inf = no cut; keep ``oriented >= threshold``) and the figure of merit after each sweep."""
    cuts_at = np.full(oriented.shape[1], -np.inf)
    grid = np.linspace(0.0, 1.0, n_quantiles + 1)[1:-1]

    def figure(selected: np.ndarray) -> float:
        s = np.sum(selected & is_signal)
        return float(fom_fn(np.array([s]), np.array([np.sum(selected) - s]), n_sig)[0])

    history = []
    for _ in range(n_passes):
        moved = False
        for k in range(len(cuts_at)):
            better = _better_threshold(oriented, cuts_at, k, is_signal, n_sig, fom_fn, grid)
            if better is not None:
                cuts_at[k] = better
                moved = True
        history.append(figure(np.all(_passes(oriented, cuts_at), axis=1)))
        if not moved:
            break
    return cuts_at, history


def _cutflow(
    oriented: np.ndarray, cuts_at: np.ndarray, is_signal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal and selected events ``(n_cuts,)`` and the purity ``(n_cuts,)`` (NaN where nothing is left) after
    each cut in order."""
    cumulative = np.logical_and.accumulate(_passes(oriented, cuts_at), axis=1)  # (n_events, n_cuts)
    s_cum = (cumulative & is_signal[:, None]).sum(axis=0)
    n_cum = cumulative.sum(axis=0)
    return s_cum, n_cum, np.where(n_cum > 0, s_cum / np.maximum(n_cum, 1), np.nan)


def fit_sequential_cuts(
    observables: Mapping[str, np.ndarray],
    y: np.ndarray,
    cuts: Sequence[Mapping[str, str] | str],
    *,
    signal_class: int = NU_E,
    fom: str = "eff_x_purity",
    n_passes: int = 3,
    n_quantiles: int = 100,
) -> dict[str, Any]:
    """Tune the thresholds of an ordered list of ``cuts`` on the train split (see module doc).

    ``observables``: name -> ``(n_events,)``; ``y``: ``(n_events,)`` class labels, signal = ``signal_class``.
    ``n_quantiles``: thresholds scanned per cut and sweep (quantiles ``1/n .. (n-1)/n``).
    Returns a JSON-able dict: ``kind``, ``observables``, ``directions``, ``thresholds`` (None = no cut),
    ``fom``, ``train`` {efficiency, purity, fom, n_signal, n_selected}, ``cutflow`` (cumulative efficiency and
    purity after each cut in order), ``history`` (figure of merit after each sweep).
    """
    if fom not in FIGURES_OF_MERIT:
        raise ConfigError(f"unknown figure of merit '{fom}'; valid: {sorted(FIGURES_OF_MERIT)}")
    if n_passes < 1 or n_quantiles < 2:
        raise ConfigError(f"need n_passes >= 1 and n_quantiles >= 2, got {n_passes} and {n_quantiles}")
    names, directions = _parse_cuts(cuts)
    x = _columns(observables, names)
    is_signal, n_sig = _signal_mask(y, signal_class, len(x))
    directions = [_auto_direction(x[:, k], is_signal) if d == "auto" else d for k, d in enumerate(directions)]
    oriented = x * np.array([DIRECTIONS[d] for d in directions])[None, :]
    cuts_at, history = _tune(oriented, is_signal, n_sig, FIGURES_OF_MERIT[fom], n_passes, n_quantiles)
    s_cum, n_cum, purity = _cutflow(oriented, cuts_at, is_signal)
    thresholds = [None if np.isinf(c) else float(DIRECTIONS[d] * c) for c, d in zip(cuts_at, directions, strict=True)]
    return {
        "kind": "sequential_cuts",
        "observables": names,
        "directions": directions,
        "thresholds": thresholds,
        "fom": fom,
        "signal_class": int(signal_class),
        "train": {
            "efficiency": float(s_cum[-1] / n_sig),
            "purity": float(purity[-1]),
            "fom": history[-1],
            "n_signal": n_sig,
            "n_selected": int(n_cum[-1]),
        },
        "cutflow": [
            {"observable": n, "efficiency": float(s / n_sig), "purity": float(p)}
            for n, s, p in zip(names, s_cum, purity, strict=True)
        ],
        "history": history,
        "comment": "'>' keeps observable >= threshold, '<' keeps observable <= threshold; None: no cut",
    }


def cut_passes(model: Mapping[str, Any], observables: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(n_events, n_cuts)`` bool: whether each event passes each cut of a fitted model."""
    x = _columns(observables, model["observables"])
    sign = np.array([DIRECTIONS[d] for d in model["directions"]])
    # a missing cut (None) passes everything whatever its direction: -inf AFTER orienting, not before
    cuts_at = np.array([-np.inf if t is None else t * s for t, s in zip(model["thresholds"], sign, strict=True)])
    return _passes(x * sign[None, :], cuts_at)


def apply_sequential_cuts(model: Mapping[str, Any], observables: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(n_events,)`` bool: the event passes every cut (is selected as signal)."""
    return np.all(cut_passes(model, observables), axis=1)


def score_sequential_cuts(model: Mapping[str, Any], observables: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(n_events,)`` score: cuts passed + ``sum_k pass_k 2^-(k+1)`` (see module doc); ``>= n_cuts`` = selected."""
    passes = cut_passes(model, observables)
    weights = 2.0 ** -(np.arange(passes.shape[1]) + 1.0)
    return passes.sum(axis=1) + passes @ weights


# ---------------------------------------------------------------------------------------------- baseline kind
NAME = "sequential_cuts"
TASK = "classification"
CLASSES = ClassCount.MULTICLASS
PIXELS = False
FAMILY = BaselineFamily.CUTS
#: Its keys besides ``kind`` and ``datasets`` (JSON-schema properties).
SCHEMA: dict[str, Any] = {
    "observables": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                    "description": "Observables cut on in this order, each on the side where the signal sits "
                                   "(or 'cuts')."},
    "cuts": {"type": "array", "minItems": 1,
             "items": {"type": "object", "required": ["observable"], "additionalProperties": False, "properties": {
                 "observable": {"type": "string", "description": "An observable of the image file."},
                 "direction": {"type": "string", "enum": [*DIRECTIONS, "auto"], "default": "auto",
                               "description": "Keep events above (>) or below (<) the threshold, or the side "
                                              "where the signal sits (auto)."}}},
             "description": "Ordered cuts with directions (instead of 'observables')."},
    "fom": {"type": "string", "enum": list(FIGURES_OF_MERIT), "default": "eff_x_purity",
            "description": "Figure of merit the thresholds maximise on train."},
}  # fmt: skip


def fit(
    images: ImageSet, cfg: Mapping[str, Any], working_points: list[float], val: ImageSet | None = None
) -> dict[str, Any]:
    """Thresholds of ``cfg['cuts']`` (or of ``cfg['observables']`` with automatic directions) on train."""
    cuts = cfg.get("cuts") or [{"observable": o, "direction": "auto"} for o in cfg["observables"]]
    return fit_sequential_cuts(images.observables, images.y, cuts, signal_class=signal_class(images),
                               fom=cfg["fom"])  # fmt: skip


def predict(model: Mapping[str, Any], images: ImageSet) -> dict[str, np.ndarray]:
    """``score`` (cuts passed, with a tie-break) and ``selected`` (passes every cut) ``(N,)``."""
    obs = images.observables
    return {"score": score_sequential_cuts(model, obs), "selected": apply_sequential_cuts(model, obs)}


task_args = no_task_args


fitted_numbers = count_thresholds


train_metrics = train_section
