"""MLflow tracking: one experiment per dataset, one run per training and per evaluation.

The default store is a SQLite file under ``results/``. It is created (schema migrated, experiments
made) by one step before any job logs, because processes that start logging at once on a fresh
SQLite store race in the schema migration and can break it. ``tracking.uri`` in the config points at
a server instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from detcnn import __version__
from detcnn.kinds import ModelKind

T = TypeVar("T")

DEFAULT_STORE = "results/mlflow/mlflow.db"
#: The tag with the detcnn version that ran a run (the installed package's, pyproject.toml's).
VERSION_TAG = "detcnn.version"


def resolve_uri(uri: str | None, root: str | os.PathLike[str] = ".") -> str:
    """The tracking URI: ``uri`` when set, else the SQLite store ``results/mlflow/mlflow.db``.

    A relative SQLite path is made absolute (relative to ``root``), so a job's working folder does not
    change which store it logs to.
    """
    uri = uri or f"sqlite:///{DEFAULT_STORE}"
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{(Path(root) / uri.removeprefix('sqlite:///')).resolve()}"
    return uri


def experiment_name(dataset: str) -> str:
    return f"detcnn/{dataset}"


def _quiet_mlflow() -> None:
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _artifact_root(uri: str) -> Path | None:
    """Artifacts of a SQLite store live beside it; a server decides for itself."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).parent / "artifacts"
    return None


def init_store(uri: str) -> dict[str, Any]:
    """Create the store (for SQLite: the file and its migrated schema). Safe on an existing store.

    Run once before parallel jobs log: concurrent first use of a fresh SQLite store races in the schema
    migration.
    """
    _quiet_mlflow()
    from mlflow.tracking import MlflowClient

    root = _artifact_root(uri)
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri)
    retrying(client.search_experiments, max_results=1)  # touches the store: creates and migrates a SQLite file
    return {"tracking_uri": uri, "artifact_root": str(root) if root else None}


#: MLflow 3's UI opens an experiment of this kind ("Machine learning") on its runs table, not on the GenAI
#: overview of traces.
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}


