"""The ``detcnn`` subcommands of the studies (docs/studies.md): a systematic variation's test file
(``rasterise-variation``), a learning-curve subset of a train split (``subset``), and the study reports
(``binned``, ``variations``, ``learning-curve``). Argument parsing only, as in :mod:`detcnn.cli`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from detcnn.cli import DATASET, SEED, _command, _path
from detcnn.config import parse_json_arg


def _rasterise_variation(a: argparse.Namespace) -> Any:
    from detcnn.stages import rasterise

    return rasterise.run_variation(inputs=a.inputs, test=a.test, stats=a.stats, dataset=a.dataset,
                                   variation=a.variation, ds=parse_json_arg(a.dataset_config, "dataset-config"),
                                   seed=a.seed, progress=not a.quiet)  # fmt: skip


def _subset(a: argparse.Namespace) -> Any:
    from detcnn.io.subset import write_subset

    return write_subset(a.train, a.out, a.size, a.seed)


def add_study_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``rasterise-variation``, ``subset`` and the study reports."""
    r = _command(sub, "rasterise-variation", _rasterise_variation, "a systematic variation's ROOT files -> one "
                 "test image file, with the dataset's nominal image settings", SEED, DATASET)  # fmt: skip
    _path(r, "inputs", nargs="+")
    _path(r, "test", "stats")
    r.add_argument("--variation", required=True, help="the variation's name under the dataset's 'variations'")
    r.add_argument("--dataset-config", required=True, help="JSON of the dataset's config section")

    s = _command(sub, "subset", _subset, "a nested, seeded subset of a train split (learning curves)", SEED)
    _path(s, "train", "out")
    s.add_argument("--size", type=int, required=True, help="events in the subset")
    add_report_commands(sub)


def _variation_inputs(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME=TEST:SUMMARY:METRICS,METRICS,...``: a variation's test file, report summary and evaluations."""
    name, sep, rest = text.partition("=")
    parts = rest.split(":", 2)
    if not sep or not name or len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"expected NAME=TEST:SUMMARY:METRICS[,METRICS...], got '{text}'")
    return name, {"test": Path(parts[0]), "summary": Path(parts[1]), "metrics": [Path(p) for p in parts[2].split(",")]}


def _point(text: str) -> tuple[str, int | None, Path]:
    """``MODEL:SIZE:METRICS`` of a learning curve (SIZE ``all``: the whole train split)."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not parts[0] or not (parts[1] == "all" or parts[1].isdigit()) or not parts[2]:
        raise argparse.ArgumentTypeError(f"expected MODEL:SIZE:METRICS (SIZE a number or 'all'), got '{text}'")
    return parts[0], None if parts[1] == "all" else int(parts[1]), Path(parts[2])


def _variations(a: argparse.Namespace) -> Any:
    from detcnn.config.variations import TWIN
    from detcnn.errors import ConfigError
    from detcnn.stages import variations

    cfg = parse_json_arg(a.variations_config, "variations-config")
    given = dict(a.variation)
    if TWIN not in given:
        raise ConfigError(f"the nominal twin is not among the samples: give --variation {TWIN}=TEST:SUMMARY:METRICS",
                          key="--variation")  # fmt: skip
    twin = given.pop(TWIN)
    return variations.run(
        dataset=a.dataset, task=a.task, nominal_metrics=a.metrics, twin_metrics=twin["metrics"],
        twin_summary=twin["summary"], twin_test=twin["test"], variations=given,
        expect={v: cfg.get(v, {}).get("expect", {}) for v in given},
        descriptions={v: cfg.get(v, {}).get("description", "") for v in given}, table=a.table, summary=a.summary,
        figure=a.figure,
    )  # fmt: skip


def _binned(a: argparse.Namespace) -> Any:
    from detcnn.stages import binned

    return binned.run(metrics=a.metrics, table=a.table, summary=a.summary, figure=a.figure, dataset=a.dataset,
                      task=a.task)  # fmt: skip


def _learning_curve(a: argparse.Namespace) -> Any:
    from detcnn.stages import learning_curve

    return learning_curve.run(dataset=a.dataset, task=a.task, points=a.point, train=a.train, table=a.table,
                              summary=a.summary, figure=a.figure)  # fmt: skip


def add_report_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``variations``, ``binned`` and ``learning-curve``: the study reports of one task of a dataset."""
    v = _command(sub, "variations", _variations, "every model on the nominal test split and on each systematic "
                 "variation: shifts, ranking, physics checks", DATASET)  # fmt: skip
    _path(v, "metrics", nargs="+")  # the nominal test split's evaluations (for orientation)
    _path(v, "table", "summary", "figure")
    v.add_argument("--variation", type=_variation_inputs, action="append", required=True,
                   metavar="NAME=TEST:SUMMARY:METRICS,...", help="the nominal twin and every variation")  # fmt: skip
    v.add_argument("--variations-config", required=True, help="JSON of the dataset's 'variations' section")
    v.add_argument("--task", required=True)

    b = _command(sub, "binned", _binned, "the task's study metrics in bins, every model of a dataset's task", DATASET)
    _path(b, "metrics", nargs="+")
    _path(b, "table", "summary", "figure")
    b.add_argument("--task", required=True)

    lc = _command(sub, "learning-curve", _learning_curve, "the test metrics against the training events", DATASET)
    lc.add_argument("--point", type=_point, action="append", required=True, metavar="MODEL:SIZE:METRICS")
    _path(lc, "train", "table", "summary", "figure")
    lc.add_argument("--task", required=True)
