"""The ``detcnn`` command line: one subcommand per stage, called by the Snakemake rules and by users.

Structured settings (a dataset's or a model's config section) are passed as JSON objects, so a rule
hands over exactly the part of ``config/config.yaml`` that its output depends on.
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
from detcnn.errors import InputError
from detcnn.tracking import resolve_uri

Handler = Callable[[argparse.Namespace], Any]


def _generate(a: argparse.Namespace) -> Any:
    gen = parse_json_arg(a.generate_config, "generate-config")
    result = GENERATORS[a.source](a, gen)
    if a.stats:
        from detcnn.io.atomic import write_json

        write_json(a.stats, result)
    return result


def _generate_jets(a: argparse.Namespace, gen: dict[str, Any]) -> dict[str, Any]:
    from detcnn.generate.pythia_jets import JetSelection, generate_shard, shard_seed

    seed = shard_seed(a.seed, a.sample, a.shard)
    stats = generate_shard(
        a.out, sample=a.sample, n_jets=int(gen["n_jets_per_shard"]), seed=seed, ecm=float(gen["ecm"]),
        pthat_min=float(gen["pthat_min"]), pthat_max=float(gen["pthat_max"]),
        selection=JetSelection(**gen.get("jet", {})), batch_size=int(gen.get("batch_size", 400)),
        progress=not a.quiet,
    )  # fmt: skip
    return {**stats.__dict__, "kept_fraction": stats.kept_fraction, "jets_per_s": stats.n_jets / stats.total_seconds,
            "pythia_events_per_s": stats.n_events / stats.pythia_seconds}  # fmt: skip


def _generate_hits(a: argparse.Namespace, gen: dict[str, Any]) -> dict[str, Any]:
    from detcnn.generate.lartpc.events import generate_hits_shard, shard_seed
    from detcnn.generate.lartpc.settings import SimSettings

    settings = SimSettings.from_config(gen.get("detector"))
    return generate_hits_shard(
        a.out, sample=a.sample, n_events=int(gen["n_events_per_shard"]), seed=shard_seed(a.seed, a.sample, a.shard),
        settings=settings, progress=not a.quiet,
    )  # fmt: skip


GENERATORS: dict[str, Callable[[argparse.Namespace, dict[str, Any]], dict[str, Any]]] = {
    "pythia_jets": _generate_jets,
    "detector_sim": _generate_hits,
}
SAMPLES = {"pythia_jets": ("quark", "gluon"), "detector_sim": ("nue_cc", "numu_cc", "nc")}


def _rasterise(a: argparse.Namespace) -> Any:
    from detcnn.config import config_hash, event_kind
    from detcnn.io.atomic import write_json

    ds = parse_json_arg(a.dataset_config, "dataset-config")
    outputs = {"train": a.train, "val": a.val, "test": a.test}
    common = {"split": ds["split"], "seed": a.seed, "config_hash": config_hash(ds), "dataset": a.dataset,
              "branches": ds.get("branches"), "progress": not a.quiet}  # fmt: skip
    stats = RASTERISERS[event_kind(ds)](a.inputs, outputs, ds, common)
    if a.stats:
        write_json(a.stats, stats)
    return stats


def _rasterise_hits(inputs: list[Path], outputs: dict[str, Path], ds: dict[str, Any], common: dict) -> Any:
    from detcnn.physics.hit_images import HitImageSpec
    from detcnn.rasterise_hits import DEFAULT_TRUTH, rasterise_hits

    img = dict(ds.get("hit_images", {}))
    volume, empty = img.pop("volume_cm", None), img.pop("empty_events", "drop")
    step_size = int(img.pop("chunk_events", 2_000))
    img = {k: tuple(v) if isinstance(v, list) else v for k, v in img.items()}
    if ds.get("source") == "detector_sim":
        from detcnn.generate.lartpc.settings import CLASS_NAMES, SimSettings

        lx, ly, lz = SimSettings.from_config(ds.get("generate", {}).get("detector")).volume
        volume = volume or [[0.0, lx], [-ly / 2, ly / 2], [0.0, lz]]
        class_names, truth = CLASS_NAMES, DEFAULT_TRUTH
    else:
        class_names, truth = ds.get("class_names") or [], ds.get("truth", [])
        if not class_names:
            raise ValueError("a root_files dataset of hits needs 'class_names' (one per label value)")
    return rasterise_hits(
        inputs, outputs, spec=HitImageSpec(**img), class_names=class_names, volume_cm=volume, truth=truth,
        empty_events=empty, step_size=step_size, **common,
    )  # fmt: skip


def _rasterise_jets(inputs: list[Path], outputs: dict[str, Path], ds: dict[str, Any], common: dict) -> Any:
    from detcnn.physics.jet_images import ImageSpec
    from detcnn.rasterise import rasterise_jets

    img = dict(ds.get("images", {}))
    if "channels" in img:
        img["channels"] = tuple(img["channels"])
    return rasterise_jets(inputs, outputs, spec=ImageSpec(**img), step_size=int(ds.get("chunk_size", 20_000)), **common)


RASTERISERS = {"jets": _rasterise_jets, "hits": _rasterise_hits}


def _init_tracking(a: argparse.Namespace) -> Any:
    from detcnn.io.atomic import write_json
    from detcnn.tracking import init_store, resolve_uri

    info = init_store(resolve_uri(a.uri))
    write_json(a.marker, info)
    return info


def _train(a: argparse.Namespace) -> Any:
    from detcnn.train import train_network

    return train_network(
        a.train, a.val, a.out_dir, dataset=a.dataset, model_name=a.model,
        model_cfg=parse_json_arg(a.model_config, "model-config"), seed=a.seed, threads=a.threads,
        tracking_uri=resolve_uri(a.tracking_uri), progress=not a.quiet,
    )  # fmt: skip


def _fit_baseline(a: argparse.Namespace) -> Any:
    from detcnn.baseline import fit_cut_baseline

    return fit_cut_baseline(
        a.train, a.out_dir, dataset=a.dataset, name=a.name, cfg=parse_json_arg(a.baseline_config, "baseline-config"),
        working_points=a.efficiencies, tracking_uri=resolve_uri(a.tracking_uri),
    )  # fmt: skip


def _evaluate(a: argparse.Namespace) -> Any:
    from detcnn.evaluate import evaluate_model

    return evaluate_model(
        a.model_path, a.test, a.out_dir, kind=a.kind, dataset=a.dataset, model_name=a.model,
        efficiencies=a.efficiencies, n_bootstrap=a.n_bootstrap, seed=a.seed, tracking_uri=resolve_uri(a.tracking_uri),
        threads=a.threads, purities=a.purities,
    )  # fmt: skip


def _report(a: argparse.Namespace) -> Any:
    from detcnn.report.compare import make_report

    return make_report(
        a.evals, a.test, a.out_dir, dataset=a.dataset, task=a.task, efficiencies=a.efficiencies,
        n_bootstrap=a.n_bootstrap, seed=a.seed,
    )  # fmt: skip


def _models(a: argparse.Namespace) -> Any:
    from detcnn.models import list_models

    return list_models()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="detcnn", description=__doc__.split("\n")[0])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.set_defaults(handler=handler)
        return sp

    g = cmd("generate", _generate, "generate one shard of events (ROOT): Pythia jets or detector-simulation hits")
    g.add_argument("--source", choices=sorted(GENERATORS), default="pythia_jets")
    g.add_argument("--sample", required=True, choices=[s for v in SAMPLES.values() for s in v])
    g.add_argument("--shard", type=int, required=True)
    g.add_argument("--seed", type=int, required=True, help="the config's seed; the shard's seed derives from it")
    g.add_argument("--generate-config", required=True, help="JSON of the dataset's 'generate' section")
    g.add_argument("--out", required=True, type=Path)
    g.add_argument("--stats", type=Path, help="write generation statistics here (JSON)")

    r = cmd("rasterise", _rasterise, "ROOT jets or hits -> train/val/test image files (HDF5)")
    r.add_argument("--inputs", nargs="+", required=True, type=Path)
    for s in ("train", "val", "test"):
        r.add_argument(f"--{s}", required=True, type=Path)
    r.add_argument("--dataset", required=True)
    r.add_argument("--dataset-config", required=True, help="JSON of the dataset's config section")
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--stats", type=Path)

    t = cmd("init-tracking", _init_tracking, "create the MLflow store before parallel jobs log to it")
    t.add_argument("--uri", default=None, help="tracking URI (default: the SQLite store under results/)")
    t.add_argument("--marker", required=True, type=Path)

    tr = cmd("train", _train, "train a network on a dataset's train split")
    tr.add_argument("--train", required=True, type=Path)
    tr.add_argument("--val", required=True, type=Path)
    tr.add_argument("--out-dir", required=True, type=Path)
    tr.add_argument("--dataset", required=True)
    tr.add_argument("--model", required=True)
    tr.add_argument("--model-config", required=True, help="JSON: {arch, args, train}")
    tr.add_argument("--seed", type=int, required=True)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--tracking-uri", default=None, help="default: the SQLite store under results/")

    b = cmd("fit-baseline", _fit_baseline, "fit a cut-based baseline on the train split")
    b.add_argument("--train", required=True, type=Path)
    b.add_argument("--out-dir", required=True, type=Path)
    b.add_argument("--dataset", required=True)
    b.add_argument("--name", required=True)
    b.add_argument("--baseline-config", required=True, help="JSON: {kind, observables, ...}")
    b.add_argument("--efficiencies", nargs="+", type=float, default=[0.3, 0.5])
    b.add_argument("--tracking-uri", default=None, help="default: the SQLite store under results/")

    e = cmd("evaluate", _evaluate, "score the test split with a network or a baseline")
    e.add_argument("--model-path", required=True, type=Path)
    e.add_argument("--kind", required=True, choices=["network", "cuts"])
    e.add_argument("--test", required=True, type=Path)
    e.add_argument("--out-dir", required=True, type=Path)
    e.add_argument("--dataset", required=True)
    e.add_argument("--model", required=True)
    e.add_argument("--efficiencies", nargs="+", type=float, default=[0.3, 0.5])
    e.add_argument("--purities", nargs="+", type=float, default=[0.8, 0.9], help="multiclass: signal purities")
    e.add_argument("--n-bootstrap", type=int, default=200)
    e.add_argument("--seed", type=int, required=True)
    e.add_argument("--threads", type=int, default=1)
    e.add_argument("--tracking-uri", default=None, help="default: the SQLite store under results/")

    rp = cmd("report", _report, "comparison table and plots of every evaluated model of a dataset")
    rp.add_argument("--evals", nargs="+", required=True, type=Path)
    rp.add_argument("--test", required=True, type=Path)
    rp.add_argument("--out-dir", required=True, type=Path)
    rp.add_argument("--dataset", required=True)
    rp.add_argument("--task", default="classification")
    rp.add_argument("--efficiencies", nargs="+", type=float, default=[0.3, 0.5])
    rp.add_argument("--n-bootstrap", type=int, default=200)
    rp.add_argument("--seed", type=int, required=True)

    cmd("models", _models, "list the registered model names")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.handler(args)
    except (InputError, KeyError, ValueError, FileNotFoundError) as exc:
        print(f"detcnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    if result is not None:
        print(json.dumps(result, indent=1, default=str)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
