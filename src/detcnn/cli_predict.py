"""The ``detcnn predict`` subcommand: trained networks and fitted baselines applied to one ROOT events file,
written as a friend tree of it (:mod:`detcnn.stages.predict`). Argument parsing only, as in :mod:`detcnn.cli`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from detcnn.cli import DATASET, SEED, THREADS, _command, _figure, _path
from detcnn.config import parse_json_arg
from detcnn.errors import ConfigError


def _predict(a: argparse.Namespace) -> Any:
    from detcnn.stages import predict

    models: dict[str, Path] = {}
    for name, path in a.model:
        if name in models:
            raise ConfigError(f"model '{name}' is given twice", key="--model")
        models[name] = path
    return predict.run(events=a.events, out=a.out, dataset=a.dataset, reference=a.reference, models=models,
                       ds=parse_json_arg(a.dataset_config, "dataset-config"), seed=a.seed, threads=a.threads,
                       progress=not a.quiet)  # fmt: skip


def add_predict_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``predict``: one events file -> its friend tree of the models' predictions."""
    p = _command(sub, "predict", _predict, "networks and baselines applied to a ROOT events file -> a friend tree "
                 "of it (ROOT) with their predictions per entry or per jet", SEED, DATASET, THREADS)  # fmt: skip
    _path(p, "events", "out", "reference")
    p.add_argument("--dataset-config", "--ds-config", dest="dataset_config", required=True,
                   help="JSON of the dataset's section (the image settings the models were trained with)")  # fmt: skip
    p.add_argument("--model", type=_figure, action="append", required=True, metavar="NAME=PATH",
                   help="a network's weights.pt or a baseline's baseline.json; one per model")  # fmt: skip
