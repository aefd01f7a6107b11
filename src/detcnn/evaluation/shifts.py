"""The numbers of a systematic-variation study and of a learning curve: which metrics are studied, the shift of a
metric or of a per-event variable's mean between a variation and its reference, and the change of a ranking.

The reference of a variation is its nominal twin: a sample made with the nominal physics, the same size and the
same seeds. For a detector or read-out variation the two hold the same simulated interactions in the same order,
so a shift is best measured PAIRED, event by event: the per-event difference of a variable (:func:`paired_mean_shift`)
or a paired bootstrap of a metric (the evaluate stage's ``shift`` entry), which cancels the fluctuations the two
samples share. Where the events differ (a generator variation, or a threshold that dropped events) the two samples
are independent: a shift ``varied - twin`` has the error ``sqrt(err_twin² + err_var²)`` of the two errors
(:func:`shift`, :func:`mean_shift`). Inside one sample the paired difference of two models (the report's
``paired_<metric>_difference``) is better measured than either model's value; the change of that difference from
the twin to the variation, ``d_var - d_twin``, has the error ``sqrt(err_d_var² + err_d_twin²)``.

A JSON null (a rejection with no background left, a metric without a value) reads as NaN and gives a NaN
shift, which the report writes as null again. Torch-free (numpy only).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from detcnn.evaluation.bootstrap import significance

#: The paired difference of the report's ``summary.json`` that measures a headline metric, where its name is
#: not the metric's: the regression reports call the residuals' standard deviation ('resolution') ``rms``.
PAIRED_ALIASES: dict[str, tuple[str, ...]] = {"resolution": ("rms",), "event_resolution": ("rms",)}
#: The keys of a mean-shift entry (:func:`mean_shift`, :func:`paired_mean_shift`) that hold numbers.
MEAN_KEYS = ("twin", "twin_err", "varied", "varied_err", "shift", "shift_err", "significance", "relative")


def number(x: Any) -> float:
    """``x`` as a float; a JSON null (None) as NaN."""
    return float("nan") if x is None else float(x)


def study_metrics(names: Iterable[str], prefixes: Sequence[str], headline: str) -> list[str]:
    """The metric names (without ``test/``) among ``names`` that start with one of ``prefixes`` (a task's
    ``STUDY_METRICS``): the ``headline`` first, then by prefix, each prefix's in the order of ``names``."""
    names = [n.removeprefix("test/") for n in names]
    chosen = [headline] if headline in names else []
    for prefix in prefixes:
        chosen += [n for n in names if n.startswith(prefix) and n not in chosen]
    return chosen


def shift(reference: Mapping[str, Any], varied: Mapping[str, Any]) -> dict[str, float]:
    """A metric (``{value, err}`` of ``metrics.json``) of a varied sample against an independent ``reference``
    sample: ``{value, err}`` of the varied sample, ``shift = value_var - value_ref`` and ``shift_err =
    sqrt(err_ref² + err_var²)`` (module doc), ``significance = shift / shift_err``."""
    v_ref, e_ref = number(reference["value"]), number(reference["err"])
    v_var, e_var = number(varied["value"]), number(varied["err"])
    d, e = v_var - v_ref, math.hypot(e_ref, e_var)
    return {"value": v_var, "err": e_var, "shift": d, "shift_err": e, "significance": significance(d, e)}


def difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, float]:
    """``a - b`` of two metrics ``{value, err}`` whose errors are taken as independent (``sqrt(err_a² + err_b²)``),
    with ``significance``: the unpaired difference, where no paired one was computed."""
    d, e = number(a["value"]) - number(b["value"]), math.hypot(number(a["err"]), number(b["err"]))
    return {"value": d, "err": e, "significance": significance(d, e)}


def paired_entry(summary: Mapping[str, Any], headline: str) -> dict[str, Any] | None:
    """The report's ``paired_<headline>_difference`` (or its :data:`PAIRED_ALIASES` name) of ``summary``:
    ``{network, baseline, value, err, significance, ...}``; None where the report has none."""
    for name in (headline, *PAIRED_ALIASES.get(headline, ())):
        entry = summary.get(f"paired_{name}_difference")
        if entry is not None:
            return dict(entry)
    return None


def ranking(entry: Mapping[str, Any], higher_is_better: bool) -> dict[str, Any]:
    """A network-minus-baseline difference ``entry`` (``{network, baseline, value, err, ...}``) with
    ``network_ahead`` (the network has the better headline: a positive difference where higher is better, a
    negative one where lower is) and ``significant`` (``|value / err| > 2``); None where the value is NaN."""
    value, err = number(entry["value"]), number(entry["err"])
    sig = significance(value, err)
    ahead = None if math.isnan(value) or value == 0 else (value > 0) == higher_is_better
    return {**entry, "value": value, "err": err, "significance": sig, "network_ahead": ahead,
            "significant": bool(abs(sig) > 2) if not math.isnan(sig) else False}  # fmt: skip


