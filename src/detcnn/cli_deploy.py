"""The ``detcnn`` subcommands that take a network out of the pipeline for C++ programs: ``export-aoti`` (an
AOTInductor package, ``model.pt2``, with the image settings as metadata; cpp/README.md). Argument parsing
only, as in :mod:`detcnn.cli`."""

from __future__ import annotations

import argparse
from typing import Any

from detcnn.cli import THREADS, _command, _path
from detcnn.config import parse_json_arg
from detcnn.errors import ConfigError


def preprocessing_arg(
    preprocessing: str | None, dataset_config: str | None, seed: int | None, dataset: str = "dataset"
) -> dict[str, Any] | None:
    """The image settings a network expects, from ``--preprocessing`` (JSON: export.json's ``preprocessing``)
    or from ``--dataset-config`` (JSON of the dataset's config section) and ``--seed``; None without either."""
    from detcnn.deploy.aoti_export import preprocessing as from_dataset

    if preprocessing and dataset_config:
        raise ConfigError("give --preprocessing or --dataset-config, not both", key="--preprocessing")
    if preprocessing:
        return parse_json_arg(preprocessing, "preprocessing")
    if not dataset_config:
        return None
    if seed is None:
        raise ConfigError("--dataset-config needs the rasterise seed", key="--seed", fix="pass the config's seed")
    return from_dataset(parse_json_arg(dataset_config, "dataset-config"), seed, dataset)


def _export_aoti(a: argparse.Namespace) -> Any:
    from detcnn.stages import export

    prep = preprocessing_arg(a.preprocessing, a.dataset_config, a.seed)
    if prep is None:
        fix = "pass --preprocessing JSON (export.json's) or --dataset-config JSON and --seed"
        raise ConfigError("the package needs the image settings", key="--preprocessing", fix=fix)
    return export.run_aoti(weights=a.weights, out=a.out, preprocessing=prep, test=a.test, threads=a.threads)


def add_deploy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``export-aoti``."""
    x = _command(sub, "export-aoti", _export_aoti, "a trained network as an AOTInductor package (model.pt2) for "
                 "C++, the image settings as its metadata", THREADS)  # fmt: skip
    _path(x, "weights", "out")
    _path(x, "test", required=False)
    x.add_argument("--preprocessing", help="JSON: the image settings (export.json's 'preprocessing')")
    x.add_argument("--dataset-config", help="JSON of the dataset's config section (instead of --preprocessing)")
    x.add_argument("--seed", type=int, help="the config's seed (the readout noise of detector images)")


def dataset_flags(parser: argparse.ArgumentParser) -> None:
    """``--dataset-config``, ``--seed`` and ``--aoti`` of ``detcnn export``: the image settings recorded in
    export.json, and the optional package."""
    parser.add_argument("--dataset-config", help="JSON of the dataset's config section (the preprocessing)")
    parser.add_argument("--seed", type=int, help="the config's seed (the readout noise of detector images)")
    _path(parser, "aoti", required=False)
