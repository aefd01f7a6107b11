# Helpers and input functions shared by the rules. Validation first: a config that does not match
# workflow/schemas/config.schema.yaml stops the workflow before anything runs.
import json

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

SEED = int(config["seed"])
TRACKING_URI = config["tracking"]["uri"] or "sqlite:///results/mlflow/mlflow.db"
EFFICIENCIES = [float(e) for e in config["evaluate"]["efficiencies"]]
SAMPLES = {"pythia_jets": ["quark", "gluon"]}
ENV = "../envs/detcnn.yaml"


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_]+",
    sample="[A-Za-z0-9_]+",
    shard="[0-9]+",


def as_json(obj):
    """A config section as compact JSON for a --*-config argument (key order fixed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def dataset_cfg(wildcards):
    return config["datasets"][wildcards.dataset]


def applies_to(entry, dataset):
    """Models and baselines apply to every dataset unless they list 'datasets'."""
    return dataset in entry.get("datasets", list(config["datasets"]))


def networks(dataset):
    return [m for m, c in config.get("models", {}).items() if applies_to(c, dataset)]


def baselines(dataset):
    return [b for b, c in config.get("baselines", {}).items() if applies_to(c, dataset)]


def model_kind(wildcards):
    if wildcards.model in config.get("models", {}):
        return "network"
    if wildcards.model in config.get("baselines", {}):
        return "cuts"
    raise ValueError(f"'{wildcards.model}' is neither under 'models' nor under 'baselines' in the config")


def all_reports():
    return expand("results/report/{dataset}/comparison.md", dataset=list(config["datasets"]))


def event_files(wildcards):
    """The ROOT files of a dataset: generated shards, or the user's own files."""
    ds = dataset_cfg(wildcards)
    if ds["source"] == "root_files":
        return ds["files"]
    return expand(
        rules.generate_jets.output.events,
        dataset=wildcards.dataset,
        sample=SAMPLES[ds["source"]],
        shard=range(ds["generate"]["shards"]),
    )


def trained_model(wildcards):
    kind = model_kind(wildcards)
    target = rules.train.output.weights if kind == "network" else rules.fit_baseline.output.cuts
    return target.format(dataset=wildcards.dataset, model=wildcards.model)


def evaluations(wildcards):
    models = networks(wildcards.dataset) + baselines(wildcards.dataset)
    return expand(rules.evaluate.output.metrics, dataset=wildcards.dataset, model=models)
