"""A training killed as a node failure kills it (SIGKILL, no chance to clean up) resumes when the workflow
is run again: at the next epoch, in the same MLflow run, with every epoch once in its history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, seed_events, snakemake, without_studies, workflow_folder

pytestmark = pytest.mark.workflow
EPOCHS = 8


def _training_processes(name: str) -> list[int]:
    """PIDs of the Python processes running ``detcnn train ... --name <name>``."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in args if a]
        if len(args) > 3 and "python" in Path(args[0]).name and "train" in args and "--name" in args:
            if args[args.index("--name") + 1] == name:
                pids.append(int(proc.name))
    return pids


def test_a_killed_training_resumes_in_the_same_run(workdir: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    cfg["datasets"] = {"qg": without_studies(cfg["datasets"]["qg"])}
    cfg["models"] = {"slow": {"arch": "komiske_cnn", "args": {"filters": [64, 64, 64], "dense": 64},
                              "train": {"epochs": EPOCHS, "batch_size": 16, "patience": EPOCHS}}}  # fmt: skip
    cfg["baselines"] = {"cut_n_constituents": cfg["baselines"]["cut_n_constituents"]}
    folder = workflow_folder(tmp_path, cfg)
    seed_events(folder, workdir)  # the tiny workflow's jets; the workflow up to the training (its rerun)
    target = "results/models/qg/slow/weights.pt"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    first = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", target], cwd=folder, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    log = folder / "logs/train/qg/slow.log"
    killed = False
    for _ in range(6000):
        if first.poll() is not None:
            break
        if log.is_file() and "epoch=2 " in log.read_text():
            for pid in _training_processes("slow"):
                os.kill(pid, signal.SIGKILL)
                killed = True
            break
        time.sleep(0.1)
    output = first.communicate(timeout=600)[0]
    assert killed, f"the training was not caught running:\n{output[-3000:]}"
    assert first.returncode != 0, "the killed job failed the workflow"
    checkpoint = folder / "results/checkpoints/qg/slow.pt"
    assert checkpoint.is_file() and not (folder / "results/models/qg/slow/weights.pt").exists()

    second = snakemake(folder, target)
    assert second.returncode == 0, second.stderr[-3000:]
    resolved = json.loads((folder / "results/models/qg/slow/config.json").read_text())
    assert resolved["resumed_after_epoch"] >= 2, "resumed at the next epoch, not at epoch 1"
    epochs = [int(r.split(",")[0]) for r in (folder / "results/models/qg/slow/history.csv").read_text().split()[1:]]
    assert epochs == list(range(1, EPOCHS + 1)), "every epoch once"
    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'results/mlflow/mlflow.db'}")
    exp = client.get_experiment_by_name("detcnn/qg")
    runs = client.search_runs([exp.experiment_id])
    trainings = [r for r in runs if r.info.run_name == "train/slow"]
    assert len(trainings) == 1 and trainings[0].info.status == "FINISHED", [r.info for r in trainings]
    assert not [r for r in runs if r.info.status == "RUNNING"]
    steps = [m.step for m in client.get_metric_history(trainings[0].info.run_id, "train/loss")]
    assert sorted(steps) == list(range(1, EPOCHS + 1))
    assert not checkpoint.exists()
