"""The studies in the end-to-end run of the tiny config (docs/studies.md): a detector variation of the
neutrinos, performance in bins of the jet mass, a two-point learning curve; and, in the plan, no variation or
subset file ever feeds a training or a validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from tests.conftest import assert_figure, snakemake, snakemake_edited

pytestmark = pytest.mark.workflow


def test_a_variation_is_judged_with_the_nominal_models(workdir: Path) -> None:
    folder = workdir / "results/variations/nu/gain_noise"
    with h5py.File(folder / "test.h5") as f:
        assert f.attrs["variation"] == "gain_noise" and len(f["y"]) > 60  # 3 x 40 events, all in test
    report = workdir / "results/report/nu/classification"
    result = json.loads((report / "variations.json").read_text())
    varied = result["variations"]["gain_noise"]
    assert varied["check"]["passed"]  # charge x1.05: the mean total charge rises in every class
    total = varied["check"]["variables"]["observables/total_charge"]["classes"]
    assert all(c["paired"] and c["shift"] > 0 and c["significance"] > 3 for c in total.values())
    nova = varied["models"]["nova"]["auc"]
    assert nova["paired"] and nova["shift_err"] > 0  # the twin holds the same interactions, in the same order
    assert nova["shift"] == pytest.approx(nova["value"] - nova["twin"])
    twin = json.loads((workdir / "results/variations/nu/nominal/eval/nova/metrics.json").read_text())
    assert twin["metrics"]["test/auc"]["value"] == pytest.approx(nova["twin"])
    assert "holds" in varied["ranking"]
    metrics = json.loads((folder / "eval/nova/metrics.json").read_text())
    nominal = json.loads((workdir / "results/eval/nu/nova/metrics.json").read_text())
    assert metrics["working_points"] == nominal["working_points"]  # set on the nominal validation split
    assert_figure(report / "variations.png")
    for task in ("segmentation", "pixel_regression", "energy_regression"):
        assert (workdir / f"results/report/nu/{task}/variations.json").is_file()


def test_performance_in_bins_of_the_jet_mass(workdir: Path) -> None:
    report = workdir / "results/report/qg/classification"
    binned = json.loads((report / "binned.json").read_text())
    (mass,) = binned["variables"]
    assert mass["variable"] == "observables/mass" and mass["edges"] == [0.0, 70.0, 300.0]
    with h5py.File(workdir / "results/images/qg/test.h5") as f:
        mass_gev, n_test = f["observables/mass"][...], len(f["y"])
    n_low = int(np.sum(mass_gev < 70.0))
    gbdt = mass["models"]["gbdt_qg"]
    assert [b["n"] for b in gbdt] == [n_low, n_test - n_low]
    assert all(0.0 <= b["metrics"]["auc"]["value"] <= 1.0 for b in gbdt if b["n"] > 10)
    assert_figure(report / "binned.png")


def test_a_two_point_learning_curve(workdir: Path) -> None:
    report = workdir / "results/report/qg/classification"
    curve = json.loads((report / "learning_curve.json").read_text())
    for model in ("cnn", "gbdt_qg"):
        points = curve["models"][model]["points"]
        assert [p["train_events"] for p in points] == [60, curve["train_events"]] and points[-1]["full"]
    with h5py.File(workdir / "results/learning/qg/n60/train.h5") as f:
        assert len(f["y"]) == 60 and f.attrs["subset_seed"] == 7
    assert_figure(report / "learning_curve.png")


def test_no_variation_or_subset_feeds_a_validation(workdir: Path) -> None:
    """Every training and fit of the plan reads the nominal validation split; variations only ever reach an
    evaluation's test file."""
    result = snakemake(workdir, "-n", "--forceall", "-p")
    assert result.returncode == 0, result.stderr
    commands = [line.removeprefix("Shell command: ") for line in result.stdout.splitlines()]
    commands = [c for c in commands if c.startswith("detcnn ")]
    fits = [c for c in commands if c.startswith(("detcnn train ", "detcnn fit-baseline "))]
    assert len(fits) > 20
    for command in fits:
        train, val = (re.search(rf"--{flag} (\S+)", command).group(1) for flag in ("train", "val"))
        assert "variations" not in train and re.fullmatch(r"results/images/\w+/val\.h5", val), command
        assert re.fullmatch(r"results/(images/\w+/train|learning/\w+/n\d+/train)\.h5", train), command
    evaluations = [c for c in commands if c.startswith("detcnn evaluate ") and "/variations/" in c]
    assert len(evaluations) == 2 * 10  # the twin and the variation, every model of nu
    assert all(re.search(r"--test results/variations/nu/(nominal|gain_noise)/test\.h5", c) for c in evaluations)


def test_a_new_study_reruns_nothing_nominal(workdir: Path) -> None:
    """A variation or a learning-curve size added to the config plans its own jobs only: the nominal image files
    do not depend on the studies (their rasterise step and config hash see the dataset without them)."""

    def more_studies(cfg: dict) -> None:
        cfg["datasets"]["qg"]["learning_curve"]["sizes"] = [60, 120]
        cfg["datasets"]["nu"]["variations"]["noisier"] = {"readout": {"noise_ke": 10.0}}

    result = snakemake_edited(workdir, more_studies, "-n")
    assert result.returncode == 0, result.stderr
    planned = set(re.findall(r"^(\w+)\s+\d+$", result.stdout.split("Job stats:")[-1], re.M)) - {"total", "all"}
    assert planned and not planned & {"generate", "rasterise", "train", "fit_baseline", "evaluate", "export"}, planned
    assert {"subset", "train_subset", "rasterise_variation", "evaluate_variation"} <= planned, planned
