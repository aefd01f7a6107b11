# Helpers and input functions shared by the rules. Validation first: a config that does not match
# workflow/schemas/config.schema.yaml stops the workflow before anything runs.
import json

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

SEED = int(config["seed"])
TRACKING_URI = config["tracking"]["uri"] or "sqlite:///results/mlflow/mlflow.db"
EFFICIENCIES = [float(e) for e in config["evaluate"]["efficiencies"]]
PURITIES = [float(p) for p in config["evaluate"]["purities"]]
SAMPLES = {"pythia_jets": ["quark", "gluon"], "detector_sim": ["nue_cc", "numu_cc", "nc"]}
# The task of each baseline kind (networks name theirs under 'task').
BASELINE_TASKS = {
    "single_cut": "classification",
    "rectangular_cuts": "classification",
    "sequential_cuts": "classification",
    "pixel_cuts": "segmentation",
    "calorimetric": "energy_regression",
    "pixel_calibration": "pixel_regression",
}
# Binary classification baselines only make sense on two-class (jet) datasets, sequential cuts on multiclass.
BINARY_ONLY = {"single_cut", "rectangular_cuts"}
ENV = "../envs/detcnn.yaml"


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    model="[A-Za-z0-9_]+",
    task="classification|segmentation|pixel_regression|energy_regression",
    sample="[A-Za-z0-9_]+",
    shard="[0-9]+",


def as_json(obj):
    """A config section as compact JSON for a --*-config argument (key order fixed)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def dataset_cfg(wildcards):
    return config["datasets"][wildcards.dataset]


def is_multiclass(dataset):
    ds = config["datasets"][dataset]
    return ds["source"] == "detector_sim" or len(ds.get("class_names", [])) > 2


def applies_to(entry, dataset, task):
    """A model or baseline runs on a dataset that lists its task, and on those it lists under 'datasets' (all
    by default); cut kinds for two classes only where there are two, sequential cuts where there are more."""
    tasks = config["datasets"][dataset]["tasks"]
    if entry.get("kind") in BINARY_ONLY and is_multiclass(dataset):
        return False
    if entry.get("kind") == "sequential_cuts" and not is_multiclass(dataset):
        return False
    return task in tasks and dataset in entry.get("datasets", list(config["datasets"]))


def entry_task(entry):
    return BASELINE_TASKS[entry["kind"]] if "kind" in entry else entry.get("task", "classification")


def _entries(section, dataset, task):
    """Names under 'models' or 'baselines' that run on ``dataset`` (for ``task`` only, when given)."""
    chosen = []
    for name, entry in config.get(section, {}).items():
        own = entry_task(entry)
        if applies_to(entry, dataset, own) and task in (None, own):
            chosen.append(name)
    return chosen


def networks(dataset, task=None):
    return _entries("models", dataset, task)


def baselines(dataset, task=None):
    return _entries("baselines", dataset, task)


def dataset_tasks(dataset):
    """The tasks of a dataset that have at least one model or baseline."""
    return [t for t in config["datasets"][dataset]["tasks"] if networks(dataset, t) or baselines(dataset, t)]


def model_kind(wildcards):
    if wildcards.model in config.get("models", {}):
        return "network"
    if wildcards.model in config.get("baselines", {}):
        return "cuts"
    raise ValueError(f"'{wildcards.model}' is neither under 'models' nor under 'baselines' in the config")


def all_reports():
    return [f"results/report/{d}/{t}/comparison.md" for d in config["datasets"] for t in dataset_tasks(d)]


def event_files(wildcards):
    """The ROOT files of a dataset: generated shards, or the user's own files."""
    ds = dataset_cfg(wildcards)
    if ds["source"] == "root_files":
        return ds["files"]
    return expand(
        rules.generate.output.events,
        dataset=wildcards.dataset,
        sample=SAMPLES[ds["source"]],
        shard=range(ds["generate"]["shards"]),
    )


def trained_model(wildcards):
    kind = model_kind(wildcards)
    target = rules.train.output.weights if kind == "network" else rules.fit_baseline.output.cuts
    return target.format(dataset=wildcards.dataset, model=wildcards.model)


def evaluations(wildcards):
    models = networks(wildcards.dataset, wildcards.task) + baselines(wildcards.dataset, wildcards.task)
    return expand(rules.evaluate.output.metrics, dataset=wildcards.dataset, model=models)


# report rules (report.smk): one output folder per dataset and task, shared params and command
REPORT = "results/report/{dataset}/{task}/"


def report_params():
    return {
        "evals": lambda w, input: [str(p).rsplit("/", 1)[0] for p in input.metrics],
        "seed": SEED,
        "n_bootstrap": config["evaluate"]["n_bootstrap"],
        "efficiencies": EFFICIENCIES,
    }


def figure(name, caption):
    return report(f"{REPORT}{name}", caption=f"../report/{caption}.rst", category="{dataset}", subcategory="{task}")


REPORT_SHELL = (
    "detcnn report --evals {params.evals:q} --test {input.test} --out-dir results/report/{wildcards.dataset}/{wildcards.task}"
    " --dataset {wildcards.dataset} --task {wildcards.task} --efficiencies {params.efficiencies}"
    " --n-bootstrap {params.n_bootstrap} --seed {params.seed} > {log} 2>&1"
)
