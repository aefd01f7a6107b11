"""End to end: the Snakemake workflow on a tiny config in a temporary folder, tracking there too."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wd = tmp_path_factory.mktemp("workflow")
    shutil.copy(ROOT / "Snakefile", wd / "Snakefile")
    shutil.copytree(ROOT / "workflow", wd / "workflow")
    (wd / "config").mkdir()
    shutil.copy(ROOT / "config" / "tiny.yaml", wd / "config" / "config.yaml")
    result = snakemake(wd)
    if result.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted((wd / "logs").rglob("*.log")))
        pytest.fail(f"snakemake failed:\n{result.stderr[-4000:]}\n{logs}")
    return wd


def test_outputs_exist(workdir: Path) -> None:
    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    models = [*cfg["models"], *cfg["baselines"]]
    for sample in ("quark", "gluon"):
        assert (workdir / f"results/events/qg/{sample}_0.root").stat().st_size > 0
    for split in ("train", "val", "test"):
        assert (workdir / f"results/images/qg/{split}.h5").is_file()
    for model in models:
        metrics = json.loads((workdir / f"results/eval/qg/{model}/metrics.json").read_text())
        assert 0.0 <= metrics["metrics"]["test/auc"]["value"] <= 1.0
        assert metrics["metrics"]["test/auc"]["err"] > 0
    for model in cfg["models"]:
        for name in ("weights.pt", "config.json", "history.csv", "run.json"):
            assert (workdir / f"results/models/qg/{model}/{name}").is_file()
    report = workdir / "results/report/qg"
    table = (report / "comparison.md").read_text()
    assert all(f"| {m} |" in table for m in models)
    assert "paired bootstrap" in table
    summary = json.loads((report / "summary.json").read_text())
    assert summary["paired_auc_difference"]["err"] > 0
    for plot in ("roc.png", "mean_images.png", "observables.png", "auc_vs_parameters.png"):
        assert (report / plot).stat().st_size > 10_000
    # no temporary files left behind by the atomic writes
    assert not [p for p in (workdir / "results").rglob(".*") if p.is_file() and "mlflow" not in str(p)]


def test_user_root_files_dataset(workdir: Path) -> None:
    """A root_files dataset reads the listed files; a model listing 'datasets' trains only there."""
    import h5py

    n_own = 0
    for split in ("train", "val", "test"):
        with h5py.File(workdir / f"results/images/own/{split}.h5", "r") as f:
            assert f["X"].shape[1:] == (3, 16, 16)
            n_own += f["y"].shape[0]
    assert n_own == 300  # 150 quark + 150 gluon jets from the two listed files
    table = (workdir / "results/report/own/comparison.md").read_text()
    assert "| cnn |" in table and "| resnet |" not in table
    assert not (workdir / "results/models/own/resnet").exists()


def test_mlflow_store_holds_every_run(workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'results/mlflow/mlflow.db'}")
    exp = client.get_experiment_by_name("detcnn/qg")
    assert exp is not None
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    for model in cfg["models"]:
        run = runs[f"train/{model}"]
        assert run.info.status == "FINISHED"
        for key in ("train/loss", "val/loss", "val/auc"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1], key
        assert run.data.params["arch"] == cfg["models"][model]["arch"]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"weights.pt", "config.json", "history.csv"} <= artifacts
        run_id = json.loads((workdir / f"results/models/qg/{model}/run.json").read_text())["mlflow_run_id"]
        assert run_id == run.info.run_id
    for model in [*cfg["models"], *cfg["baselines"]]:
        metrics = runs[f"eval/{model}"].data.metrics
        assert {"test/auc", "test/auc_err"} <= set(metrics), model
    for baseline in cfg["baselines"]:
        assert "train/auc" in runs[f"train/{baseline}"].data.metrics


def _planned_jobs(dry_run_stdout: str) -> dict[str, int]:
    table = dry_run_stdout.split("Job stats:")[-1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}


def test_nothing_to_do_then_only_the_edited_model_reruns(workdir: Path) -> None:
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr

    config_path = workdir / "config" / "config.yaml"
    original = config_path.read_text()
    cfg = yaml.safe_load(original)
    cfg["models"]["cnn"]["train"]["lr"] = 0.0005
    config_path.write_text(yaml.safe_dump(cfg))
    try:
        result = snakemake(workdir, "-n")
    finally:
        config_path.write_text(original)
    assert result.returncode == 0, result.stderr
    # cnn trains on both datasets; nothing upstream (generate, rasterise, baselines) and no other model
    assert _planned_jobs(result.stdout) == {"train": 2, "evaluate": 2, "report": 2}, result.stdout[-3000:]
    assert "model=cnn" in result.stdout and "model=resnet" not in result.stdout


def test_lint_is_clean(workdir: Path) -> None:
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
