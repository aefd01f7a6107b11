"""The comparison tables of a report, for any task: one row per evaluated model, best headline first.

A task says which metric heads its table and whether higher is better (``HEADLINE``), and which metrics
go into a second, per-class table (``PER_CLASS`` prefixes); nothing here knows a task by name.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from detcnn.kinds import BaselineFamily, ModelKind

Headline = tuple[str, bool]  # (metric name without the "test/" prefix, higher is better)


def headline_value(metrics: Mapping[str, Mapping[str, float]], headline: Headline) -> float:
    """The headline value, sign-flipped where lower is better (so larger is always better); a model without
    one (NaN, e.g. a localiser that found nothing) ranks last."""
    name, higher = headline
    value = metrics[f"test/{name}"]["value"]
    if value is None or not math.isfinite(value):
        return -math.inf
    return value if higher else -value


def ranked(summaries: Sequence[dict[str, Any]], headline: Headline) -> list[dict[str, Any]]:
    """Evaluation summaries (``metrics.json``), best headline first."""
    return sorted(summaries, key=lambda s: -headline_value(s["metrics"], headline))


def best_of_kind(summaries: Sequence[dict[str, Any]], kind: ModelKind, headline: Headline) -> str | None:
    """The name of the best model of ``kind`` (a network or a baseline), None when there is none."""
    chosen = [s for s in ranked(summaries, headline) if ModelKind(s["kind"]) is kind]
    return chosen[0]["model"] if chosen else None


def best_of_families(summaries: Sequence[dict[str, Any]], headline: Headline) -> dict[str, str]:
    """The best baseline of each :class:`~detcnn.kinds.BaselineFamily` among ``summaries`` (``family`` of a
    baseline's ``metrics.json``), in the enum's order: ``{family: model}``, only families present."""
    best: dict[str, str] = {}
    for s in ranked(summaries, headline):
        if ModelKind(s["kind"]) is ModelKind.BASELINE and s.get("family"):
            best.setdefault(BaselineFamily(s["family"]).value, s["model"])
    return {f.value: best[f.value] for f in BaselineFamily if f.value in best}


def undefined(m: Mapping[str, Any]) -> str:
    """`` (k of n resamples undefined)`` where ``k = m['n_nonfinite'] > 0`` bootstrap resamples gave no finite
    value (left out of the error), else the empty string (so tables of runs without such resamples stay as
    they were)."""
    k = m.get("n_nonfinite") or 0
    return f" ({k} of {m.get('n_bootstrap')} resamples undefined)" if k > 0 else ""


def _fmt(m: Mapping[str, float | None] | None, digits: int, null: str = "n/a") -> str:
    """``value ± err``; a JSON null value prints as ``null`` ('inf' for a rejection with no background left,
    'n/a' for a purity with nothing selected), a null error as 'n/a'; then :func:`undefined`."""
    if m is None:
        return "-"
    value = null if m["value"] is None else f"{m['value']:.{digits}f}"
    err = "n/a" if m["err"] is None else f"{m['err']:.{digits}f}"
    return f"{value} ± {err}{undefined(m)}"


def _column(name: str) -> str:
    """A readable column header for a metric name."""
    short = name.removeprefix("test/")
    if short.startswith("rej_at_"):
        return f"1/eps_b at eps_s={short.removeprefix('rej_at_')}"
    return short


def metric_columns(
    summaries: Sequence[dict[str, Any]], headline: Headline, per_class: Sequence[str] = (), which: bool | None = None
) -> list[str]:
    """Every metric any model has, the headline first, in first-seen order. ``which`` True keeps only the
    metrics whose name starts with a ``per_class`` prefix (after ``test/``), False drops them, None keeps all."""
    seen: dict[str, None] = {f"test/{headline[0]}": None}
    for s in summaries:
        seen.update(dict.fromkeys(s["metrics"]))
    if which is None:
        return list(seen)
    if not per_class:
        return [] if which else list(seen)
    prefixes = tuple(f"test/{p}" for p in per_class)
    return [m for m in seen if m.startswith(prefixes) == which]


def comparison_rows(
    summaries: Sequence[dict[str, Any]], headline: Headline, per_class: Sequence[str] = (), second: bool = False
) -> list[dict[str, str]]:
    """One row per model, best headline first; '-' where a model lacks a metric. ``second``: the per-class
    table (metrics starting with a ``per_class`` prefix, models that have them) instead of the main one."""
    rows = []
    columns = metric_columns(summaries, headline, per_class, which=second)
    for s in ranked(summaries, headline):
        m = s["metrics"]
        if second and not any(c in m for c in columns):
            continue
        row = {"model": s["model"]} if second else {"model": s["model"], "kind": s["kind"],
                                                     "parameters": str(s["n_parameters"])}  # fmt: skip
        for name in columns:
            rejection = name.startswith("test/rej_at_")
            row[_column(name)] = _fmt(m.get(name), 2 if rejection else 4, "inf" if rejection else "n/a")
        if not second:
            per_epoch, speed = s.get("train_seconds_per_epoch"), s.get("inference_images_per_s")
            row["train s/epoch"] = f"{per_epoch:.1f}" if per_epoch else "-"
            row["inference images/s"] = f"{speed:,.0f}" if speed else "-"
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[dict[str, str]]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r[h] for h in header) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def csv_table(summaries: Sequence[dict[str, Any]], headline: Headline) -> str:
    """Numbers, not formatted strings: value and error columns per metric (empty where a model lacks one)."""
    buf = io.StringIO()
    names = metric_columns(summaries, headline)
    fields = ["model", "kind", "parameters"] + [f"{m}{suffix}" for m in names for suffix in ("", "_err")]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for s in ranked(summaries, headline):
        row: dict[str, Any] = {"model": s["model"], "kind": s["kind"], "parameters": s["n_parameters"]}
        for m in names:
            if m in s["metrics"]:
                row[m], row[f"{m}_err"] = s["metrics"][m]["value"], s["metrics"][m]["err"]
        writer.writerow(row)
    return buf.getvalue()
