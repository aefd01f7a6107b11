"""Training benchmark: throughput and test score of networks on a device, fp32 and bf16 AMP.

    python bench/bench_train.py results/images/qg --device cpu --threads 2 --epochs 3
    python bench/bench_train.py results/images/qg --device cuda --epochs 10 --amp both
    python bench/bench_train.py results/images/nu --config config/config.yaml --models nova unet --device cuda

Every task works (the model's ``task`` and ``task_args`` in the config): the test score is the task's
headline metric on the test split (AUC, pixel accuracy, resolution), without bootstrap.

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

from detcnn.io.images import ImageFile
from detcnn.tasks import get_task
from detcnn.training.data import open_source, predict
from detcnn.training.device import configure_threads, resolve_device, seed_everything
from detcnn.training.loop import TrainSettings, fit
from detcnn.training.network import build_model

sys.path.insert(0, str(Path(__file__).parent))
from _table import write_section

MODELS = {
    "cnn (komiske_cnn, 32 filters)": {"arch": "komiske_cnn",
                                      "args": {"filters": [32, 32, 32], "kernels": [8, 4, 4], "dense": 128}},
    "cnn (komiske_cnn, paper: 64 filters)": {"arch": "komiske_cnn",
                                             "args": {"filters": [64, 64, 64], "kernels": [8, 4, 4]}},
    "resnet (width 16, [1, 1, 1])": {"arch": "resnet", "args": {"width": 16, "layers": [1, 1, 1]}},
}  # fmt: skip


def models_from_config(path: Path) -> dict[str, dict]:
    """``{name: model entry}`` of the ``models`` section of a workflow config."""
    import yaml

    return dict(yaml.safe_load(path.read_text())["models"])


def run(name: str, entry: dict, images: Path, device: torch.device, amp: bool, epochs: int, batch_size: int) -> dict:
    files = {s: ImageFile(images / f"{s}.h5") for s in ("train", "val", "test")}
    attrs = files["train"].attrs
    task, args, limits = get_task(entry.get("task")), entry.get("task_args") or {}, entry.get("train", {})
    classes = task.target(attrs, args).classes
    rows = {
        "train": files["train"].select(classes, limits.get("max_train_events")),
        "val": files["val"].select(classes, limits.get("max_val_events")),
        "test": files["test"].select(classes),
    }
    plugin = task.plugin(attrs, args, files["train"], rows["train"])
    train, val, test = (open_source(files[s], 64.0, plugin.target, rows[s]) for s in ("train", "val", "test"))
    gen = seed_everything(1)
    model, _ = build_model(entry["arch"], dict(entry.get("args", {})), attrs, files["train"].image_shape[-1],
                           train.scaling(), task, plugin)  # fmt: skip
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=1e-3, patience=epochs, amp=amp)
    model, history = fit(model, train, val, plugin, settings, device, gen, progress=False)
    steady = history.rows[1:] or history.rows  # the first epoch includes warm-up (cuDNN autotune, allocations)
    train_rate = len(train) * len(steady) / sum(r["seconds"] for r in steady)
    predict(model, test, device, transform=plugin.predict)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    pred = predict(model, test, device, transform=plugin.predict)
    infer_rate = len(test) / (time.perf_counter() - t0)
    metric = task.HEADLINE[0]
    return {
        "model": name,
        "precision": "bf16 autocast" if amp else "fp32",
        "params": sum(p.numel() for p in model.parameters()),
        "train_img_s": train_rate,
        "epoch_s": len(train) / train_rate,
        "infer_img_s": infer_rate,
        "score": f"{metric} {plugin.score(plugin.truth(test.labels), pred)[metric]:.4f}",
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
    rows = [run(m, models[m], a.images, device, amp, a.epochs, a.batch_size) for m in names for amp in amps]
    what = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.machine()} CPU, {a.threads} threads"
    )
    lines = "\n".join(
        f"| {r['model']} | {r['precision']} | {r['params']:,} | {r['train_img_s']:,.0f} | {r['epoch_s']:.1f} | "
        f"{r['infer_img_s']:,.0f} | {r['score']} (epoch {r['best_epoch']}) |"
        for r in rows
    )
    table = f"""
## Training on {device.type.upper()} ({what})

`python bench/bench_train.py {a.images} --device {a.device} --epochs {a.epochs} --amp {a.amp} --batch-size {a.batch_size}{" --config " + str(a.config) if a.config else ""}`
(torch {torch.__version__}); training rate over epochs 2..{a.epochs} (the first includes warm-up).

| model | precision | parameters | train images/s | s/epoch | inference images/s | test score after {a.epochs} epochs |
|---|---|---|---|---|---|---|
{lines}
"""
    print(table)
    if a.out:
        a.out.write_text(table)
    else:
        write_section(f"train-{device.type}-{a.images.name}", table)


if __name__ == "__main__":
    main()
