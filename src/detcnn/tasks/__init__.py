"""The tasks: what a network learns from an image file and how it is judged. One module per task, each with
the same names (the way scikit-hep/vector gives every compute module the same functions and one dispatch
table), and :data:`TASKS`, the one table. A stage says ``task = TASKS[name]`` and never branches on a name.

Every task module defines:

- ``NAME``; ``NETWORK``: the :class:`~detcnn.kinds.NetworkKind` of network it needs (a registered model's
  kind: classifier, segmenter or localiser);
  ``PIXEL_TRUTH``: whether evaluation and report read the per-pixel truth of the image files;
- ``HEADLINE``: ``(metric, higher_is_better)``, which heads and sorts the report table; ``VALIDATION``: the
  metrics computed on the validation split every epoch (``val/<name>``); ``STUDY_METRICS``: prefixes of the
  metrics followed in bins of a per-event variable (:mod:`detcnn.evaluation.binned`) and under systematic
  variations, the headline's among them; ``PER_CLASS``: prefixes of metrics
  that go into a second, per-class report table, titled ``PER_CLASS_TITLE``; ``FIGURES``: the report's
  figure names (``<name>.png``); ``PADDED``: the prediction arrays padded with NaN (a frame's localisations),
  where a NaN is no error; ``ARGS_SCHEMA``: its ``task_args`` (JSON-schema properties with defaults and
  descriptions, composed into the config schema; ``plugin`` fills them with :func:`detcnn.config.fill_task_args`);
- ``target(attrs, args)``: the torch-free :class:`~detcnn.tasks.common.Target` a model of the task is judged
  against: the image-file dataset, the event classes it learns and is evaluated on (None: all), the truth;
  the train stage selects its rows with it before it builds the plug-in, and a baseline's evaluation needs
  nothing more (no torch);
- ``target_stats(train, rows)`` and ``plugin(attrs, args, train=None, rows=None)``: the training plug-in
  (:class:`~detcnn.training.plugin.Plugin`: target, outputs, loss, prediction, output scaling fitted on the
  events ``rows`` of the train split, and the validation score,
  :func:`~detcnn.tasks.common.validation_score` of the task's own ``metrics`` and ``VALIDATION``);
- ``prediction(output, attrs)``: a network's stored output as named prediction arrays, the same names a
  baseline of the task predicts;
- ``working_points(truth, prediction, attrs, settings)``: the thresholds of its working points, set on the
  validation split's truth and prediction (``{}`` for a task without: :func:`~detcnn.tasks.common.no_working_points`);
  the evaluate stage passes them to ``metrics`` as ``settings['thresholds']``, so no working point is tuned
  on the test events;
- ``metrics(truth, prediction, attrs, settings, indices)``: the test metrics with bootstrap errors (the
  validation calls the same function, so ``val/x`` and ``test/x`` mean the same);
- ``plot(path, model, kind, truth, prediction, attrs)``: the one figure of an evaluation;
- ``report(loaded, test, figures, settings, indices)``: the task's report figures and paired comparisons.

Importing this package does not import torch (the workflow rules read the table).
"""

from __future__ import annotations

from types import ModuleType

from detcnn.errors import ConfigError
from detcnn.tasks import classification, energy_regression, localisation, pixel_regression, segmentation

TASKS: dict[str, ModuleType] = {
    m.NAME: m for m in (classification, segmentation, pixel_regression, energy_regression, localisation)
}
#: The task of a model (and the tasks of a dataset) that names none: the schema's default.
DEFAULT_TASK = classification.NAME


def get_task(name: str | None = None, key: str = "task") -> ModuleType:
    """The task module ``name`` (None: :data:`DEFAULT_TASK`); a ConfigError listing the tasks for an unknown one."""
    name = DEFAULT_TASK if name is None else name
    if name not in TASKS:
        raise ConfigError(f"unknown task '{name}'; valid: {sorted(TASKS)}", key=key)
    return TASKS[name]
