"""The ``detcnn`` command line: one subcommand per stage, called by the Snakemake rules and by users.

Argument parsing only: every subcommand hands its flags to the ``run`` of its stage (:mod:`detcnn.stages`).
Structured settings (a dataset's or a model's config section) are passed as JSON objects, so a rule hands
over exactly the part of ``config/config.yaml`` that its output depends on. Every file a stage reads or
writes is a flag of its own. A mistake in the user's input or config ends with one line naming the file or
key and the fix (exit code 2); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from detcnn.config import parse_json_arg
from detcnn.errors import ConfigError, InputError, Interrupted
from detcnn.kinds import ModelKind

Handler = Callable[[argparse.Namespace], Any]


class Exit(int):
    """A handler's result that is the command's exit code (that of a relaunched command)."""


def _flag_parent(*flags: tuple[str, dict[str, Any]]) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    for name, kwargs in flags:
        parent.add_argument(name, **kwargs)
    return parent


# Flags shared by several stages, each declared once. No defaults copied from the schema: the rules pass the
# config's values; the tracking URI's default (None) is the SQLite store under results/.
SEED = _flag_parent(("--seed", {"type": int, "required": True, "help": "the config's master seed"}))
DATASET = _flag_parent(("--dataset", {"required": True, "help": "the dataset's name in the config"}))
TRACKING = _flag_parent(("--tracking-uri", {"default": None, "help": "MLflow URI (default: results/mlflow/mlflow.db)"}))
THREADS = _flag_parent(("--threads", {"type": int, "default": 1, "help": "CPU threads (the rule's threads)"}))
WORKING_POINTS = _flag_parent(
    ("--efficiencies", {"nargs": "+", "type": float, "required": True, "help": "signal efficiencies (evaluate)"}),
)
EVALUATION = _flag_parent(
    ("--purities", {"nargs": "+", "type": float, "required": True, "help": "signal purities (evaluate)"}),
)
BOOTSTRAP = _flag_parent(("--n-bootstrap", {"type": int, "required": True, "help": "bootstrap resamples"}))


def _path(p: argparse.ArgumentParser, *names: str, nargs: str | None = None, required: bool = True) -> None:
    for name in names:
        p.add_argument(f"--{name}", type=Path, nargs=nargs, required=required)


def _figure(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got '{text}'")
    return name, Path(path)


def _generate(a: argparse.Namespace) -> Any:
    from detcnn.stages import generate

    return generate.run(source=a.source, sample=a.sample, shard=a.shard, seed=a.seed, events=a.events, stats=a.stats,
                        cfg=parse_json_arg(a.generate_config, "generate-config"), progress=not a.quiet)  # fmt: skip


def _rasterise(a: argparse.Namespace) -> Any:
    from detcnn.stages import rasterise

    return rasterise.run(inputs=a.inputs, train=a.train, val=a.val, test=a.test, stats=a.stats, dataset=a.dataset,
                         ds=parse_json_arg(a.dataset_config, "dataset-config"), seed=a.seed,
                         progress=not a.quiet)  # fmt: skip


def _init_tracking(a: argparse.Namespace) -> Any:
    from detcnn.stages import init_tracking

    return init_tracking.run(uri=a.uri, marker=a.marker)


def _train(a: argparse.Namespace) -> Any:
    from detcnn.stages import train
    from detcnn.tracking import resolve_uri
    from detcnn.training import distributed

    model_cfg = parse_json_arg(a.model_config, "model-config")
    processes = distributed.processes_for(model_cfg.get("train", {}))
    if processes > 1 and not distributed.in_torchrun():  # one process per GPU, started by torchrun
        return Exit(distributed.relaunch(a.argv, processes))
    return train.run(
        train=a.train, val=a.val, weights=a.weights, config=a.config, history=a.history, run_info=a.run,
        dataset=a.dataset, model=a.name, model_cfg=model_cfg, seed=a.seed, threads=a.threads,
        tracking_uri=resolve_uri(a.tracking_uri), progress=not a.quiet, checkpoint=a.checkpoint,
        log_model=a.log_model, registered_name=a.register_as, system_metrics=a.system_metrics,
    )  # fmt: skip


def _fit_baseline(a: argparse.Namespace) -> Any:
    from detcnn.stages import fit_baseline
    from detcnn.tracking import resolve_uri

    return fit_baseline.run(
        train=a.train, val=a.val, model=a.model, dataset=a.dataset, name=a.name, efficiencies=a.efficiencies,
        cfg=parse_json_arg(a.baseline_config, "baseline-config"), tracking_uri=resolve_uri(a.tracking_uri),
    )  # fmt: skip


def _evaluate(a: argparse.Namespace) -> Any:
    from detcnn.stages import evaluate
    from detcnn.tracking import resolve_uri

    return evaluate.run(
        model=a.model_file, kind=ModelKind(a.kind), val=a.val, test=a.test, history=a.history, scores=a.scores,
        metrics=a.metrics, plot=a.plot, dataset=a.dataset, name=a.name, efficiencies=a.efficiencies,
        purities=a.purities, n_bootstrap=a.n_bootstrap, seed=a.seed, threads=a.threads,
        tracking_uri=resolve_uri(a.tracking_uri), train_run=a.train_run, bins=_json_list(a.bins, "bins"),
        variation=a.variation, nominal_test=a.nominal_test,
    )  # fmt: skip


def _json_list(text: str | None, what: str) -> list[Any]:
    """A JSON list passed by a rule (``--{what}``; none: empty)."""
    value = parse_json_arg(f'{{"list": {text}}}', what)["list"] if text else []
    if not isinstance(value, list):
        raise ConfigError(f"--{what} must be a JSON list, got {type(value).__name__}")
    return value


def _export(a: argparse.Namespace) -> Any:
    from detcnn.cli_deploy import preprocessing_arg
    from detcnn.stages import export

    return export.run(
        weights=a.weights, test=a.test, onnx=a.onnx, summary=a.summary, train_run=a.train_run, threads=a.threads,
        preprocessing=preprocessing_arg(None, a.dataset_config, a.seed), aoti=a.aoti,
    )  # fmt: skip


def _report(a: argparse.Namespace) -> Any:
    from detcnn.stages import report

    figures = dict(a.figure or [])
    if len(figures) != len(a.figure or []):
        raise ConfigError("a figure name is given twice", key="--figure")
    return report.run(metrics=a.metrics, scores=a.scores, test=a.test, table=a.table, csv=a.csv, summary=a.summary,
                      figures=figures, dataset=a.dataset, task=a.task, n_bootstrap=a.n_bootstrap,
                      seed=a.seed)  # fmt: skip


def _models(a: argparse.Namespace) -> Any:
    from detcnn.models import list_models

    return list_models()


def _catalogue(a: argparse.Namespace) -> Any:
    from detcnn import catalogue
    from detcnn.models import list_models, model_kind

    return {
        "sources": {k: {"samples": list(m.SAMPLES), "events": m.EVENTS} for k, m in catalogue.SOURCES.items()},
        "tasks": {k: {"network": m.NETWORK, "figures": list(m.FIGURES), "headline": m.HEADLINE[0]}
                  for k, m in catalogue.TASKS.items()},
        "baselines": {k: m.TASK for k, m in catalogue.BASELINES.items()},
        "models": {name: model_kind(name) for name in list_models()},
    }  # fmt: skip


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help: str,
    *parents: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` run by ``handler``, with the shared flags of ``parents``."""
    sp = sub.add_parser(name, help=help, parents=list(parents))
    sp.set_defaults(handler=handler)
    return sp