def ranking_holds(reference: Mapping[str, Any] | None, varied: Mapping[str, Any] | None) -> bool | None:
    """Whether the same kind of model (network or baseline) is ahead in both samples; None where either
    ranking is unknown."""
    if not reference or not varied or reference["network_ahead"] is None or varied["network_ahead"] is None:
        return None
    return bool(reference["network_ahead"] == varied["network_ahead"])


def _mean_entry(twin: np.ndarray, varied: np.ndarray, d: float, e: float, paired: bool) -> dict[str, Any]:
    """A mean-shift entry (:data:`MEAN_KEYS`, ``paired``, ``n_twin``, ``n_variation``) of the finite events."""
    m_twin, m_var = float(twin.mean()), float(varied.mean())
    return {"twin": m_twin, "twin_err": float(twin.std(ddof=1) / math.sqrt(len(twin))), "varied": m_var,
            "varied_err": float(varied.std(ddof=1) / math.sqrt(len(varied))), "shift": d, "shift_err": e,
            "significance": significance(d, e), "relative": d / abs(m_twin) if m_twin != 0 else float("nan"),
            "paired": paired, "n_twin": len(twin), "n_variation": len(varied)}  # fmt: skip


def _nan_entry(paired: bool, n_twin: int, n_variation: int) -> dict[str, Any]:
    return {**dict.fromkeys(MEAN_KEYS, float("nan")), "paired": paired, "n_twin": n_twin, "n_variation": n_variation}


def mean_shift(twin: np.ndarray, varied: np.ndarray) -> dict[str, Any]:
    """The mean of a per-event variable in two independent samples (``(n,)`` and ``(m,)``; non-finite events
    left out), each with its standard error ``std(ddof=1) / sqrt(n)``, the ``shift`` (varied - twin) with
    ``shift_err`` (the two standard errors in quadrature), its ``significance``, the ``relative`` shift
    (``shift / |twin mean|``), ``paired: False`` and the finite events ``n_twin``, ``n_variation``. NaN
    numbers for a sample with fewer than two finite events."""
    twin, varied = (np.asarray(a, dtype=np.float64) for a in (twin, varied))
    twin, varied = twin[np.isfinite(twin)], varied[np.isfinite(varied)]
    if len(twin) < 2 or len(varied) < 2:
        return _nan_entry(False, len(twin), len(varied))
    d = float(varied.mean()) - float(twin.mean())
    e = math.hypot(twin.std(ddof=1) / math.sqrt(len(twin)), varied.std(ddof=1) / math.sqrt(len(varied)))
    return _mean_entry(twin, varied, d, float(e), False)


def paired_mean_shift(twin: np.ndarray, varied: np.ndarray) -> dict[str, Any]:
    """:func:`mean_shift` of a per-event variable of the same events in the same order (``(n,)`` each; a pair
    with a non-finite value left out): the ``shift`` is the mean of the per-event differences ``varied - twin``
    and ``shift_err`` their standard error ``std(d, ddof=1) / sqrt(n)``, which cancels the spread the two share
    (``paired: True``). Unrelated events paired this way still give a fair error: the spread of their differences
    holds both spreads. NaN numbers for fewer than two finite pairs."""
    twin, varied = (np.asarray(a, dtype=np.float64) for a in (twin, varied))
    if twin.shape != varied.shape:
        raise ValueError(f"paired samples need the same events: shapes {twin.shape} and {varied.shape}")
    keep = np.isfinite(twin) & np.isfinite(varied)
    twin, varied = twin[keep], varied[keep]
    if len(twin) < 2:
        return _nan_entry(True, len(twin), len(varied))
    d = varied - twin
    return _mean_entry(twin, varied, float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), True)


def pairing(y_twin: np.ndarray, y_varied: np.ndarray, class_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per class (``y`` the events' class indices into ``class_names``, file order) and for all events
    (``"all"``): ``{paired, n_twin, n_variation}``, paired where both files hold the same number of its events
    (module doc: then the same events in the same order)."""
    out = {}
    for name, (a, b) in [*((n, (y_twin == k, y_varied == k)) for k, n in enumerate(class_names)),
                         ("all", (np.ones(len(y_twin), bool), np.ones(len(y_varied), bool)))]:  # fmt: skip
        n_twin, n_var = int(a.sum()), int(b.sum())
        out[name] = {"paired": n_twin == n_var, "n_twin": n_twin, "n_variation": n_var}
    return out


def class_mean_shifts(
    twin: np.ndarray, y_twin: np.ndarray, varied: np.ndarray, y_varied: np.ndarray, class_names: Sequence[str],
    paired: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The mean shift of a per-event variable for each class (``y`` the events' class indices into
    ``class_names``; a class missing from either sample gives NaNs) and for all events (``"all"``):
    :func:`paired_mean_shift` where ``paired[class]['paired']`` (:func:`pairing`), else :func:`mean_shift`."""
    masks = {name: (y_twin == k, y_varied == k) for k, name in enumerate(class_names)}
    masks["all"] = (np.ones(len(y_twin), bool), np.ones(len(y_varied), bool))
    out = {}
    for name, (a, b) in masks.items():
        how = paired_mean_shift if paired[name]["paired"] else mean_shift
        out[name] = how(twin[a], varied[b])
    return out
