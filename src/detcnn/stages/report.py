"""The report stage: every evaluated model of one task of a dataset side by side.

Writes ``table`` (``comparison.md``: one row per model, best headline first, the task's paired comparisons
of the best network and the best baseline on the same resampled test events), ``csv`` (the numbers),
``summary`` (JSON) and the task's figures (``figures``: one path per name in the task's ``FIGURES``). Every
model must have been evaluated on the same test rows (``rows`` of its ``scores.npz``): the paired comparisons
resample them together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError
from detcnn.evaluation.bootstrap import bootstrap_indices
from detcnn.io.atomic import write_json, write_text
from detcnn.io.images import ImageFile
from detcnn.report.tables import comparison_rows, csv_table, markdown_table
from detcnn.tasks import get_task

Paths = str | os.PathLike[str]
Evaluation = tuple[dict[str, Any], dict[str, np.ndarray]]


def load_evaluation(metrics: Paths, scores: Paths) -> Evaluation:
    """``(metrics.json content, scores.npz arrays)`` of one evaluated model."""
    for path in (metrics, scores):
        if not Path(path).is_file():
            raise InputError("evaluation file does not exist", path=path, fix="run the evaluate step first")
    summary = json.loads(Path(metrics).read_text())
    with np.load(scores) as f:
        return summary, {k: f[k] for k in f.files}


def _same_rows(loaded: Mapping[str, Evaluation], scores: Mapping[str, Paths]) -> np.ndarray:
    """The test rows ``(n,)`` every model was evaluated on (``rows`` of its ``scores.npz``, file ``scores[model]``),
    which the paired comparisons resample together; an InputError naming the first model whose rows differ
    from the first model's."""
    reference = next(iter(loaded))
    for name, (_, arrays) in loaded.items():
        if "rows" not in arrays:
            raise InputError(f"model '{name}' has no test 'rows' in its scores", path=scores[name],
                             fix="re-run its evaluation")  # fmt: skip
        if not np.array_equal(loaded[reference][1]["rows"], arrays["rows"]):
            raise InputError(f"model '{name}' was evaluated on other test events than '{reference}'",
                             path=scores[name], fix=f"re-run the evaluations of '{name}' and '{reference}' on the "
                             "same test split (and, for a task of some classes only, the same classes)")  # fmt: skip
    return loaded[reference][1]["rows"]


def run(
    *, metrics: Sequence[Paths], scores: Sequence[Paths], test: Paths, table: Paths, csv: Paths, summary: Paths,
    figures: Mapping[str, Paths], dataset: str, task: str, n_bootstrap: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    """Compare the models whose evaluations are ``metrics[i]`` and ``scores[i]`` (same order) on the ``test``
    split of ``dataset`` for ``task``; ``n_bootstrap`` resamples from ``seed``, the same as the evaluations'."""
    module = get_task(task)
    if set(figures) != set(module.FIGURES):
        raise ConfigError(f"task '{task}' draws the figures {list(module.FIGURES)}, got {sorted(figures)}",
                          key="figures")  # fmt: skip
    if len(metrics) != len(scores) or not metrics:
        raise ConfigError(f"need one scores file per metrics file, got {len(metrics)} and {len(scores)}")
    loaded: dict[str, Evaluation] = {}
    sources: dict[str, Paths] = {}
    for m, s in zip(metrics, scores, strict=True):
        info, arrays = load_evaluation(m, s)
        if info.get("task") != task:
            raise InputError(f"model '{info['model']}' was evaluated for task '{info.get('task')}', not '{task}'",
                             path=m, fix="report each task separately")  # fmt: skip
        loaded[info["model"]], sources[info["model"]] = (info, arrays), s
    rows = _same_rows(loaded, sources)
    with ImageFile(test) as f:
        images = f.load(with_pixels=module.PIXEL_TRUTH)
    summaries = [s for s, _ in loaded.values()]
    n = len(rows)
    indices = bootstrap_indices(n, n_bootstrap, seed)
    paths = {k: Path(v) for k, v in figures.items()}
    extra, sentences = module.report(loaded, images, paths, {"seed": seed}, indices)
    text = [
        f"# {dataset}: {task.replace('_', ' ')}, test-split comparison\n\n",
        f"{n} test events; uncertainties are the standard deviation over {n_bootstrap} bootstrap resamples "
        "of the test events.\n\n",
        markdown_table(comparison_rows(summaries, module.HEADLINE, module.PER_CLASS)),
        *sentences,
    ]
    per_class = comparison_rows(summaries, module.HEADLINE, module.PER_CLASS, second=True)
    if per_class:
        text += [f"\n{module.PER_CLASS_TITLE}:\n\n"]
        text.append(markdown_table(per_class))
    write_text(table, "".join(text))
    write_text(csv, csv_table(summaries, module.HEADLINE))
    result = {"dataset": dataset, "task": task, "n_test": n, **extra}
    write_json(summary, result)
    return result