def _add_data_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``generate`` (events of a source) and ``rasterise`` (events -> split image files)."""
    g = _command(sub, "generate", _generate, "generate one shard of events (ROOT) of a source", SEED)
    g.add_argument("--source", required=True, help="a source (`detcnn catalogue` lists them)")
    g.add_argument("--sample", required=True)
    g.add_argument("--shard", type=int, required=True)
    g.add_argument("--generate-config", required=True, help="JSON of the dataset's 'generate' section")
    _path(g, "events", "stats")

    r = _command(sub, "rasterise", _rasterise, "ROOT jets or hits -> train/val/test image files (HDF5)", SEED,
                 DATASET)  # fmt: skip
    _path(r, "inputs", nargs="+")
    _path(r, "train", "val", "test", "stats")
    r.add_argument("--dataset-config", required=True, help="JSON of the dataset's config section")


def _add_fit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``init-tracking``, ``train`` (a network) and ``fit-baseline`` (a cut-based baseline)."""
    t = _command(sub, "init-tracking", _init_tracking, "create the MLflow store before parallel jobs log to it")
    t.add_argument("--uri", default=None, help="tracking URI (default: the SQLite store under results/)")
    _path(t, "marker")

    tr = _command(sub, "train", _train, "train a network on a dataset's train split", SEED, DATASET, THREADS,
                  TRACKING)  # fmt: skip
    _path(tr, "train", "val", "weights", "config", "history", "run")
    _path(tr, "checkpoint", required=False)
    tr.add_argument("--name", required=True, help="the model's name under 'models'")
    tr.add_argument("--model-config", required=True, help="JSON: {arch, args, task, task_args, train}")
    tr.add_argument("--log-model", action="store_true", help="log the network as an MLflow model")
    tr.add_argument("--register-as", help="register the logged model under this name in the model registry")
    tr.add_argument("--system-metrics", action="store_true", help="log CPU, memory and GPU use to the run")

    b = _command(sub, "fit-baseline", _fit_baseline, "fit a cut-based baseline on the train split", DATASET,
                 WORKING_POINTS, TRACKING)  # fmt: skip
    _path(b, "train", "val", "model")
    b.add_argument("--name", required=True, help="the baseline's name under 'baselines'")
    b.add_argument("--baseline-config", required=True, help="JSON: {kind, observables, ...}")


