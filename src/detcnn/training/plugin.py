"""What the training loop (and the evaluate stage) need of a task: the :class:`Plugin`. Every task builds one
(its ``plugin`` function); the loop uses it without knowing which task it serves.

Torch-free at import (the tasks import it, and the workflow rules import the task table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Score = Callable[[np.ndarray, np.ndarray], dict[str, float]]


def _same(values: np.ndarray) -> np.ndarray:
    return values


@dataclass(frozen=True)
class Plugin:
    """One model's task, as the training loop and the evaluate stage use it.

    - ``target``: the image-file dataset the task learns from (``y``, ``y_pix``, ``e_pix``, ``truth/<name>``,
      ``emitters``, or ``X`` for a target made from the image itself);
    - ``num_outputs``: outputs per event (classifier) or per pixel (segmenter, localiser);
    - ``loss(raw outputs, stored target)``: a torch module, the training loss;
    - ``predict(raw outputs, inputs)``: the stored prediction (class probabilities, pixel classes, energies);
    - ``score(truth, prediction)``: the validation metrics ``{name: value}`` of one epoch, the task's own test
      metrics of the same names, so ``val/x`` and ``test/x`` are one function;
    - ``classes``: the event classes used (None: all); ``output``: ``(shift, scale)`` of a regression output
      in train units; ``truth(stored target)``: what predictions are compared with; ``info``: resolved
      settings saved with the model.
    """

    target: str
    num_outputs: int
    loss: Any
    predict: Callable[[Any, Any], Any]
    score: Score
    classes: list[int] | None = None
    output: tuple[float, float] | None = None
    truth: Callable[[np.ndarray], np.ndarray] = _same
    info: dict[str, Any] = field(default_factory=dict)
