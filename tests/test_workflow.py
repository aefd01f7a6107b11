"""End to end: the Snakemake workflow on a tiny config in a temporary folder, tracking there too."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, assert_figure, snakemake, snakemake_edited, workflow_folder

pytestmark = pytest.mark.workflow


QG_NETWORKS = ["cnn", "resnet"]
QG_MODELS = [*QG_NETWORKS, "cut_n_constituents", "cut_c1", "rect_cuts", "gbdt_qg"]
NU_TASKS = {
    "classification": ["nova", "nue_cuts", "gbdt_nu"],
    "segmentation": ["unet", "pixel_cuts"],
    "pixel_regression": ["unet_energy", "pixel_calibration"],
    "energy_regression": ["nova_energy", "calorimetric", "gbdt_energy"],
}


def test_outputs_exist(workdir: Path) -> None:
    models = QG_MODELS
    for sample in ("quark", "gluon"):
        assert (workdir / f"results/events/qg/{sample}_0.root").stat().st_size > 0
    for split in ("train", "val", "test"):
        assert (workdir / f"results/images/qg/{split}.h5").is_file()
    for model in models:
        metrics = json.loads((workdir / f"results/eval/qg/{model}/metrics.json").read_text())
        assert 0.0 <= metrics["metrics"]["test/auc"]["value"] <= 1.0
        assert metrics["metrics"]["test/auc"]["err"] > 0
    for model in QG_NETWORKS:
        for name in ("weights.pt", "config.json", "history.csv", "run.json"):
            assert (workdir / f"results/models/qg/{model}/{name}").is_file()
    report = workdir / "results/report/qg/classification"
    table = (report / "comparison.md").read_text()
    assert all(f"| {m} |" in table for m in models)
    assert "paired bootstrap" in table
    summary = json.loads((report / "summary.json").read_text())
    assert summary["paired_auc_difference"]["err"] > 0
    versus = summary["versus"]  # the best network against the best baseline of each family, paired
    assert versus["multivariate"]["baseline"] == "gbdt_qg" and versus["multivariate"]["auc"]["err"] > 0
    assert versus["single_observable"]["baseline"] in ("cut_n_constituents", "cut_c1")
    cnn = json.loads((workdir / "results/eval/qg/cnn/metrics.json").read_text())
    assert set(cnn["working_points"]) == {"rej_at_0.3", "rej_at_0.5"}  # thresholds set on validation
    assert 0 < cnn["metrics"]["test/eff_s_at_0.5"]["value"] < 1
    for plot in ("roc.png", "mean_images.png", "observables.png", "auc_vs_parameters.png", "examples.png"):
        assert_figure(report / plot)
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
    table = (workdir / "results/report/own/classification/comparison.md").read_text()
    assert "| cnn |" in table and "| cut_n_constituents |" in table
    assert "| resnet |" not in table and "| rect_cuts |" not in table
    assert not (workdir / "results/models/own/resnet").exists()


def test_mlflow_store_holds_every_run(workdir: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'results/mlflow/mlflow.db'}")
    exp = client.get_experiment_by_name("detcnn/qg")
    assert exp is not None
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    for model in QG_NETWORKS:
        run = runs[f"train/{model}"]
        assert run.info.status == "FINISHED"
        for key in ("train/loss", "val/loss", "val/auc"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1], key
        assert run.data.params["arch"] == cfg["models"][model]["arch"]
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"weights.pt", "config.json", "history.csv"} <= artifacts
        run_id = json.loads((workdir / f"results/models/qg/{model}/run.json").read_text())["mlflow_run_id"]
        assert run_id == run.info.run_id
    for model in QG_MODELS:
        metrics = runs[f"eval/{model}"].data.metrics
        assert {"test/auc", "test/auc_err"} <= set(metrics), model
    for baseline in ("cut_n_constituents", "rect_cuts"):
        assert "train/auc" in runs[f"train/{baseline}"].data.metrics


def test_neutrino_dataset_runs_every_task(workdir: Path) -> None:
    """The detector dataset: hits -> two views with pixel truth -> four tasks, networks beside baselines,
    the same metric names within a task, all in the dataset's own MLflow experiment."""
    import h5py
    from mlflow.tracking import MlflowClient

    for sample in ("nue_cc", "numu_cc", "nc"):
        assert (workdir / f"results/events/nu/{sample}_0.root").stat().st_size > 0
    with h5py.File(workdir / "results/images/nu/test.h5", "r") as f:
        assert f["X"].shape[1:] == (2, 16, 16) and f["y_pix"].shape[1:] == (2, 16, 16)
        assert "nu_energy" in f["truth"] and "length_cm" in f["observables"]
    headline = {"classification": "test/auc", "segmentation": "test/accuracy",
                "pixel_regression": "test/event_resolution", "energy_regression": "test/resolution"}  # fmt: skip
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'results/mlflow/mlflow.db'}")
    exp = client.get_experiment_by_name("detcnn/nu")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    for task, models in NU_TASKS.items():
        report = workdir / f"results/report/nu/{task}"
        table = (report / "comparison.md").read_text()
        assert all(f"| {m} |" in table for m in models), (task, table)
        assert "paired bootstrap" in table
        assert_figure(report / "examples.png")
        names = set()
        for model in models:
            metrics = json.loads((workdir / f"results/eval/nu/{model}/metrics.json").read_text())
            assert metrics["task"] == task and headline[task] in metrics["metrics"]
            names.add(frozenset(k for k in metrics["metrics"] if not k.startswith("test/auc_") and "accuracy" not in k))
            assert headline[task] in runs[f"eval/{model}"].data.metrics
        if task != "classification":
            assert len(names) == 1, f"{task}: networks and baselines must share metric names"
    summary = json.loads((workdir / "results/report/nu/classification/summary.json").read_text())
    at_purity = summary["efficiency_at_baseline_purity"]  # the nu_e headline: the network at the cuts' purity
    assert at_purity["baseline"] == "nue_cuts" and 0 < at_purity["baseline_purity"] <= 1
    assert 0 < at_purity["baseline_efficiency"] <= 1 and 0 <= at_purity["network_efficiency"] <= 1
    assert at_purity["value"] == pytest.approx(at_purity["network_efficiency"] - at_purity["baseline_efficiency"])
    # a paired bootstrap error (zero where every resample agrees: a 1-epoch network that never reaches the cuts'
    # purity keeps 0 of the nu_e events in each, the cuts all of them)
    assert at_purity["n_bootstrap"] == 20 and at_purity["err"] >= 0 and "paired_auc_difference" in summary
    assert 0 < at_purity["baseline_val_purity"] <= 1  # the working point's purity, measured on validation
    assert summary["versus"]["multivariate"]["baseline"] == "gbdt_nu"
    assert "gbdt_nu" in summary["efficiency_at_baseline_purity_all"]["multivariate"]
    assert summary["network_vs_multivariate_at_baseline_purity"]["baseline"] == "gbdt_nu"
    energy = json.loads((workdir / "results/report/nu/energy_regression/summary.json").read_text())
    assert energy["versus"]["multivariate"]["baseline"] == "gbdt_energy"
    assert energy["versus"]["multivariate"]["core_width"]["err"] > 0


