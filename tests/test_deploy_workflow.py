"""What the tiny workflow leaves for a physicist to inspect and deploy: one MLflow runs table per dataset in
which every network's and baseline's row holds its parameters and its test metrics (the evaluation a child
run), the datasets logged as inputs, every network an MLflow model that ``mlflow.pyfunc`` loads and scores
images with, a checked ``model.onnx`` per network that ONNX Runtime runs, and ``snakemake --report``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import snakemake

pytestmark = pytest.mark.workflow
SHARED = ("kind", "arch", "task", "n_parameters", "n_train")


def _runs(workdir: Path, dataset: str) -> dict[str, object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'results/mlflow/mlflow.db'}")
    exp = client.get_experiment_by_name(f"detcnn/{dataset}")
    assert exp.tags.get("mlflow.experimentKind") == "custom_model_development", "the UI opens the runs table"
    runs = client.search_runs([exp.experiment_id])
    names = [r.info.run_name for r in runs]
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)  # one run, one name
    return {r.info.run_name: r for r in runs}


def _networks(workdir: Path, dataset: str) -> list[str]:
    cfg = yaml.safe_load((workdir / "config/config.yaml").read_text())
    return sorted(p.name for p in (workdir / "results/models" / dataset).iterdir() if p.name in cfg["models"])


def test_each_training_run_holds_its_parameters_and_test_metrics(workdir: Path) -> None:
    for dataset, headline in (("qg", "test/auc"), ("nu", "test/auc"), ("smlm", "test/jaccard")):
        runs = _runs(workdir, dataset)
        trainings = {n: r for n, r in runs.items() if n.startswith("train/")}
        kinds = set()
        for name, run in trainings.items():
            model = name.removeprefix("train/")
            assert all(k in run.data.params for k in SHARED), (name, sorted(run.data.params))
            kinds.add(run.data.params["kind"])
            child = runs[f"eval/{model}"]
            assert child.data.tags["mlflow.parentRunId"] == run.info.run_id, name
            test = {k: v for k, v in child.data.metrics.items() if k.startswith("test/")}
            assert test and all(run.data.metrics[k] == pytest.approx(v) for k, v in test.items()), name
            inputs = {d.dataset.name for d in run.inputs.dataset_inputs}
            assert f"{dataset}/train" in inputs, (name, inputs)
        assert kinds == {"network", "baseline"}, dataset
        assert any(headline in r.data.metrics for r in trainings.values()), dataset


def test_every_network_is_an_mlflow_model_that_scores_images(workdir: Path) -> None:
    import h5py
    import mlflow.pyfunc

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'results/mlflow/mlflow.db'}")
    for dataset in ("qg", "nu"):
        with h5py.File(workdir / f"results/images/{dataset}/test.h5", "r") as f:
            images = f["X"][:3].astype(np.float32)
        for model in _networks(workdir, dataset):
            run_id = json.loads((workdir / f"results/models/{dataset}/{model}/run.json").read_text())["mlflow_run_id"]
            loaded = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
            assert loaded.metadata.signature is not None, model
            out = np.asarray(loaded.predict(images))
            assert out.shape[0] == 3 and np.isfinite(out).all(), (model, out.shape)


def test_every_network_has_a_checked_onnx_file_that_onnx_runtime_runs(workdir: Path) -> None:
    import h5py

    from detcnn.deploy.onnx_export import onnx_session

    for dataset in ("qg", "own", "nu", "smlm"):
        with h5py.File(workdir / f"results/images/{dataset}/test.h5", "r") as f:
            images = f["X"][:7].astype(np.float32)
        for model in _networks(workdir, dataset):
            folder = workdir / f"results/models/{dataset}/{model}"
            summary = json.loads((folder / "export.json").read_text())
            assert summary["max_rel_diff"] <= 1e-4 and summary["n_images"] > 0, (dataset, model, summary)
            (out,) = onnx_session(folder / "model.onnx").run(["output"], {"images": images})
            assert out.shape[0] == 7 and np.isfinite(out).all(), (dataset, model)


def test_the_snakemake_report_builds(workdir: Path) -> None:
    report = workdir / "report.html"
    result = snakemake(workdir, "--report", str(report))
    assert result.returncode == 0, result.stderr[-3000:]
    text = report.read_text(errors="replace")
    assert report.stat().st_size > 100_000 and "comparison" in text
