"""The closed vocabularies of detcnn, each defined once: what a model is, and what a network outputs.

Open vocabularies (sources, tasks, baseline kinds, kinds of events, observables, networks) are not here:
they are the keys of their tables (``SOURCES``, ``TASKS``, ``BASELINES``, ``RASTERISERS``, the observable
tables, the model registry), so a new one is a module plus one table line.

Both enums are ``StrEnum``: a member equals its string, so JSON files, MLflow parameters and command-line
flags hold the plain value (``"network"``), and a string read back converts with ``ModelKind(text)``.
Torch-free (the workflow rules import it).
"""

from __future__ import annotations

from enum import StrEnum


class ModelKind(StrEnum):
    """What a model of the config is: a network under ``models:`` (trained by the train stage, its files
    ``weights.pt``, ``history.csv``, ``run.json``) or a baseline under ``baselines:`` (fitted by the
    fit-baseline stage, its file ``baseline.json``). Evaluation and reports treat both alike."""

    NETWORK = "network"
    BASELINE = "baseline"

    @property
    def section(self) -> str:
        """The config section that holds models of this kind."""
        return "models" if self is ModelKind.NETWORK else "baselines"


class NetworkKind(StrEnum):
    """What a registered network outputs, which decides the tasks it can learn:

    - ``classifier``: ``(N, C, H, W)`` images -> ``(N, num_classes)`` (event classes, or one regressed value);
    - ``segmenter``: -> per-pixel outputs ``(N, num_classes, n_views, H, W)``;
    - ``localiser``: -> maps on a grid ``upsampling`` times finer, ``(N, num_outputs, u H, u W)``.
    """

    CLASSIFIER = "classifier"
    SEGMENTER = "segmenter"
    LOCALISER = "localiser"


class ClassCount(StrEnum):
    """The datasets a baseline kind can run on: of two classes only, or of more than two."""

    BINARY = "binary"
    MULTICLASS = "multiclass"

    def admits(self, n_classes: int) -> bool:
        """Whether a dataset of ``n_classes`` event classes is of this count."""
        return (n_classes == 2) == (self is ClassCount.BINARY)


class BaselineFamily(StrEnum):
    """What a baseline kind is, for the report's comparisons (the network against the best of each family):

    - ``single_observable``: a cut on one observable (the classic one-variable analysis);
    - ``cuts``: cuts on several observables or on pixels (a box, a sequential selection, pixel cuts, a peak
      finder);
    - ``calibration``: an energy from a calibration of the summed charge;
    - ``multivariate``: a multivariate combination of the observables fitted by a learning algorithm
      (boosted decision trees), the classical ceiling a network must beat.
    """

    SINGLE_OBSERVABLE = "single_observable"
    CUTS = "cuts"
    CALIBRATION = "calibration"
    MULTIVARIATE = "multivariate"


class Direction(StrEnum):
    """The way a systematic variation is known to move a per-event quantity (its mean over the test events of
    each class): the physics check a variation passes before its numbers are used (``variations.<name>.expect``)."""

    UP = "up"
    DOWN = "down"

    @property
    def sign(self) -> int:
        """+1 for up, -1 for down."""
        return 1 if self is Direction.UP else -1
