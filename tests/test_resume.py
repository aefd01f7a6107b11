"""Trainings survive what clusters do to them: a checkpoint after every epoch resumes the same training (the
same numbers as never stopping), SIGTERM ends a job with its run KILLED and its checkpoint kept, the rerun
continues the same MLflow run; several processes train as one (DDP on the CPU with gloo); concurrent jobs
on one machine get distinct GPUs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from detcnn.io.images import ImageWriter
from detcnn.tasks import TASKS
from detcnn.training.checkpoint import Checkpoint
from detcnn.training.data import TensorSource
from detcnn.training.device import GpuClaim, claim_gpus, seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.network import build_model

ATTRS = {"channels": ["a", "b"], "class_names": ["background", "signal"]}
MODEL = {"arch": "komiske_cnn", "args": {"filters": [8, 8, 8], "dense": 16, "dropout": 0.0}}


def toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noise images; class 1 has a bright 3x3 blob in the upper-right corner."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n, 2, 12, 12)).astype(np.float32)
    y = rng.integers(0, 2, n)
    X[y == 1, 0, 8:11, 8:11] += 2.0
    return X, y


def write_splits(folder: Path, n_train: int = 256, n_val: int = 64) -> dict[str, Path]:
    paths = {}
    for seed, (name, n) in enumerate({"train": n_train, "val": n_val}.items()):
        X, y = toy(n, seed)
        paths[name] = folder / f"{name}.h5"
        with ImageWriter(paths[name], X.shape[1:], {**ATTRS, "config_hash": "toy"}) as w:
            w.append(X, y, {"dummy": np.zeros(n)})
    return paths


def _train(dropout: float, resume_from: Checkpoint | None, stop_after: int | None, epochs: int = 5):
    X, y = toy(300, 0)
    Xv, yv = toy(100, 1)
    train, val = TensorSource(X, y), TensorSource(Xv, yv)
    gen = seed_everything(4)
    args = {**MODEL["args"], "dropout": dropout}
    model, _ = build_model("komiske_cnn", args, ATTRS, 12, train.scaling())
    plugin = TASKS["classification"].plugin(ATTRS, {})
    settings = TrainSettings(epochs=epochs, batch_size=32, lr=3e-3, patience=epochs, lr_schedule="cosine")

    def on_epoch(row: dict) -> None:
        if stop_after is not None and row["epoch"] == stop_after:
            raise KeyboardInterrupt  # the job dies here, after its checkpoint of this epoch

    resume = resume_from.load() if resume_from is not None else None
    return fit(model, train, val, plugin, settings, torch.device("cpu"), gen, on_epoch, progress=False,
               checkpoint=resume_from, resume=resume)  # fmt: skip


def test_a_resumed_training_is_the_training_that_never_stopped(tmp_path: Path) -> None:
    """Stopped after epoch 2 and resumed, a training with dropout and a cosine schedule gives the history and
    weights of one that ran straight through: every state of the next epoch was in the checkpoint."""
    straight, h_straight = _train(0.25, None, None)
    ckpt = Checkpoint(tmp_path / "c.pt", key="k")
    with pytest.raises(KeyboardInterrupt):
        _train(0.25, ckpt, stop_after=2)
    assert ckpt.load()["epoch"] == 2
    resumed, h_resumed = _train(0.25, Checkpoint(tmp_path / "c.pt", key="k"), None)
    assert [r["epoch"] for r in h_resumed.rows] == [1, 2, 3, 4, 5]
    for a, b in zip(h_straight.rows, h_resumed.rows, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert Checkpoint(tmp_path / "c.pt", key="other").load() is None, "a checkpoint of another config is stale"


def _command(paths: dict[str, Path], out: Path, uri: str, model: dict, checkpoint: Path) -> list[str]:
    files = ["--train", paths["train"], "--val", paths["val"], "--weights", out / "weights.pt", "--config",
             out / "config.json", "--history", out / "history.csv", "--run", out / "run.json"]  # fmt: skip
    return [sys.executable, "-m", "detcnn.cli", "-q", "train", *map(str, files), "--checkpoint", str(checkpoint),
            "--dataset", "toy", "--name", "slow", "--model-config", json.dumps(model), "--seed", "1",
            "--tracking-uri", uri]  # fmt: skip


def _runs(uri: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    return client.search_runs([client.get_experiment_by_name("detcnn/toy").experiment_id])


def _wait_for_epoch(checkpoint: Path, epoch: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        if checkpoint.is_file():
            try:
                if torch.load(checkpoint, weights_only=True)["epoch"] >= epoch:
                    return
            except Exception:  # caught mid-rename: look again
                pass
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of epoch {epoch} (process ended: {proc.poll()})")


def test_sigterm_saves_and_the_rerun_resumes_the_same_run(tmp_path: Path) -> None:
    from detcnn.tracking import init_store

    paths = write_splits(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri)
    model = {**MODEL, "args": {**MODEL["args"], "filters": [32, 32, 32], "dense": 64},
             "train": {"epochs": 6, "batch_size": 16, "patience": 6}}  # fmt: skip
    checkpoint = tmp_path / "ckpt" / "slow.pt"
    out = tmp_path / "model"
    command = _command(paths, out, uri, model, checkpoint)
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    _wait_for_epoch(checkpoint, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by signal 15" in err and "resume" in err
    saved = torch.load(checkpoint, weights_only=True)["epoch"]
    assert 2 <= saved < 6 and not (out / "weights.pt").exists()
    (killed,) = _runs(uri)
    assert killed.info.status == "KILLED", "a stopped job's run is closed, not left RUNNING"
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = json.loads((out / "config.json").read_text())
    assert resolved["resumed_after_epoch"] == saved
    epochs = [int(line.split(",")[0]) for line in (out / "history.csv").read_text().splitlines()[1:]]
    assert epochs == list(range(1, 7)), "every epoch once"
    (run,) = _runs(uri)
    assert run.info.run_id == killed.info.run_id and run.info.status == "FINISHED"
    from mlflow.tracking import MlflowClient

    steps = [m.step for m in MlflowClient(tracking_uri=uri).get_metric_history(run.info.run_id, "val/loss")]
    assert sorted(steps) == list(range(1, 7))
    assert not checkpoint.exists(), "a finished training leaves no checkpoint"


def test_a_sigterm_waits_for_a_store_write_to_finish() -> None:
    from detcnn.errors import Interrupted, sigterm_waits, stop_on_sigterm

    done = []
    with pytest.raises(Interrupted) as stopped, stop_on_sigterm():
        with sigterm_waits():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler has run by now, and waited
            done.append("the write finished")
        done.append("never: the block's end raised")
    assert done == ["the write finished"] and stopped.value.signal_number == signal.SIGTERM


def test_two_processes_train_like_one_on_the_same_global_batch(tmp_path: Path) -> None:
    """DistributedDataParallel on the CPU (gloo, 2 processes under torchrun), each rank half of every batch of
    64: the loss curve is the single process's within 1e-4 (relative; the sums are reduced in another
    order), and only rank 0 writes."""
    from detcnn.tracking import init_store

    paths = write_splits(tmp_path, n_train=256, n_val=64)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri)
    model = {**MODEL, "train": {"epochs": 3, "batch_size": 64, "patience": 3, "device": "cpu"}}
    histories = {}
    from detcnn.training.distributed import TORCHRUN

    for name, launcher in {"one": [], "two": [*TORCHRUN[1:], "--nproc-per-node=2", "-m", "--"]}.items():
        out = tmp_path / name
        command = _command(paths, out, uri, model, tmp_path / f"{name}.pt")
        command[command.index("--name") + 1] = name
        if launcher:
            command = [sys.executable, *launcher, *command[2:]]  # torchrun -m -- detcnn.cli ...
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        rows = (out / "history.csv").read_text().splitlines()
        header = rows[0].split(",")
        histories[name] = [dict(zip(header, map(float, r.split(",")), strict=True)) for r in rows[1:]]
        assert json.loads((out / "config.json").read_text())["train"]["processes"] == (2 if launcher else 1)
    for a, b in zip(histories["one"], histories["two"], strict=True):
        for key in ("train/loss", "val/loss", "val/auc"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), (key, a[key], b[key])
    assert len(_runs(uri)) == 2, "one MLflow run per training, whatever its processes"


def test_concurrent_jobs_get_distinct_gpus(tmp_path: Path) -> None:
    """The GPU locks (fcntl, one file per GPU index) without a GPU: three jobs on a machine of three GPUs get
    0, 1, 2; a fourth is refused with the fix; a freed GPU (or one whose job was killed) is taken again."""
    locks = tmp_path / "locks"
    claims = [GpuClaim(locks, 1, total=3) for _ in range(3)]
    assert [c.indices for c in claims] == [[0], [1], [2]]
    with pytest.raises(RuntimeError, match="--resources gpu=3"):
        GpuClaim(locks, 1, total=3)
    claims[1].release()
    assert GpuClaim(locks, 1, total=3).indices == [1]
    for c in claims:
        c.release()
    code = f"from detcnn.training.device import GpuClaim; c = GpuClaim({str(locks)!r}, 2, total=3); print(c.indices)"
    holder = subprocess.Popen([sys.executable, "-c", code + "; import time; time.sleep(60)"], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout.readline().strip() == "[0, 1]"
    assert GpuClaim(locks, 1, total=3).indices == [2]
    holder.kill()
    holder.wait()
    assert GpuClaim(locks, 2, total=3).indices == [0, 1], "the killed job's GPUs are free again"
    assert claim_gpus(0, locks, total=3) is None and claim_gpus(1, locks, total=0) is None


def test_a_scheduler_placed_job_claims_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert claim_gpus(1, tmp_path, total=4) is None, "SLURM gives the job its own GPUs"
