"""The command line: every stage is a subcommand, and bad input ends with exit code 2 and a message
that names the file and the fix (what a Snakemake log then shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detcnn.cli import build_parser, main


def test_every_stage_is_a_subcommand() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"generate", "rasterise", "init-tracking", "train", "fit-baseline", "evaluate", "report", "models"} <= set(
        commands
    )


def test_models_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    assert {"komiske_cnn", "resnet", "densenet"} <= set(json.loads(capsys.readouterr().out))


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.root"
    config = json.dumps({"split": {"train": 0.7, "val": 0.15, "test": 0.15}, "images": {"n_pix": 9}})
    argv = ["-q", "rasterise", "--inputs", str(missing), "--dataset", "qg", "--dataset-config", config, "--seed", "1"]
    for split in ("train", "val", "test"):
        argv += [f"--{split}", str(tmp_path / f"{split}.h5")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "detcnn rasterise: error:" in err and "missing.root" in err and "Fix:" in err
    assert not list(tmp_path.iterdir()), "nothing half-written"


def test_bad_json_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-q", "fit-baseline", "--train", str(tmp_path / "t.h5"), "--out-dir", str(tmp_path), "--dataset", "qg",
            "--name", "cut", "--baseline-config", "{not json"]  # fmt: skip
    assert main(argv) == 2
    assert "--baseline-config is not valid JSON" in capsys.readouterr().err
