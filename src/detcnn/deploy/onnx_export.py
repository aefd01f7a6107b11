"""A trained network as an ONNX file: the whole scored model (input scaling, network, output scaling) in
one graph, with a dynamic batch axis, checked against PyTorch with ONNX Runtime before it is written.

Input ``images`` ``(batch, n_channels, H, W)`` float32; output ``output``: what the network returns
(class logits ``(batch, K)``, per-pixel logits ``(batch, K, H, W)``, a regression, or the localiser's maps),
exactly as ``weights.pt`` gives it in PyTorch.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

OPSET = 17  # ONNX Runtime 1.14 and later (CMSSW 13, Athena 24) run it


def export_onnx(model: torch.nn.Module, example: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write ``model`` (eval mode) traced on ``example`` ``(n, C, H, W)`` float32 to ``path`` (ONNX, opset
    :data:`OPSET`, batch axis dynamic). The TorchScript-based exporter: it needs no extra package."""
    import warnings

    model = model.to("cpu").eval()
    x = torch.from_numpy(np.ascontiguousarray(example, dtype=np.float32))
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice for this path
        torch.onnx.export(
            model, (x,), str(path), input_names=["images"], output_names=["output"], opset_version=OPSET,
            dynamic_axes={"images": {0: "batch"}, "output": {0: "batch"}}, dynamo=False,
        )  # fmt: skip


def onnx_session(path: str | os.PathLike[str], threads: int = 1) -> Any:
    """An ONNX Runtime CPU session of the file at ``path`` with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def parity(
    model: torch.nn.Module, path: str | os.PathLike[str], images: np.ndarray, threads: int = 1
) -> dict[str, float]:
    """ONNX Runtime (``threads`` intra-op threads) against PyTorch on ``images`` ``(n, C, H, W)``: the largest
    absolute difference of the outputs and the largest relative to the output's scale (``max |y|``, at least 1)."""
    x = np.ascontiguousarray(images, dtype=np.float32)
    with torch.no_grad():
        want = model.to("cpu").eval()(torch.from_numpy(x)).numpy()
    (got,) = onnx_session(path, threads).run(["output"], {"images": x})
    diff = float(np.max(np.abs(got - want))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale, "n_images": len(x)}
