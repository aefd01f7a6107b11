"""The binned report stage: every evaluated model of one task of a dataset, its study metrics in bins.

Reads each model's ``metrics.json`` (the evaluate stage's, run with ``bins``: its ``binned`` list, the task's
``STUDY_METRICS`` in bins of per-event variables with bootstrap errors, :mod:`detcnn.evaluation.binned`) and
writes ``table`` (``binned.md``: per variable one table, a row per bin and model, best headline first),
``summary`` (``binned.json``: ``{dataset, task, kinds, metrics, variables: [{variable, abs, edges, models:
{model: [bins]}}]}``) and ``figure`` (``binned.png``, :func:`detcnn.report.binned_figures.plot_binned`). Every
model must have been evaluated in the same bins.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detcnn.errors import InputError
from detcnn.io.atomic import write_json, write_text
from detcnn.report.binned_figures import plot_binned, variable_label
from detcnn.report.tables import headline_value, markdown_table, undefined
from detcnn.tasks import get_task

Paths = str | os.PathLike[str]
FIX = "re-run its evaluation with bins configured (the dataset's bins)"


def _load(path: Paths, task: str) -> dict[str, Any]:
    """One model's ``metrics.json`` with its ``binned`` list; an InputError naming the file otherwise."""
    if not Path(path).is_file():
        raise InputError("evaluation file does not exist", path=path, fix="run the evaluate step first")
    summary = json.loads(Path(path).read_text())
    if summary.get("task") != task:
        raise InputError(f"model '{summary.get('model')}' was evaluated for task '{summary.get('task')}', not "
                         f"'{task}'", path=path, fix="report each task separately")  # fmt: skip
    if "binned" not in summary:
        raise InputError(f"model '{summary.get('model')}' was evaluated without bins", path=path, fix=FIX)
    return summary


def _key(entry: Mapping[str, Any]) -> tuple[str, bool, tuple[float, ...]]:
    return entry["variable"], bool(entry["abs"]), tuple(float(e) for e in entry["edges"])


def collect(summaries: Sequence[Mapping[str, Any]], paths: Sequence[Paths]) -> list[dict[str, Any]]:
    """``[{variable, abs, edges, models: {model: [bins]}}]`` in the first model's order of variables, models in
    the order of ``summaries``; an InputError naming the file of a model binned otherwise than the first."""
    reference = [_key(e) for e in summaries[0]["binned"]]
    out = [{"variable": v, "abs": a, "edges": list(e), "models": {}} for v, a, e in reference]
    for summary, path in zip(summaries, paths, strict=True):
        entries = {_key(e): e for e in summary["binned"]}
        if set(entries) != set(reference) or len(entries) != len(summary["binned"]):
            raise InputError(f"model '{summary['model']}' was evaluated in other bins than "
                             f"'{summaries[0]['model']}'", path=path, fix=FIX)  # fmt: skip
        for key, variable in zip(reference, out, strict=True):
            variable["models"][summary["model"]] = entries[key]["bins"]
    return out


def metric_order(variables: Sequence[Mapping[str, Any]], headline: str, prefixes: Sequence[str]) -> list[str]:
    """The study metrics present in any bin: the headline first, then the first of each prefix of
    ``prefixes`` (the task's ``STUDY_METRICS``), then the others in the order first seen."""
    seen = dict.fromkeys(m for v in variables for bins in v["models"].values() for b in bins for m in b["metrics"])
    firsts = [next((m for m in seen if m.startswith(p)), None) for p in prefixes]
    ordered = dict.fromkeys([m for m in (headline, *firsts) if m in seen])
    return [*ordered, *(m for m in seen if m not in ordered)]


def _cell(m: Mapping[str, Any] | None) -> str:
    """``value ± err`` to the error's second significant digit ('-' without the metric, 'n/a' for null)."""
    if m is None:
        return "-"
    value, err = m.get("value"), m.get("err")
    if value is None:
        return f"n/a{undefined(m)}"
    digits = min(max(1 - math.floor(math.log10(err)), 0), 6) if err else 4
    return f"{value:.{digits}f} ± {'n/a' if err is None else f'{err:.{digits}f}'}{undefined(m)}"


def _interval(b: Mapping[str, Any], last: bool) -> str:
    return f"[{b['lo']:g}, {b['hi']:g}{']' if last else ')'}"


def _table(variable: Mapping[str, Any], metrics: Sequence[str]) -> str:
    """One variable's markdown table: a row per bin and model."""
    rows = []
    for i in range(len(variable["edges"]) - 1):
        for model, bins in variable["models"].items():
            b = bins[i]
            row = {"bin": _interval(b, i == len(bins) - 1), "n": str(b["n"]), "model": model}
            rows.append(row | {m: _cell(b["metrics"].get(m)) if b["n"] else "-" for m in metrics})
    title = f"## {variable_label(variable['variable'], variable['abs'])} ({variable['variable']})\n\n"
    return title + markdown_table(rows)


def run(
    *, metrics: Sequence[Paths], table: Paths, summary: Paths, figure: Paths, dataset: str, task: str
) -> dict[str, Any]:
    """The binned report of the models whose evaluations are ``metrics`` (module doc) for ``task`` of
    ``dataset``; returns what ``summary`` holds."""
    module = get_task(task)
    if not metrics:
        raise InputError(f"no evaluation to report for task '{task}' of dataset '{dataset}'",
                         fix="evaluate a model of the task first")  # fmt: skip
    pairs = [(p, _load(p, task)) for p in metrics]
    pairs.sort(key=lambda pair: -headline_value(pair[1]["metrics"], module.HEADLINE))  # best first
    order = [s for _, s in pairs]
    variables = collect(order, [p for p, _ in pairs])
    names = metric_order(variables, module.HEADLINE[0], module.STUDY_METRICS)
    kinds = {s["model"]: s["kind"] for s in order}
    n_boot = next((m["n_bootstrap"] for v in variables for bins in v["models"].values() for b in bins
                   for m in b["metrics"].values()), 0)  # fmt: skip
    text = [
        f"# {dataset}: {task.replace('_', ' ')}, study metrics in bins\n\n",
        f"Uncertainties: the standard deviation over {n_boot} bootstrap resamples of each bin's test events. Working "
        "points keep the thresholds set on the whole validation split (not tuned per bin).\n\n",
        *(_table(v, names) + "\n" for v in variables),
    ]
    write_text(table, "".join(text))
    result = {"dataset": dataset, "task": task, "kinds": kinds, "metrics": names, "variables": variables}
    write_json(summary, result)
    plot_binned(figure, variables, names, kinds)
    return result
