"""Tracking to an MLflow server instead of the embedded SQLite store: ``tracking.uri`` pointing at
``mlflow server`` on 127.0.0.1 (started here as docs/cluster.md says) logs every run of the workflow there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, seed_events, snakemake, without_studies, workflow_folder

pytestmark = pytest.mark.workflow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> str:
    port = _free_port()
    store = tmp_path / "server"
    store.mkdir()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
           "--artifacts-destination", (store / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]  # fmt: skip
    log = (store / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"mlflow server did not start: {(store / 'server.log').read_text()[-2000:]}")
        yield uri
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_the_workflow_logs_every_run_to_a_server(mlflow_server: str, workdir: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["tracking"] = {"uri": mlflow_server}
    cfg["datasets"] = {"qg": without_studies(cfg["datasets"]["qg"])}  # the tiny config's jets, its events
    cfg["models"] = {"cnn": {**cfg["models"]["cnn"], "datasets": ["qg"]}}
    cfg["baselines"] = {k: v for k, v in cfg["baselines"].items() if k in ("cut_n_constituents",)}
    folder = workflow_folder(tmp_path, cfg)
    seed_events(folder, workdir)
    result = snakemake(folder)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("detcnn/qg")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    models = ("cnn", "cut_n_constituents")
    assert set(runs) == {f"{stage}/{m}" for stage in ("train", "eval") for m in models}
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    assert "test/auc" in runs["eval/cnn"].data.metrics
    assert {a.path for a in client.list_artifacts(runs["train/cnn"].info.run_id)} >= {"weights.pt", "history.csv"}
    assert not (folder / "results/mlflow/mlflow.db").exists(), "nothing logged to the embedded store"
