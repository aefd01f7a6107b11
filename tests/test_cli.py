"""The command line: every stage is a subcommand, every file a flag of its own, each shared flag declared
once; the user's mistakes end with exit code 2 and one line naming the file or key and the fix (what a
Snakemake log then shows), and anything else keeps its traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from detcnn import cli
from detcnn.cli import build_parser, main

SHARED = ("--seed", "--dataset", "--tracking-uri", "--threads", "--efficiencies", "--purities", "--n-bootstrap")


def test_every_stage_is_a_subcommand() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"generate", "rasterise", "init-tracking", "train", "fit-baseline", "evaluate", "report", "models",
            "catalogue"} <= set(commands)  # fmt: skip


def test_shared_flags_are_declared_once() -> None:
    source = Path(cli.__file__).read_text()
    for flag in SHARED:
        assert len(re.findall(rf'"{flag}"', source)) == 1, flag
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"--seed", "--dataset", "--threads", "--tracking-uri"} <= set(commands["train"]._option_string_actions)
    assert set(SHARED) <= set(commands["evaluate"]._option_string_actions)


def test_models_and_catalogue_list_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    assert {"komiske_cnn", "resnet", "densenet"} <= set(json.loads(capsys.readouterr().out))
    assert main(["catalogue"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["tasks"]["segmentation"]["network"] == "segmenter"
    assert listed["baselines"]["calorimetric"] == "energy_regression"
    assert listed["sources"]["detector_sim"]["samples"] == ["nue_cc", "numu_cc", "nc"]


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.root"
    config = json.dumps({"source": "root_files", "split": {"train": 0.7, "val": 0.15, "test": 0.15},
                         "images": {"n_pix": 9}})  # fmt: skip
    argv = ["-q", "rasterise", "--inputs", str(missing), "--dataset", "qg", "--dataset-config", config, "--seed", "1",
            "--stats", str(tmp_path / "stats.json")]  # fmt: skip
    for split in ("train", "val", "test"):
        argv += [f"--{split}", str(tmp_path / f"{split}.h5")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "detcnn rasterise: error:" in err and "missing.root" in err and "Fix:" in err
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir()), "nothing half-written"


def test_bad_json_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-q", "fit-baseline", "--train", str(tmp_path / "t.h5"), "--val", str(tmp_path / "v.h5"),
            "--model", str(tmp_path / "baseline.json"),
            "--dataset", "qg", "--name", "cut", "--efficiencies", "0.5", "--baseline-config", "{not json"]  # fmt: skip
    assert main(argv) == 2
    assert "--baseline-config is not valid JSON" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the project's input errors become one line: a KeyError or ValueError from inside is a bug."""
    from detcnn.stages import init_tracking

    def broken(**kwargs: object) -> None:
        raise KeyError("internal")

    monkeypatch.setattr(init_tracking, "run", broken)
    with pytest.raises(KeyError, match="internal"):
        main(["init-tracking", "--marker", "unused.json"])