def test_microscope_dataset_localises(workdir: Path) -> None:
    """The camera frames: smlm_sim -> frames with emitter lists -> a localiser beside the local-maximum
    baseline, the same metric names for both, per sample, and the report's density figure and image."""
    import h5py

    for sample in ("sparse", "medium", "dense", "filaments"):
        assert (workdir / f"results/events/smlm/{sample}_0.root").stat().st_size > 0
    with h5py.File(workdir / "results/images/smlm/test.h5", "r") as f:
        assert f["X"].shape[1:] == (1, 16, 16) and f["emitters"].shape[2] == 3
        assert f.attrs["upsampling"] == 4 and "density" in f["truth"]
    names = []
    for model in ("loc_unet", "local_maxima"):
        metrics = json.loads((workdir / f"results/eval/smlm/{model}/metrics.json").read_text())
        assert metrics["task"] == "localisation"
        assert 0 <= metrics["metrics"]["test/jaccard"]["value"] <= 1
        names.append(set(metrics["metrics"]))
    assert names[0] == names[1] and "test/jaccard_dense" in names[0]
    baseline = json.loads((workdir / "results/eval/smlm/local_maxima/metrics.json").read_text())["metrics"]
    assert baseline["test/jaccard"]["value"] > 0.3 and baseline["test/rmse_nm"]["value"] < 40  # a real pipeline
    report = workdir / "results/report/smlm/localisation"
    table = (report / "comparison.md").read_text()
    assert "| loc_unet |" in table and "| local_maxima |" in table and "highest density" in table
    for figure in ("versus_density.png", "super_resolution.png", "examples.png"):
        assert_figure(report / figure)