def get_or_create_experiment(uri: str, dataset: str) -> str:
    """The id of the dataset's experiment, created on first use (a parallel job may win the race)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    name = experiment_name(dataset)
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        for key, value in EXPERIMENT_TAGS.items():
            if exp.tags.get(key) != value:  # a store made by an earlier version
                client.set_experiment_tag(exp.experiment_id, key, value)
        return exp.experiment_id
    root = _artifact_root(uri)
    location = (root / dataset).resolve().as_uri() if root is not None else None
    try:
        return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_TAGS)
    except Exception:  # another job created it between our look-up and create
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


#: Errors of a store busy with other writers, worth a retry (SQLite under parallel jobs, a server restarting).
TRANSIENT = ("database is locked", "database table is locked", "Connection refused", "Max retries exceeded")

#: Errors of two runs inserting the same row at once: MLflow's ``log_inputs`` looks for the experiment's dataset
#: row (name, digest) and inserts it when missing, so parallel trainings on one image file race there; a retry
#: finds the row the other run wrote.
INSERT_RACE = ("UNIQUE constraint failed", "duplicate key value", "Duplicate entry")


def retrying(fn: Callable[..., T], *args: Any, attempts: int = 10, wait: float = 0.2,
             transient: tuple[str, ...] = TRANSIENT, **kwargs: Any) -> T:  # fmt: skip
    """``fn(*args, **kwargs)``, again after a growing pause (0.2 s, 0.4 s, ... up to 5 s) while it fails with
    a transient error of the store (``transient``, by default :data:`TRANSIENT`); any other error at once. A
    SIGTERM meanwhile waits until the call is done (:func:`detcnn.errors.sigterm_waits`)."""
    from detcnn.errors import sigterm_waits

    with sigterm_waits():
        return _retrying(fn, *args, attempts=attempts, wait=wait, transient=transient, **kwargs)


def _retrying(fn: Callable[..., T], *args: Any, attempts: int, wait: float, transient: tuple[str, ...],
              **kwargs: Any) -> T:  # fmt: skip
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if attempt == attempts - 1 or not any(t in str(exc) for t in transient):
                raise
            logging.getLogger(__name__).warning("tracking store busy (%s); retrying", str(exc).splitlines()[0][:120])
            time.sleep(min(wait * 2**attempt, 5.0))
    raise AssertionError("unreachable")


class Tracker:
    """The logging calls of one run, each retried on a busy store (:func:`retrying`)."""

    def __init__(self, mlflow: Any, run_id: str) -> None:
        self._mlflow, self.run_id = mlflow, run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        retrying(self._mlflow.log_params, dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        retrying(self._mlflow.log_metrics, dict(metrics), step=step)

    def log_artifact(self, path: str) -> None:
        retrying(self._mlflow.log_artifact, path)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        retrying(self._mlflow.set_tags, dict(tags))

    def log_image_file(self, path: str | os.PathLike[str], dataset: str, split: str, n_events: int,
                       config_hash: str | None) -> None:  # fmt: skip
        """Log an image file as a dataset input of the run (MLflow's "Datasets used"): name
        ``<dataset>/<split>``, digest the config hash of its events and images, its number of events."""
        import warnings

        from mlflow.data.dataset_source_registry import resolve_dataset_source
        from mlflow.data.meta_dataset import MetaDataset

        with warnings.catch_warnings():  # a local path matches two equivalent source types
            warnings.simplefilter("ignore")
            source = resolve_dataset_source(str(Path(path).resolve()))
        data = MetaDataset(source=source, name=f"{dataset}/{split}", digest=(config_hash or "unknown")[:36])
        tags = {"split": split, "n_events": str(n_events), "config_hash": str(config_hash)}
        retrying(self._mlflow.log_input, data, context=split, tags=tags, transient=TRANSIENT + INSERT_RACE)

    def logged_steps(self, metric: str) -> set[int]:
        """The steps at which ``metric`` was logged in this run."""
        from mlflow.tracking import MlflowClient

        return {m.step for m in retrying(MlflowClient().get_metric_history, self.run_id, metric)}


def copy_metrics(uri: str, run_id: str, metrics: Mapping[str, float]) -> bool:
    """Log ``metrics`` also on run ``run_id`` (a finished training run: its row in the runs table then holds
    its test metrics beside its parameters). False, with a warning, if the run is not in this store."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=resolve_uri(uri))
    try:
        retrying(client.get_run, run_id)
    except Exception:
        logging.getLogger(__name__).warning("run %s is not in %s: the test metrics stay on the eval run", run_id, uri)
        return False
    now = int(time.time() * 1000)
    rows = [Metric(key, float(value), now, 0) for key, value in metrics.items()]
    for start in range(0, len(rows), 500):  # MLflow's batch limit is 1000 metrics
        retrying(client.log_batch, run_id, metrics=rows[start : start + 500])
    return True


def set_status(uri: str, run_id: str, status: str) -> None:
    """Mark run ``run_id`` terminated with ``status`` (FAILED, KILLED, FINISHED) if it is still RUNNING."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=resolve_uri(uri))
    try:
        run = retrying(client.get_run, run_id)
    except Exception:  # deleted, or of another store: nothing to close
        return
    if run.info.status == "RUNNING":
        retrying(client.set_terminated, run_id, status)


@contextlib.contextmanager
def mlflow_run(
    uri: str,
    dataset: str,
    run_name: str,
    *,
    tags: Mapping[str, str] | None = None,
    run_id: str | None = None,
    system_metrics: bool = False,
) -> Iterator[tuple[Tracker, Any]]:
    """An MLflow run in the dataset's experiment, new or (``run_id``) the one a resumed job continues; yields
    ``(tracker, run)``. It ends FINISHED, or FAILED on an error, or KILLED when the job was told to stop.
    ``system_metrics``: MLflow samples the machine's CPU, memory (and GPU) use into ``system/...``.
    Every run is tagged ``detcnn.version`` (:data:`VERSION_TAG`) with the version that ran it (a resumed run:
    the version that resumed it)."""
    from detcnn.errors import Interrupted

    _quiet_mlflow()
    import mlflow

    uri = resolve_uri(uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise RuntimeError(f"no MLflow store at {uri}; run `detcnn init-tracking` (snakemake does it first)")
    mlflow.set_tracking_uri(uri)
    experiment_id = retrying(get_or_create_experiment, uri, dataset)
    if run_id is not None:
        run = retrying(mlflow.start_run, run_id=run_id, log_system_metrics=system_metrics)
        retrying(mlflow.set_tag, VERSION_TAG, __version__)
    else:
        tags = {**(tags or {}), VERSION_TAG: __version__}
        run = retrying(mlflow.start_run, experiment_id=experiment_id, run_name=run_name, tags=tags,
                       log_system_metrics=system_metrics)  # fmt: skip
    try:
        yield Tracker(mlflow, run.info.run_id), run
    except Interrupted:
        retrying(mlflow.end_run, status="KILLED")
        raise
    except BaseException:
        retrying(mlflow.end_run, status="FAILED")
        raise
    retrying(mlflow.end_run, status="FINISHED")


def shared_params(kind: ModelKind, arch: str, task: str, n_parameters: int, n_train: int) -> dict[str, Any]:
    """The parameters every training run has, network or baseline, so that one runs table sorts them all:
    ``kind`` (:class:`~detcnn.kinds.ModelKind`), ``arch`` (the network's architecture or the baseline's kind),
    ``task``, ``n_parameters`` (weights, or numbers a baseline fitted), ``n_train`` (training events)."""
    sizes = {"n_parameters": int(n_parameters), "n_train": int(n_train)}
    return {"kind": ModelKind(kind).value, "arch": arch, "task": task, **sizes}


def log_params_flat(tracker: Tracker, params: Mapping[str, Any], prefix: str = "") -> None:
    """Log a nested dict as flat ``a.b.c`` params (MLflow params are strings)."""
    flat: dict[str, str] = {}

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        else:
            flat[key] = json.dumps(obj) if isinstance(obj, list | tuple) else str(obj)

    walk(params, prefix)
    tracker.log_params(flat)
