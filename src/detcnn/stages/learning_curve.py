"""The learning-curve stage: each model's test metrics against the number of training events.

Each point is one model retrained on a nested seeded subset of the train split (or, the last point, the whole
split: the nominal evaluation) and evaluated on the nominal test split. Writes:

- ``table`` (``learning_curve.md``): per model and training-set size, each study metric (the task's
  ``STUDY_METRICS``, headline first) with its test bootstrap error; one training per point, so the spread of
  retrainings is not in the errors, and the table says so;
- ``summary`` (``learning_curve.json``): the same numbers (:func:`run` returns them);
- ``figure`` (``learning_curve.png``): the headline and the first working-point metric (a study metric that is a
  key of a model's ``working_points``) against the training events, log axis.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.shifts import study_metrics
from detcnn.io.atomic import read_json, write_json, write_text
from detcnn.io.images import ImageFile
from detcnn.tasks import get_task

Paths = str | os.PathLike[str]
Point = tuple[str, int | None, Paths]  # (model, training events of the subset or None: the whole split, metrics.json)


def _read_point(model: str, size: int | None, metrics: Paths, task: str, full: int, train: Paths) -> dict[str, Any]:
    """One point's ``metrics.json``, checked: of ``task`` and of ``model`` (``<model>_n<size>`` for a subset's: the
    name of its training and evaluation runs), from a subset no larger than the split (``full`` events, file
    ``train``)."""
    info = read_json(metrics, "evaluation metrics")
    names = {model} if size is None else {model, f"{model}_n{size}"}
    if info.get("task") != task or info.get("model") not in names:
        raise InputError(f"the evaluation is of model '{info.get('model')}' for task '{info.get('task')}', not "
                         f"'{model}' for '{task}'", path=metrics,
                         fix="give each point its own model's metrics.json")  # fmt: skip
    if size is not None and not 0 < size <= full:
        raise InputError(f"a subset of {size} training events of a train split of {full}", path=train,
                         fix="choose learning_curve.sizes between 1 and the train split's events")  # fmt: skip
    return info


def _figure_metrics(metrics: Sequence[str], infos: Sequence[dict[str, Any]]) -> list[str]:
    """The headline (``metrics[0]``) and the first other study metric that is a working point of some model."""
    points = {k for info in infos for k in info.get("working_points") or {}}
    return metrics[:1] + [m for m in metrics[1:] if m in points][:1]


def run(
    *, dataset: str, task: str, points: Sequence[Point], train: Paths, table: Paths, summary: Paths, figure: Paths,
) -> dict[str, Any]:  # fmt: skip
    """The learning curve of ``task`` on ``dataset`` from ``points`` (``(model, n, metrics.json)``: ``n`` the
    training events of the subset, None for the whole train split, whose number of events is read from the
    ``train`` image file); writes the three outputs of the module doc and returns the summary."""
    from detcnn.report.study_figures import plot_learning_curve
    from detcnn.report.study_tables import learning_curve_text

    module = get_task(task)
    headline = module.HEADLINE
    if not points:
        raise ConfigError("no learning-curve point given", key="learning_curve.models")
    with ImageFile(train) as f:
        full = f.n_events
    read: dict[tuple[str, int], dict[str, Any]] = {}
    for model, size, metrics in points:
        n = full if size is None else int(size)
        if (model, n) in read:
            raise ConfigError(f"model '{model}' has two points of {n} training events (the whole train split has "
                              f"{full})", key="learning_curve.sizes")  # fmt: skip
        read[(model, n)] = _read_point(model, size, metrics, task, full, train)
    names = dict.fromkeys(k for info in read.values() for k in info["metrics"])
    metrics = study_metrics(names, module.STUDY_METRICS, headline[0])
    models: dict[str, dict[str, Any]] = {}
    for (model, n), info in sorted(read.items(), key=lambda item: item[0][1]):
        entry = models.setdefault(model, {"kind": info["kind"], "points": []})
        entry["points"].append({"train_events": n, "full": n == full,
                                "metrics": {k: {"value": info["metrics"][f"test/{k}"]["value"],
                                                "err": info["metrics"][f"test/{k}"]["err"]}
                                            for k in metrics if f"test/{k}" in info["metrics"]}})  # fmt: skip
    order = list(dict.fromkeys(model for model, _, _ in points))
    result = {"dataset": dataset, "task": task, "headline": {"metric": headline[0], "higher_is_better": headline[1]},
              "metrics": metrics, "figure_metrics": _figure_metrics(metrics, list(read.values())),
              "train_events": full, "models": {m: models[m] for m in order}}  # fmt: skip
    write_text(table, learning_curve_text(result))
    write_json(summary, result)
    plot_learning_curve(figure, result, result["figure_metrics"])
    return result
