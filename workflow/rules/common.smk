# Helpers and input functions shared by the rules. The config first: detcnn.config.load validates it against
# the schema the package composes (the common keys, and the keys of each source, kind of events, baseline
# kind and task), fills its defaults and checks it, so a key that is not one of them, an unknown source,
# task, baseline kind or network (or a network that cannot take its dataset's images) stops the workflow
# before anything runs. The rules then read the filled config.
# The tables (sources and their samples, tasks and their figures, baseline kinds and their task) come from
# the package's catalogue: nothing here names a task, a source or a kind.
import json
from pathlib import Path

from snakemake.exceptions import WorkflowError

from detcnn.catalogue import TASKS, task_figures
from detcnn.config import load
from detcnn.config.variations import without_studies
from detcnn.errors import ConfigError
from detcnn.kinds import ModelKind
from detcnn.resources import KEYS as RESOURCE_KEYS, job_resources, job_threads

try:  # the networks are built once, where the workflow starts (a cluster job re-reads this file)
    WORKFLOW_CONFIG = load(config, networks=workflow.is_main_process)
except ConfigError as exc:
    raise WorkflowError(f"the config cannot run: {exc}") from None
config.update(WORKFLOW_CONFIG.plain)

SEED = WORKFLOW_CONFIG.seed
TRACKING_URI = WORKFLOW_CONFIG.tracking.uri or "sqlite:///results/mlflow/mlflow.db"
EFFICIENCIES = list(WORKFLOW_CONFIG.evaluate.efficiencies)
PURITIES = list(WORKFLOW_CONFIG.evaluate.purities)
ENV = "../envs/detcnn.yaml"
# Files of the workflow's source are found relative to this folder (workflow/rules), never to the folder
# snakemake runs in: as a module of another workflow (docs/deploy.md) the two differ.
RULES_DIR = workflow.current_basedir


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_]+",
    sample="[A-Za-z0-9_]+",
    shard="[0-9]+",
    variation="[A-Za-z0-9_]+",
    size="[0-9]+",
    stem="[^/]+",


def as_json(obj):
    """A config section as compact JSON for a --*-config argument (key order fixed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def dataset_cfg(wildcards):
    return config["datasets"][wildcards.dataset]


#: The params every evaluate rule shares (the nominal, a variation's and a learning-curve subset's); each adds
#: its ``name`` and ``study`` flags.
EVALUATE_PARAMS = dict(
    kind=lambda w: model_kind(w),
    history=lambda w, input: f"--history {input.history} --train-run {input.run}" if input.get("history") else "",
    seed=SEED,
    n_bootstrap=config["evaluate"]["n_bootstrap"],
    efficiencies=EFFICIENCIES,
    purities=PURITIES,
    tracking_uri=TRACKING_URI,
)


def bins_flag(dataset):
    """The evaluate command's ``--bins`` flag: the dataset's bins as JSON (none: no flag)."""
    bins = config["datasets"][dataset]["bins"]
    return f"--bins '{as_json(bins)}'" if bins else ""


def _running(entries, dataset, task):
    """Names of ``entries`` (typed models or baselines, each knowing the datasets it runs on, computed once by
    detcnn.config.load) that run on ``dataset`` (for ``task`` only, when given), in config order."""
    return [e.name for e in entries.values() if dataset in e.datasets and task in (None, e.task)]


def networks(dataset, task=None):
    """Names under 'models' that run on ``dataset`` (for ``task`` only, when given)."""
    return _running(WORKFLOW_CONFIG.models, dataset, task)


def baselines(dataset, task=None):
    """Names under 'baselines' that run on ``dataset`` (for ``task`` only, when given)."""
    return _running(WORKFLOW_CONFIG.baselines, dataset, task)


def dataset_tasks(dataset):
    """The tasks of a dataset that have at least one model or baseline."""
    return [t for t in WORKFLOW_CONFIG.datasets[dataset].tasks if networks(dataset, t) or baselines(dataset, t)]


def model_kind(wildcards):
    """ModelKind.NETWORK for a name under 'models', ModelKind.BASELINE for one under 'baselines'."""
    return WORKFLOW_CONFIG.model(wildcards.model).kind


def all_reports():
    return [f"results/report/{d}/{t}/comparison.md" for d in config["datasets"] for t in dataset_tasks(d)]


def all_exports():
    """``model.onnx`` of every network of every dataset (none with export.onnx false)."""
    if not WORKFLOW_CONFIG.export.onnx:
        return []
    return [f"results/models/{d}/{m}/model.onnx" for d in config["datasets"] for m in networks(d)]


def tracking_args(dataset, model):
    """The train command's tracking flags: the network as an MLflow model (and registered), system metrics."""
    tracking = WORKFLOW_CONFIG.tracking
    flags = ["--system-metrics"] if tracking.system_metrics else []
    if tracking.register_models:
        flags += ["--log-model", "--register-as", f"{dataset}-{model}"]
    elif tracking.log_model:
        flags += ["--log-model"]
    return " ".join(flags)


def event_files(wildcards):
    """The ROOT files of a dataset: its source's generated shards, or the user's own files."""
    return dataset_event_files(wildcards.dataset)


def dataset_event_files(dataset):
    """The ROOT files of ``dataset``: its source's generated shards, or the user's own files."""
    ds = WORKFLOW_CONFIG.datasets[dataset]
    if not ds.samples:
        return ds.section["files"]
    return expand(
        rules.generate.output.events,
        dataset=dataset,
        sample=ds.samples,
        shard=range(ds.section["generate"]["shards"]),
    )


def model_files(wildcards):
    """The files the evaluation of a model reads: a network's weights and training history, or a fitted baseline."""
    if model_kind(wildcards) is ModelKind.NETWORK:
        return {
            "model": rules.train.output.weights.format(**wildcards),
            "history": rules.train.output.history.format(**wildcards),
            "run": rules.train.output.run.format(**wildcards),
        }
    return {"model": rules.fit_baseline.output.model.format(**wildcards)}


def evaluation_files(dataset, task, output):
    """The ``output`` (``metrics`` or ``scores``) of the evaluation of every model of ``task`` on ``dataset``."""
    models = networks(dataset, task) + baselines(dataset, task)
    return expand(rules.evaluate.output[output], dataset=dataset, model=models)


def report_file(task, name, caption):
    """A report output of ``task``, shown by ``snakemake --report`` with the caption
    workflow/report/<task>/<caption>.rst, or the generic one when the task has none of its own."""
    path = f"results/report/{{dataset}}/{task}/{name}"
    own = f"../report/{task}/{caption}.rst"  # relative to this file, as report() reads it
    rst = own if workflow.sourcecache.exists(RULES_DIR.join(own)) else "../report/figure.rst"
    return report(path, caption=rst, category="{dataset}", subcategory=task)


def report_figures(output, figures):
    """The --figure NAME=PATH flags of a report's figure outputs."""
    return " ".join(f"--figure {name}={output[name]}" for name in figures)


def stage_resources(stage):
    """The resources of every job of ``stage`` (config ``resources``: default, then the stage's section)."""
    return job_resources(config["resources"], stage)


def training_resources():
    """The resources of a training: its stage's, and the GPU section's when its model asks for GPUs."""

    def one(key):
        return lambda w: job_resources(config["resources"], "train", WORKFLOW_CONFIG.models[w.model].gpus)[key]

    return {key: one(key) for key in RESOURCE_KEYS}