def _add_result_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``evaluate`` (score the test split), ``export`` (ONNX) and ``report`` (tables and figures)."""
    e = _command(sub, "evaluate", _evaluate, "score the test split with a network or a baseline at working "
                 "points set on val", SEED, DATASET, THREADS, TRACKING, WORKING_POINTS, EVALUATION,
                 BOOTSTRAP)  # fmt: skip
    _path(e, "model-file", "val", "test", "scores", "metrics", "plot")
    _path(e, "history", "train-run", required=False)
    e.add_argument("--kind", required=True, choices=[k.value for k in ModelKind])
    e.add_argument("--name", required=True, help="the model's or baseline's name")
    e.add_argument("--bins", help="JSON list of the dataset's bins: the study metrics per bin of each variable")
    e.add_argument("--variation", help="the systematic variation the test file is a sample of (MLflow keys)")
    _path(e, "nominal-test", required=False)  # a variation's nominal twin: the paired shifts

    x = _command(sub, "export", _export, "a trained network as ONNX, checked with ONNX Runtime against PyTorch",
                 THREADS)  # fmt: skip
    _path(x, "weights", "test", "onnx", "summary")
    _path(x, "train-run", required=False)
    from detcnn.cli_deploy import dataset_flags  # --dataset-config, --seed, --aoti

    dataset_flags(x)

    rp = _command(sub, "report", _report, "comparison table and figures of every evaluated model of a dataset's "
                  "task", SEED, DATASET, BOOTSTRAP)  # fmt: skip
    _path(rp, "metrics", "scores", nargs="+")
    _path(rp, "test", "table", "csv", "summary")
    rp.add_argument("--task", required=True)
    rp.add_argument("--figure", type=_figure, action="append", metavar="NAME=PATH", help="one per figure of the task")


def build_parser() -> argparse.ArgumentParser:
    """The ``detcnn`` parser: one subcommand per stage (each with its handler as ``handler``) and the listings."""
    p = argparse.ArgumentParser(prog="detcnn", description=__doc__.split("\n")[0])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True)
    _add_data_commands(sub)
    _add_fit_commands(sub)
    _add_result_commands(sub)
    from detcnn.cli_studies import add_study_commands  # here: it reuses this module's shared flags

    add_study_commands(sub)
    from detcnn.cli_predict import add_predict_command  # predict (friend trees)

    add_predict_command(sub)
    from detcnn.cli_deploy import add_deploy_commands  # export-aoti (C++)

    add_deploy_commands(sub)
    _command(sub, "models", _models, "list the registered model names")
    _command(sub, "catalogue", _catalogue, "list the sources, tasks, baseline kinds and models")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.handler(args)
    except InputError as exc:  # the user's file or config (ConfigError included); bugs keep their traceback
        print(f"detcnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:  # a scheduler's SIGTERM: the work done is saved, a rerun resumes
        print(f"detcnn {args.command}: {exc}; what was finished is saved, run again to resume", file=sys.stderr)
        return 128 + exc.signal_number
    if isinstance(result, Exit):
        return int(result)
    if result is not None:
        print(json.dumps(result, indent=1, default=str)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
