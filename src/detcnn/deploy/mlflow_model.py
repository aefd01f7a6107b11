"""A trained network as an MLflow model on its training run: the ``mlflow.pytorch`` flavour with a
signature and an input example, so ``mlflow.pyfunc.load_model("runs:/<id>/model").predict(images)`` scores
a batch of images ``(n_events, n_channels, H, W)`` float32 (the input scaling is part of the model).

Saved as the pickled eager module (it loads where ``detcnn`` is installed, for any batch size): MLflow 3's
default, a ``torch.export`` archive, takes 10 to 100 s per network to write and check, and fixes the batch
size unless told otherwise. The ONNX file of the export stage is the self-contained form."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

#: What the logged model needs to be loaded: this package (the networks' classes) and torch. Given, not
#: inferred: MLflow's inference starts a subprocess per model, seconds per training job.
REQUIREMENTS = ["detcnn", f"torch=={torch.__version__.split('+')[0]}", "numpy"]


def log_network(model: torch.nn.Module, example: np.ndarray, registered_name: str | None = None) -> Any:
    """Log ``model`` (eval mode, CPU) under the name ``model`` of the active MLflow run, with the signature
    of ``example`` ``(n, C, H, W)`` float32 and its output, and ``example[:2]`` as input example;
    ``registered_name`` also registers it in the model registry. Returns MLflow's ``ModelInfo``."""
    import mlflow
    from mlflow.models import infer_signature

    for name in ("mlflow.models", "mlflow.pytorch", "mlflow.utils.environment"):
        logging.getLogger(name).setLevel(logging.ERROR)
    model = model.to("cpu").eval()
    x = np.ascontiguousarray(example[:2], dtype=np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    return mlflow.pytorch.log_model(
        model, name="model", signature=infer_signature(x, y), input_example=x, pip_requirements=REQUIREMENTS,
        registered_model_name=registered_name, serialization_format="pickle",
    )  # fmt: skip
