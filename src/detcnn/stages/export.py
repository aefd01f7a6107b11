"""The export stage: a trained network (``weights.pt``) as ``model.onnx`` for ONNX Runtime, checked
against PyTorch on test images before it is kept, and logged to the network's training run.

Outputs: ``model.onnx`` (input ``images`` ``(batch, C, H, W)`` float32, the input scaling inside the
graph) and ``export.json`` (opset, input shape, the largest ONNX-vs-PyTorch difference on the checked
images, the file's size).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import InputError
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageFile

Paths = str | os.PathLike[str]
TOLERANCE = 1e-4  # relative to the output's scale: float32 arithmetic in another order, nothing more


def run(*, weights: Paths, test: Paths, onnx: Paths, summary: Paths, train_run: Paths | None = None,
        n_check: int = 64, threads: int = 1) -> dict[str, Any]:  # fmt: skip
    """Export the network of ``weights``, check it on the first ``n_check`` events of ``test`` with ``threads``
    CPU threads (PyTorch and ONNX Runtime), write ``onnx`` and ``summary`` atomically and log the ONNX file to
    the training run of ``train_run``."""
    from detcnn.deploy.onnx_export import OPSET, export_onnx, parity
    from detcnn.training.device import configure_threads
    from detcnn.training.network import load_network

    if not Path(weights).is_file():
        raise InputError("no trained network here", path=weights, fix="run the train rule for this model first")
    with ImageFile(test) as f:
        n = min(n_check, f.n_events)
        if n == 0:
            raise InputError("no test events to check the export on", path=test,
                             fix="rasterise more events or give the test split a share")  # fmt: skip
        images = f.read("X", np.arange(f.n_events) < n).astype(np.float32)
    configure_threads(threads)
    model, payload = load_network(weights)
    with atomic_path(onnx) as tmp:
        export_onnx(model, images[:2], tmp)
        check = parity(model, tmp, images, threads)
        if not check["max_rel_diff"] <= TOLERANCE:
            raise RuntimeError(f"ONNX Runtime differs from PyTorch by {check['max_abs_diff']:.3g} on {test} "
                               f"(network '{payload['arch']}'): an operation exported wrongly")  # fmt: skip
    info = {"arch": payload["arch"], "task": payload.get("task"), "opset": OPSET, "input": "images",
            "input_shape": ["batch", *images.shape[1:]], "output": "output", **check,
            "bytes": Path(onnx).stat().st_size}  # fmt: skip
    write_json(summary, info)
    run_id = json.loads(Path(train_run).read_text()).get("mlflow_run_id") if train_run else None
    if run_id:
        _log_to_run(Path(train_run), run_id, [Path(onnx), Path(summary)])
    return info


def _log_to_run(run_file: Path, run_id: str, paths: list[Path]) -> None:
    from mlflow.tracking import MlflowClient

    from detcnn.tracking import retrying

    uri = json.loads(run_file.read_text()).get("tracking_uri")
    client = MlflowClient(tracking_uri=uri)
    for path in paths:
        retrying(client.log_artifact, run_id, str(path), "onnx")
