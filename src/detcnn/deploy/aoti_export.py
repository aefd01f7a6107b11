"""A trained network as an AOTInductor package (``model.pt2``) for C++ programs: compiled ahead of time by
PyTorch (``torch._inductor.aoti_compile_and_package``, about a minute of g++ per network), loaded in C++ by
``torch::inductor::AOTIModelPackageLoader`` from the libtorch that ships in the ``torch`` wheel (ONNX Runtime's
C++ header is in no package registry this project can reach, so its C++ chain runs on libtorch).

The package holds the whole scored model (input scaling, network, output scaling; input ``(batch, C, H, W)``
float32 with a dynamic batch axis, output as ``weights.pt`` gives it in PyTorch) and, as string metadata,
everything the C++ program needs to draw its images (:func:`metadata`): the image settings of the dataset
the network was trained on, so ``cpp/examples/score_events.cpp`` reads no other file. The package is
compiled for the CPU it is built on (metadata ``AOTI_CPU_ISA``): build it on the machine type that runs it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

#: Prefix of detcnn's metadata keys in the package (torch's own keys are AOTI_*).
PREFIX = "detcnn."
#: The image section of each kind of events in a dataset config (its settings become metadata).
IMAGE_SECTIONS = {"jets": "images", "hits": "hit_images", "frames": "frame_images"}
#: What the C++ program does to the network's output per task: softmax (class probabilities) or nothing.
POSTPROCESS = {"classification": "softmax"}


def preprocessing(ds: Mapping[str, Any], seed: int, dataset: str = "dataset") -> dict[str, Any]:
    """What a network of dataset config ``ds`` (a config's dataset section; defaults filled here) expects of
    its input images: ``{"events": kind, <image section>: {settings}, "seed": seed}`` with every setting
    filled in (the rasteriser's own spec for jets and hits); ``seed``: the rasterise seed (the counter-based
    readout noise of detector images is drawn from it). Recorded in ``export.json`` and the package."""
    from detcnn.catalogue import event_kind
    from detcnn.config import fill_dataset
    from detcnn.rasterisers import hits, jets

    ds = fill_dataset(ds, key=f"datasets.{dataset}")
    kind = event_kind(ds)
    section = IMAGE_SECTIONS[kind]
    if kind == "jets":
        settings: dict[str, Any] = dataclasses.asdict(jets.spec_from_config(ds))
    elif kind == "hits":
        settings = dataclasses.asdict(hits.spec_from_config(ds))
    else:
        settings = dict(ds[section])
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    return {"events": kind, section: settings, "seed": int(seed)}


def input_shape(prep: Mapping[str, Any]) -> tuple[int, int, int]:
    """``(C, H, W)`` of the images :func:`preprocessing` ``prep`` draws (jets and hits; a ConfigError else)."""
    from detcnn.errors import ConfigError

    kind = prep.get("events")
    if kind not in ("jets", "hits") or IMAGE_SECTIONS[kind] not in prep:
        fix = "pass export.json's 'preprocessing' or the dataset config"
        raise ConfigError(f"no image settings of jets or hits in {sorted(prep)} (events: {kind!r})",
                          key="--preprocessing", fix=fix)  # fmt: skip
    section = prep[IMAGE_SECTIONS[kind]]
    channels = len(section["channels"]) * (len(section["views"]) if kind == "hits" else 1)
    return channels, int(section["n_pix"]), int(section["n_pix"])


def _text(value: Any) -> str:
    """A setting as metadata text: lists comma-separated, booleans true/false, floats as repr (strtod reads
    them back to the bit)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def metadata(prep: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, str]:
    """The package's string metadata from :func:`preprocessing` ``prep`` and the ``weights.pt`` ``payload``:

    - ``detcnn.events``: jets, hits or frames; ``detcnn.seed``: the rasterise seed;
    - ``detcnn.<section>.<key>``: each image setting (``detcnn.images.n_pix``, ``detcnn.hit_images.views``, ...);
    - ``detcnn.arch``, ``detcnn.task``, ``detcnn.class_names`` (comma-separated), ``detcnn.n_outputs``;
    - ``detcnn.postprocess``: ``softmax`` (classifiers: the scores are class probabilities) or ``identity``;
    - ``detcnn.input_shape``: C,H,W; ``detcnn.preprocessing``: ``prep`` as JSON; ``detcnn.version``.
    """
    from detcnn import __version__

    kind = prep["events"]
    section = IMAGE_SECTIONS[kind]
    meta = {f"{PREFIX}{section}.{k}": _text(v) for k, v in prep[section].items()}
    task = payload.get("task") or "classification"
    args = payload.get("args", {})
    meta.update({
        f"{PREFIX}events": kind, f"{PREFIX}seed": str(int(prep["seed"])), f"{PREFIX}arch": str(payload["arch"]),
        f"{PREFIX}task": task, f"{PREFIX}postprocess": POSTPROCESS.get(task, "identity"),
        f"{PREFIX}class_names": _text(list(payload.get("class_names") or [])),
        f"{PREFIX}n_outputs": str(args.get("num_classes", "")),
        f"{PREFIX}preprocessing": json.dumps(prep, sort_keys=True), f"{PREFIX}version": __version__,
    })  # fmt: skip
    return meta


def export_aoti(
    model: torch.nn.Module, example: np.ndarray, path: str | os.PathLike[str], meta: Mapping[str, str]
) -> None:
    """Compile ``model`` (eval mode, CPU) exported on ``example`` ``(n >= 2, C, H, W)`` float32 with a dynamic
    batch axis into the AOTInductor package ``path`` (``.pt2``) carrying the string metadata ``meta``."""
    from torch.export import Dim

    model = model.to("cpu").eval()
    x = torch.from_numpy(np.ascontiguousarray(example[:2], dtype=np.float32))
    if len(x) < 2:
        x = torch.cat([x, x])  # batch 1 would be specialised: the axis must be seen as dynamic
    batch = Dim("batch", min=1, max=1 << 20)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # torch.export's deprecation notices
        program = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
        torch._inductor.aoti_compile_and_package(
            program, package_path=os.fspath(path), inductor_configs={"aot_inductor.metadata": dict(meta)}
        )


def load_aoti(path: str | os.PathLike[str]) -> Any:
    """The package at ``path`` loaded in Python (callable on a ``(n, C, H, W)`` tensor; ``get_metadata()``)."""
    return torch._inductor.aoti_load_package(os.fspath(path))


def parity(model: torch.nn.Module, path: str | os.PathLike[str], images: np.ndarray) -> dict[str, float]:
    """The compiled package against PyTorch on ``images`` ``(n, C, H, W)``: the largest absolute difference of
    the outputs and the largest relative to the output's scale (``max |y|``, at least 1)."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    with torch.no_grad():
        want = model.to("cpu").eval()(x).numpy()
        got = load_aoti(path)(x).numpy()
    diff = float(np.max(np.abs(got - want))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    return {"max_abs_diff": diff, "max_rel_diff": diff / scale, "n_images": len(x)}
