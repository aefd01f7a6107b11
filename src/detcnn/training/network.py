"""A network as it is trained, saved and loaded: the registered architecture behind input scaling (and, for
regressions, output scaling), built for a dataset's image files, and its ``weights.pt`` checkpoint (a plain
dict of tensors and names: loadable with ``weights_only=True``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import torch

from detcnn.errors import ConfigError
from detcnn.models import create_model, list_models, model_kind, model_takes
from detcnn.training.plugin import Plugin
from detcnn.training.scaling import InputScaling, OutputScaling, ScaledModel


def network_args(arch: str, args: Mapping[str, Any], attrs: Mapping[str, Any], image_size: int,
                 num_outputs: int) -> dict[str, Any]:  # fmt: skip
    """The constructor arguments of ``arch`` for images described by ``attrs`` (``channels``, ``views``) of
    ``image_size`` pixels: ``in_channels``, ``num_classes`` (the task's outputs), ``image_size``, ``n_views``
    (detector images) and ``upsampling`` (localisation) for the networks registered as taking them, then the
    model's own ``args``."""
    full = {"in_channels": len(attrs["channels"]), "num_classes": int(num_outputs), "image_size": int(image_size)}
    if "views" in attrs and model_takes(arch, "n_views"):
        full["n_views"] = len(attrs["views"])  # type: ignore[arg-type]
    if "upsampling" in attrs and model_takes(arch, "upsampling"):  # the finer grid of a localisation
        full["upsampling"] = int(attrs["upsampling"])  # type: ignore[arg-type]
    full.update(args)
    return full


def build_model(
    arch: str,
    args: Mapping[str, Any],
    attrs: Mapping[str, Any],
    image_size: int,
    scaling: InputScaling | None = None,
    task: ModuleType | None = None,
    plugin: Plugin | None = None,
) -> tuple[ScaledModel, dict[str, Any]]:
    """The network ``arch`` for the task module ``task`` and its ``plugin`` (outputs, output scaling), behind
    ``scaling``, and its full constructor arguments; without a plugin, one output per class of ``attrs``. A
    ConfigError when ``arch`` is not of the kind the task needs (a segmenter for classification, ...), naming
    the archs that are."""
    if task is not None and model_kind(arch) != task.NETWORK:
        raise ConfigError(
            f"task '{task.NAME}' needs a {task.NETWORK} but '{arch}' is a {model_kind(arch)}; choose one of "
            f"{', '.join(list_models(task.NETWORK))}", key="arch",
        )  # fmt: skip
    outputs = plugin.num_outputs if plugin is not None else len(attrs["class_names"])
    full = network_args(arch, args, attrs, image_size, outputs)
    net = create_model(arch, **full)
    output = OutputScaling(*plugin.output) if plugin is not None and plugin.output is not None else None
    return ScaledModel(scaling or InputScaling.identity(len(attrs["channels"])), net, output), full


def save_network(path: str | os.PathLike[str], model: torch.nn.Module, payload: Mapping[str, Any]) -> None:
    """``payload`` (arch, args, class names, task, task_args) and the model's state dict, atomically."""
    from detcnn.io.atomic import atomic_path

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({**payload, "state_dict": state}, tmp)


def load_network(path: str | os.PathLike[str], device: torch.device | None = None) -> tuple[torch.nn.Module, dict]:
    """Load ``weights.pt`` safely (``weights_only=True``) and rebuild the network in eval mode."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    channels = payload["args"]["in_channels"]
    net = create_model(payload["arch"], **payload["args"])
    output = OutputScaling(0.0, 1.0) if "output.scale" in payload["state_dict"] else None
    model = ScaledModel(InputScaling.identity(channels), net, output)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    if device is not None:
        model.to(device)
    return model, payload
