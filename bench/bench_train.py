"""Training benchmark: throughput and test AUC of the default networks on a device, fp32 and bf16 AMP.

    python bench/bench_train.py results/images/qg --device cpu --threads 2 --epochs 3
    python bench/bench_train.py results/images/qg --device cuda --epochs 10 --amp both

Uses the same training loop as the workflow (no MLflow), so the numbers are the workflow's.
Results go to docs/benchmarks.md (section ``train-<device>``), or to --out.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from detcnn.evaluation.metrics import auc
from detcnn.io.images import read_attrs
from detcnn.train import build_model
from detcnn.training.data import open_source, predict
from detcnn.training.device import configure_threads, resolve_device, seed_everything
from detcnn.training.loop import TASKS, TrainSettings, fit

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section

MODELS = {
    "cnn (komiske_cnn, 32 filters)": ("komiske_cnn", {"filters": [32, 32, 32], "kernels": [8, 4, 4], "dense": 128}),
    "cnn (komiske_cnn, paper: 64 filters)": ("komiske_cnn", {"filters": [64, 64, 64], "kernels": [8, 4, 4]}),
    "resnet (width 16, [1, 1, 1])": ("resnet", {"width": 16, "layers": [1, 1, 1]}),
}


def models_from_config(path: Path) -> dict[str, tuple[str, dict]]:
    """``{name: (arch, args)}`` of the ``models`` section of a workflow config."""
    import yaml

    cfg = yaml.safe_load(path.read_text())
    return {name: (m["arch"], dict(m.get("args", {}))) for name, m in cfg["models"].items()}


def run(
    name: str, arch: str, args: dict, images: Path, device: torch.device, amp: bool, epochs: int, batch_size: int
) -> dict:
    attrs = read_attrs(images / "train.h5")
    train, val, test = (open_source(images / f"{s}.h5", 64.0) for s in ("train", "val", "test"))
    gen = seed_everything(1)
    model, _ = build_model(arch, args, attrs, train.X.shape[-1], train.scaling())
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=1e-3, patience=epochs, amp=amp)
    model, history = fit(model, train, val, TASKS["classification"](), settings, device, gen, progress=False)
    steady = history.rows[1:] or history.rows  # the first epoch includes warm-up (cuDNN autotune, allocations)
    train_rate = len(train) * len(steady) / sum(r["seconds"] for r in steady)
    predict(model, test, device)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    proba = predict(model, test, device)
    infer_rate = len(test) / (time.perf_counter() - t0)
    return {
        "model": name,
        "precision": "bf16 autocast" if amp else "fp32",
        "params": sum(p.numel() for p in model.parameters()),
        "train_img_s": train_rate,
        "epoch_s": len(train) / train_rate,
        "infer_img_s": infer_rate,
        "test_auc": auc(test.labels, proba[:, 1]),
        "best_epoch": history.best_epoch,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("images", type=Path, help="folder with train.h5, val.h5, test.h5")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--amp", choices=["off", "on", "both"], default="off")
    p.add_argument("--models", nargs="+", help="names to run (default: all of MODELS or of --config)")
    p.add_argument("--config", type=Path, help="take the models from this workflow config (e.g. config/zoo.yaml)")
    p.add_argument("--out", type=Path, help="write the markdown here instead of docs/benchmarks.md")
    a = p.parse_args()
    configure_threads(a.threads)
    device = resolve_device(a.device)
    amps = {"off": [False], "on": [True], "both": [False, True]}[a.amp]
    models = models_from_config(a.config) if a.config else MODELS
    names = a.models or list(models)
    rows = [run(m, *models[m], a.images, device, amp, a.epochs, a.batch_size) for m in names for amp in amps]
    what = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {a.threads} threads"
    )
    lines = "\n".join(
        f"| {r['model']} | {r['precision']} | {r['params']:,} | {r['train_img_s']:,.0f} | {r['epoch_s']:.1f} | "
        f"{r['infer_img_s']:,.0f} | {r['test_auc']:.4f} (epoch {r['best_epoch']}) |"
        for r in rows
    )
    table = f"""
## Training on {device.type.upper()} ({what})

`python bench/bench_train.py {a.images} --device {a.device} --epochs {a.epochs} --amp {a.amp} --batch-size {a.batch_size}{" --config " + str(a.config) if a.config else ""}`
(torch {torch.__version__}); training rate over epochs 2..{a.epochs} (the first includes warm-up).

| model | precision | parameters | train images/s | s/epoch | inference images/s | test AUC after {a.epochs} epochs |
|---|---|---|---|---|---|---|
{lines}
"""
    print(table)
    if a.out:
        a.out.write_text(table)
    else:
        write_section(f"train-{device.type}", table)


if __name__ == "__main__":
    main()
