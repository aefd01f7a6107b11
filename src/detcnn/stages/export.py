"""The export stage: a trained network (``weights.pt``) as ``model.onnx`` for ONNX Runtime and, optionally
(``export.aoti``), as ``model.pt2`` for C++ programs (AOTInductor, :mod:`detcnn.deploy.aoti_export`), each checked
against PyTorch on test images before it is kept, and logged to the network's training run.

Outputs: ``model.onnx`` (input ``images`` ``(batch, C, H, W)`` float32, the input scaling inside the
graph), ``model.pt2`` (the same model compiled, the image settings as metadata) and ``export.json`` (opset,
input shape, the largest ONNX-vs-PyTorch difference on the checked images, the file's size; the preprocessing
the network expects, from the dataset config; the package's check and size).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from detcnn.errors import ConfigError, InputError
from detcnn.io.atomic import atomic_path, write_json
from detcnn.io.images import ImageFile

Paths = str | os.PathLike[str]
TOLERANCE = 1e-4  # relative to the output's scale: float32 arithmetic in another order, nothing more


def run(*, weights: Paths, test: Paths, onnx: Paths, summary: Paths, train_run: Paths | None = None,
        n_check: int = 64, threads: int = 1, preprocessing: Mapping[str, Any] | None = None,
        aoti: Paths | None = None) -> dict[str, Any]:  # fmt: skip
    """Export the network of ``weights``, check it on the first ``n_check`` events of ``test`` with ``threads``
    CPU threads (PyTorch and ONNX Runtime), write ``onnx`` and ``summary`` atomically and log the ONNX file to
    the training run of ``train_run``. ``preprocessing``: what the network expects of its images
    (:func:`detcnn.deploy.aoti_export.preprocessing`), recorded in ``summary``; ``aoti``: also write the
    AOTInductor package there (needs ``preprocessing``: its metadata)."""
    from detcnn.deploy.onnx_export import OPSET, export_onnx, parity
    from detcnn.training.device import configure_threads
    from detcnn.training.network import load_network

    if not Path(weights).is_file():
        raise InputError("no trained network here", path=weights, fix="run the train rule for this model first")
    if aoti is not None and not preprocessing:
        raise ConfigError("the AOTInductor package needs the dataset's image settings", key="--dataset-config",
                          fix="pass the dataset's config section and the seed (--dataset-config, --seed)")  # fmt: skip
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
            "bytes": Path(onnx).stat().st_size, "preprocessing": dict(preprocessing or {}) or None}  # fmt: skip
    if aoti is not None:
        info["aoti"] = _export_aoti(model, payload, images, aoti, preprocessing or {}, test)
    write_json(summary, info)
    run_id = json.loads(Path(train_run).read_text()).get("mlflow_run_id") if train_run else None
    if run_id:
        _log_to_run(Path(train_run), run_id, [Path(onnx), Path(summary), *([Path(aoti)] if aoti else [])])
    return info


def _export_aoti(model: Any, payload: Mapping[str, Any], images: np.ndarray, path: Paths,
                 preprocessing: Mapping[str, Any], test: Paths) -> dict[str, Any]:  # fmt: skip
    """Compile ``model`` into the AOTInductor package ``path`` with the ``preprocessing`` as metadata, checked
    against PyTorch on ``images`` (from ``test``) before it is kept: the check and the file's size."""
    from detcnn.deploy import aoti_export

    with atomic_path(path) as tmp:
        aoti_export.export_aoti(model, images, tmp, aoti_export.metadata(preprocessing, payload))
        check = aoti_export.parity(model, tmp, images)
        if not check["max_rel_diff"] <= TOLERANCE:
            raise RuntimeError(f"the AOTInductor package differs from PyTorch by {check['max_abs_diff']:.3g} on "
                               f"{test} (network '{payload['arch']}')")  # fmt: skip
    return {**check, "bytes": Path(path).stat().st_size}


def _log_to_run(run_file: Path, run_id: str, paths: list[Path]) -> None:
    from mlflow.tracking import MlflowClient

    from detcnn.tracking import retrying

    uri = json.loads(run_file.read_text()).get("tracking_uri")
    client = MlflowClient(tracking_uri=uri)
    for path in paths:
        retrying(client.log_artifact, run_id, str(path), "onnx")


def run_aoti(*, weights: Paths, out: Paths, preprocessing: Mapping[str, Any], test: Paths | None = None,
             n_check: int = 64, threads: int = 1) -> dict[str, Any]:  # fmt: skip
    """``detcnn export-aoti``: the network of ``weights`` as the AOTInductor package ``out`` with the image
    settings ``preprocessing`` as metadata, checked against PyTorch on the first ``n_check`` events of ``test``
    (else on as many uniform random images). A ConfigError when the settings do not draw the images the network
    takes (channels, pixels). Returns the check and the metadata."""
    from detcnn.deploy import aoti_export
    from detcnn.training.device import configure_threads
    from detcnn.training.network import load_network

    if not Path(weights).is_file():
        raise InputError("no trained network here", path=weights, fix="train it first (detcnn train)")
    configure_threads(threads)
    model, payload = load_network(weights)
    shape = aoti_export.input_shape(preprocessing)
    args = payload["args"]
    if (args.get("in_channels"), args.get("image_size", shape[1])) != (shape[0], shape[1]):
        raise ConfigError(f"the image settings draw {shape} images but '{payload['arch']}' takes "
                          f"{args.get('in_channels')} channels of {args.get('image_size')} pixels",
                          key="--preprocessing", fix="pass the settings of the dataset it was trained on")  # fmt: skip
    if test is not None:
        with ImageFile(test) as f:
            images = f.read("X", np.arange(f.n_events) < n_check).astype(np.float32)
    else:
        images = np.random.default_rng(0).random((n_check, *shape), dtype=np.float32)
    meta = aoti_export.metadata(preprocessing, payload)
    return {**_export_aoti(model, payload, images, out, preprocessing, test or "random images"), "metadata": meta}
