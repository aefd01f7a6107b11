"""Inference images/s of ONNX Runtime against PyTorch on this CPU, for trained networks of a finished run.

    python bench/bench_onnx.py results/models/qg/cnn results/models/qg/resnet results/models/nu/unet

Each folder needs ``weights.pt`` and ``model.onnx`` (the export rule) and the dataset's test images
(``results/images/<dataset>/test.h5``). The same images, batch size and thread count for both; the median
of ``--repeat`` passes over ``--n-images`` test images after one warm-up pass. Writes the ``onnx`` section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
from _table import write_section
from _timing import median_time


def torch_pass(model: object, batches: list[np.ndarray]) -> None:
    import torch

    with torch.inference_mode():
        for b in batches:
            model(torch.from_numpy(b))


def onnx_pass(session: object, batches: list[np.ndarray]) -> None:
    for b in batches:
        session.run(["output"], {"images": b})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", type=Path, nargs="+", help="results/models/<dataset>/<model> folders")
    p.add_argument("--n-images", type=int, default=2048)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-doc", action="store_true")
    a = p.parse_args()
    import torch

    from detcnn.deploy.onnx_export import onnx_session
    from detcnn.io.images import ImageFile
    from detcnn.training.network import load_network

    rows = []
    for folder in a.models:
        dataset = folder.parent.name
        test = folder.parents[2] / "images" / dataset / "test.h5"
        with ImageFile(test) as f:
            n = min(a.n_images, f.n_events)
            x = f.read("X", np.arange(f.n_events) < n).astype(np.float32)
        model, payload = load_network(folder / "weights.pt")
        batches = [x[i : i + a.batch_size] for i in range(0, n, a.batch_size)]
        for threads in a.threads:
            torch.set_num_threads(threads)
            session = onnx_session(folder / "model.onnx", threads=threads)

            t_torch = median_time(lambda m=model, bs=batches: torch_pass(m, bs), a.repeat, warmup=True)
            t_onnx = median_time(lambda s=session, bs=batches: onnx_pass(s, bs), a.repeat, warmup=True)
            rows.append((f"{dataset}/{folder.name}", payload["arch"], "x".join(map(str, x.shape[1:])), threads,
                         n / t_torch, n / t_onnx))  # fmt: skip
            print(rows[-1], flush=True)
    lines = [
        f"`python bench/bench_onnx.py {' '.join(map(str, a.models))}` ({platform.machine()}, {os.cpu_count()} "
        f"cores; torch {torch.__version__} in inference mode against ONNX Runtime's CPU provider, the same "
        f"{a.n_images} test images in batches of {a.batch_size}, median of {a.repeat} passes after a warm-up).",
        "",
        "| network | arch | image | threads | PyTorch images/s | ONNX Runtime images/s | ONNX / PyTorch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, arch, shape, threads, r_torch, r_onnx in rows:
        lines.append(
            f"| {name} | {arch} | {shape} | {threads} | {r_torch:,.0f} | {r_onnx:,.0f} | {r_onnx / r_torch:.2f} |"
        )
    text = "## ONNX Runtime against PyTorch: inference on the CPU\n\n" + "\n".join(lines)
    print(text)
    if not a.no_doc:
        write_section("onnx", text)


if __name__ == "__main__":
    main()
