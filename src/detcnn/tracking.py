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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DEFAULT_STORE = "results/mlflow/mlflow.db"


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
    client.search_experiments(max_results=1)  # touches the store: creates and migrates a SQLite file
    return {"tracking_uri": uri, "artifact_root": str(root) if root else None}


def get_or_create_experiment(uri: str, dataset: str) -> str:
    """The id of the dataset's experiment, created on first use (a parallel job may win the race)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    name = experiment_name(dataset)
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    root = _artifact_root(uri)
    location = (root / dataset).resolve().as_uri() if root is not None else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:  # another job created it between our look-up and create
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


@contextlib.contextmanager
def mlflow_run(
    uri: str, dataset: str, run_name: str, *, tags: Mapping[str, str] | None = None
) -> Iterator[tuple[Any, Any]]:
    """Start an MLflow run in the dataset's experiment; yields ``(mlflow, run)`` for logging."""
    _quiet_mlflow()
    import mlflow

    uri = resolve_uri(uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise RuntimeError(f"no MLflow store at {uri}; run `detcnn init-tracking` (snakemake does it first)")
    mlflow.set_tracking_uri(uri)
    experiment_id = get_or_create_experiment(uri, dataset)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags or {})) as run:
        yield mlflow, run


def log_params_flat(mlflow: Any, params: Mapping[str, Any], prefix: str = "") -> None:
    """Log a nested dict as flat ``a.b.c`` params (MLflow params are strings)."""
    flat: dict[str, str] = {}

    def walk(obj: Any, key: str) -> None:
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(v, f"{key}.{k}" if key else str(k))
        else:
            flat[key] = json.dumps(obj) if isinstance(obj, list | tuple) else str(obj)

    walk(params, prefix)
    mlflow.log_params(flat)
