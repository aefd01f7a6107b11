"""Data-parallel training on the CPU: one process with T threads against P processes (DistributedDataParallel,
gloo, under torchrun) with T / P threads each, the same model, data, global batch and epochs.

    python bench/bench_ddp.py results/images/qg --model cnn --epochs 3 --repeat 3

Runs ``detcnn train`` as the workflow does (the processes' DDP is the model's own ``train`` path) and reads
the seconds of each epoch from its history; reports the median over epochs 2.. of ``--repeat`` runs, in
images/s, to docs/benchmarks.md (section ``ddp-cpu``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section

ROOT = Path(__file__).resolve().parents[1]


def train_once(images: Path, model: dict, out: Path, processes: int, threads: int) -> tuple[list[float], list[str]]:
    """Seconds per epoch and the history rows of one training of ``model`` with ``processes`` ranks."""
    from detcnn.training.distributed import TORCHRUN

    out.mkdir(parents=True)
    uri = f"sqlite:///{out / 'mlflow.db'}"
    files = ["--train", images / "train.h5", "--val", images / "val.h5", "--weights", out / "weights.pt", "--config",
             out / "config.json", "--history", out / "history.csv", "--run", out / "run.json"]  # fmt: skip
    args = ["-q", "train", *map(str, files), "--checkpoint", str(out / "ckpt.pt"), "--dataset", "bench", "--name",
            f"p{processes}", "--model-config", json.dumps(model), "--seed", "1", "--tracking-uri", uri,
            "--threads", str(threads)]  # fmt: skip
    launcher = [*TORCHRUN, f"--nproc-per-node={processes}", "-m", "--"] if processes > 1 else [sys.executable, "-m"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([*launcher, "detcnn.cli", *args], check=True, env=env, cwd=out, capture_output=True)
    rows = (out / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    seconds = [float(dict(zip(header, r.split(","), strict=True))["seconds"]) for r in rows[1:]]
    return seconds, rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("images", type=Path, help="folder of train.h5, val.h5 (e.g. results/images/qg)")
    p.add_argument("--model", default="cnn", help="a model of --config")
    p.add_argument("--config", type=Path, default=ROOT / "config/config.yaml")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="CPU threads in all")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-doc", action="store_true")
    a = p.parse_args()
    entry = yaml.safe_load(a.config.read_text())["models"][a.model]
    model = {**entry, "train": {**entry.get("train", {}), "epochs": a.epochs, "patience": a.epochs, "device": "cpu"}}
    from detcnn.io.images import ImageFile

    with ImageFile(a.images / "train.h5") as f:
        n_train = f.n_events
    results: dict[int, list[float]] = {}
    histories: dict[int, list[str]] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.repeat):
            for processes in (1, a.processes):
                out = Path(tmp) / f"{processes}_{k}"
                t0 = time.perf_counter()
                seconds, histories[processes] = train_once(a.images.resolve(), model, out, processes,
                                                           max(1, a.threads // processes))  # fmt: skip
                results.setdefault(processes, []).extend(seconds[1:])
                print(f"{processes} process(es), run {k + 1}: {seconds} s/epoch, {time.perf_counter() - t0:.0f} s",
                      flush=True)  # fmt: skip
    rate = {n: n_train / statistics.median(s) for n, s in results.items()}
    header = histories[1][0].split(",")
    last = {n: dict(zip(header, map(float, h[-1].split(",")), strict=True)) for n, h in histories.items()}
    diff = max(abs(last[a.processes][k] / last[1][k] - 1) for k in header if k.startswith(("train/", "val/")))
    lines = [
        f"`python bench/bench_ddp.py {a.images} --model {a.model} --epochs {a.epochs} --repeat {a.repeat}` "
        f"({platform.machine()}, {os.cpu_count()} cores, torch under `detcnn train`; 1-minute load {load:.2f} "
        f"at the start). The model `{a.model}` of `{a.config.name}` ({entry['arch']}), batch "
        f"{model['train'].get('batch_size', 128)} (global), {n_train:,} training images; median over epochs "
        f"2..{a.epochs} of {a.repeat} runs.",
        "",
        "| processes x threads | s/epoch | train images/s | relative |",
        "|---|---|---|---|",
    ]
    for n in (1, a.processes):
        lines.append(f"| {n} x {max(1, a.threads // n)} | {statistics.median(results[n]):.1f} | {rate[n]:,.0f} | "
                     f"{rate[n] / rate[1]:.2f} |")  # fmt: skip
    lines += ["", f"- Largest relative difference of the last epoch's losses and validation metrics between the two: "
              f"{diff:.1e} (DDP averages the gradients of each rank's half batch: the same step as one process, up "
              "to the order of the sums)."]  # fmt: skip
    text = "## Data-parallel training on the CPU\n\n" + "\n".join(lines)
    print(text)
    if not a.no_doc:
        write_section("ddp-cpu", text)


if __name__ == "__main__":
    main()
