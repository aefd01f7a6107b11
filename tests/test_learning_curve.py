"""The learning-curve report (detcnn.stages.learning_curve) on hand-made evaluations: the points of each model
ordered by training events with the whole train split last (its size read from the train file), the study
metrics and the figure's working-point metric, the table and the checks of its inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from detcnn.errors import ConfigError, InputError
from detcnn.io.images import ImageWriter
from detcnn.stages import learning_curve
from tests.conftest import assert_figure
from tests.report_inputs import PNG, metric, summary

FULL = 900  # events of the train split


def write_metrics(path: Path, model: str, kind: str, auc: tuple[float, float], rej: float | None = None,
                  task: str = "classification") -> Path:  # fmt: skip
    values = {"auc": metric(*auc), "accuracy": metric(0.6, 0.01)}
    extra: dict[str, Any] = {"task": task, "n_test": 500}
    if rej is not None:
        values["rej_at_0.5"] = metric(rej, rej / 10)
        extra["working_points"] = {"rej_at_0.5": 0.42}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary(model, kind, values, **extra)))
    return path


@pytest.fixture
def train(tmp_path: Path) -> Path:
    path = tmp_path / "train.h5"
    with ImageWriter(path, (1, 2, 2), {"class_names": ["g", "q"], "channels": ["pt"]}) as w:
        w.append(np.zeros((FULL, 1, 2, 2), np.float32), np.arange(FULL) % 2, {"mass": np.ones(FULL)})
    return path


@pytest.fixture
def points(tmp_path: Path) -> list[tuple[str, int | None, Path]]:
    """The CNN at 300 and 100 events and the whole split, the BDT at the whole split and 100 (given unordered)."""
    cnn = [(300, (0.74, 0.02), 8.0), (None, (0.80, 0.01), 15.0), (100, (0.65, 0.03), 4.0)]
    bdt = [(None, (0.77, 0.01), None), (100, (0.72, 0.02), None)]
    out = []
    for model, kind, rows in (("cnn", "network", cnn), ("bdt", "baseline", bdt)):
        for n, auc, rej in rows:
            path = tmp_path / f"n{n or 'all'}" / model / "metrics.json"
            out.append((model, n, write_metrics(path, model, kind, auc, rej)))
    return out


def run(points: list[Any], train: Path, folder: Path) -> dict[str, Any]:
    return learning_curve.run(dataset="qg", task="classification", points=points, train=train,
                              table=folder / "learning_curve.md", summary=folder / "learning_curve.json",
                              figure=folder / "learning_curve.png")  # fmt: skip


def test_points_ordered_by_size_with_the_whole_split_last(points: list[Any], train: Path, tmp_path: Path) -> None:
    out = run(points, train, tmp_path / "out")
    assert out["train_events"] == FULL and list(out["models"]) == ["cnn", "bdt"]
    cnn = out["models"]["cnn"]["points"]
    assert [p["train_events"] for p in cnn] == [100, 300, FULL] and [p["full"] for p in cnn] == [False, False, True]
    assert [p["metrics"]["auc"]["value"] for p in cnn] == [0.65, 0.74, 0.80]
    assert cnn[-1]["metrics"]["rej_at_0.5"] == {"value": 15.0, "err": 1.5}
    assert [p["train_events"] for p in out["models"]["bdt"]["points"]] == [100, FULL]
    assert "rej_at_0.5" not in out["models"]["bdt"]["points"][0]["metrics"]
    assert out["metrics"] == ["auc", "rej_at_0.5"]  # accuracy is no study metric of classification
    assert out["figure_metrics"] == ["auc", "rej_at_0.5"]  # the headline and the first working point


def test_learning_curve_writes_its_three_files(points: list[Any], train: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    run(points, train, folder)
    text = (folder / "learning_curve.md").read_text()
    assert "bootstrap errors only: one training per point" in text and f"whole train split, {FULL} events" in text
    assert "| cnn | network | 100 | 0.650 ± 0.030 | 4.00 ± 0.40 |" in text
    assert f"| cnn | network | {FULL} (all) | 0.800 ± 0.010 | 15.0 ± 1.5 |" in text
    assert "| bdt | baseline | 100 | 0.720 ± 0.020 | - |" in text
    assert json.loads((folder / "learning_curve.json").read_text())["models"]["bdt"]["kind"] == "baseline"
    assert (folder / "learning_curve.png").read_bytes()[:8] == PNG
    assert_figure(folder / "learning_curve.png")


def test_learning_curve_input_checks(points: list[Any], train: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"model 'cnn' has two points of {FULL} training events"):
        run([*points, ("cnn", FULL, points[1][2])], train, tmp_path / "out")
    with pytest.raises(InputError, match="a subset of 1000 training events of a train split of 900"):
        run([("cnn", 1000, points[0][2])], train, tmp_path / "out")
    with pytest.raises(InputError, match="the evaluation is of model 'cnn' for task 'classification', not 'bdt'"):
        run([("bdt", 100, points[0][2])], train, tmp_path / "out")
    assert not (tmp_path / "out").exists()