def _planned_jobs(dry_run_stdout: str) -> dict[str, int]:
    table = dry_run_stdout.split("Job stats:")[-1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] not in ("total", "all")}


def test_nothing_to_do_then_only_the_edited_model_reruns(workdir: Path) -> None:
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr
    assert "Nothing to be done" in result.stdout + result.stderr

    def slower_cnn(cfg: dict) -> None:
        cfg["models"]["cnn"]["train"]["lr"] = 0.0005

    result = snakemake_edited(workdir, slower_cnn, "-n")
    assert result.returncode == 0, result.stderr
    # cnn trains on its two datasets (qg, own), is exported again, and retrained on the learning curve's subset of
    # qg; the binned and learning-curve reports of qg follow, and the own files' friend trees (cnn scores them);
    # nothing upstream (generate, rasterise, baselines), no other model
    planned = {"train": 2, "evaluate": 2, "export": 2, "report_classification": 2, "train_subset": 1,
               "evaluate_subset": 1, "binned_classification": 1, "learning_curve_classification": 1,
               "predict": 2}  # fmt: skip
    assert _planned_jobs(result.stdout) == planned, result.stdout[-3000:]
    assert "model=cnn" in result.stdout and "model=resnet" not in result.stdout


def test_tasks_can_be_turned_off(workdir: Path) -> None:
    """Dropping tasks from a dataset's 'tasks' drops their models, baselines and reports from the plan."""

    def classification_only(cfg: dict) -> None:
        cfg["datasets"]["nu"]["tasks"] = ["classification"]
        cfg["datasets"]["nu"]["predict"]["models"] = ["nova", "gbdt_nu"]  # nova_energy is gone with its task

    result = snakemake_edited(workdir, classification_only, "-n", "--forceall")
    assert result.returncode == 0, result.stderr
    planned = _planned_jobs(result.stdout)
    for task in ("segmentation", "pixel_regression", "energy_regression"):
        assert f"report_{task}" not in planned, planned
    assert planned["report_classification"] == 3
    for model in ("unet", "unet_energy", "nova_energy", "pixel_cuts", "calorimetric"):
        assert f"model={model}" not in result.stdout


def test_lint_is_clean(workdir: Path) -> None:
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def _dry_run_with(tmp_path: Path, edit: Callable[[dict], None]) -> subprocess.CompletedProcess[str]:
    """``snakemake -n`` on the tiny config after ``edit``, in a fresh folder (nothing has run there)."""
    cfg = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    edit(cfg)
    return snakemake(workflow_folder(tmp_path, cfg), "-n")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c["models"]["cnn"].update(arch="resnet_typo"),
         ["models.cnn.arch", "unknown model 'resnet_typo'", "komiske_cnn", "resnet"]),
        (lambda c: c["models"]["cnn"].update(arch="unet"),
         ["models.cnn.arch", "needs a classifier but 'unet' is a segmenter", "komiske_cnn"]),
        (lambda c: c["datasets"]["nu"]["hit_images"].update(n_pix=18),
         ["models.unet", "cannot take 18x18 images", "nearest valid sizes 16 or 20"]),
    ],
    ids=["unknown-arch", "segmenter-for-classification", "unet-image-size"],
)  # fmt: skip
def test_config_mistakes_stop_the_dry_run(tmp_path: Path, edit: Callable[[dict], None], expected: list[str]) -> None:
    """Fail fast: a mistake in the config stops ``snakemake -n``, before any job, with the valid choices (the
    other checks, tested on their own in test_config_checks.py, run the same way)."""
    result = _dry_run_with(tmp_path, edit)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    for text in expected:
        assert text in message, message[-2000:]
    assert "Job stats" not in message and not (tmp_path / "results").exists()
