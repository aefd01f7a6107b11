# Input functions of the studies' rules (studies.smk): a variation's samples and files, the learning curves'
# points, the studies a dataset asks for.
from detcnn.config.variations import TWIN, shard_numbers, variation_generate, variation_section


def variations(dataset):
    """The dataset's variations (without the nominal twin)."""
    return list(config["datasets"][dataset]["variations"])


def variation_samples(dataset):
    """The samples of a dataset's variation study: the nominal twin first, then every variation (none without)."""
    return [TWIN, *variations(dataset)] if variations(dataset) else []


def variation_cfg(w):
    """The section of the variation ``w.variation`` (the twin's: nothing changed)."""
    return variation_section(config["datasets"][w.dataset], w.variation)


def variation_event_files(w):
    """A variation's (or the twin's) ROOT files: generated after the nominal shards with the twin's seeds, or
    the user's own (the twin of a dataset of the user's files: its nominal files)."""
    ds = WORKFLOW_CONFIG.datasets[w.dataset]
    if not ds.samples:
        return variation_cfg(w).get("files") or ds.section["files"]
    return expand(rules.generate_variation.output.events, dataset=w.dataset, variation=w.variation,
                  sample=ds.samples, shard=shard_numbers(ds.section))  # fmt: skip


def curve(dataset):
    """The learning curve of a dataset (its models and sizes), or None."""
    return config["datasets"][dataset].get("learning_curve")


def curve_models(dataset, task):
    c = curve(dataset)
    return [m for m in (c["models"] if c else []) if WORKFLOW_CONFIG.model(m).task == task]


def study_tasks(dataset):
    """The tasks of a dataset with a model or baseline, and what each study writes for them."""
    return dataset_tasks(dataset)


def all_studies():
    out = []
    for d in config["datasets"]:
        for t in study_tasks(d):
            folder = f"results/report/{d}/{t}"
            if variations(d):
                out.append(f"{folder}/variations.md")
            if config["datasets"][d]["bins"]:
                out.append(f"{folder}/binned.md")
            if curve_models(d, t):
                out.append(f"{folder}/learning_curve.md")
    return out


def variation_only(w):
    """The dataset's variations as the rasterise step of ``w.variation`` needs them: that one (none for the twin)."""
    return {} if w.variation == TWIN else {w.variation: variation_cfg(w)}


def variation_evaluations(dataset, variation, task, output):
    models = networks(dataset, task) + baselines(dataset, task)
    return expand(rules.evaluate_variation.output[output], dataset=dataset, variation=variation, model=models)


def variations_flags(dataset, task):
    """``--variation NAME=TEST:SUMMARY:METRICS,...`` for the twin and every variation of the dataset (the
    variations stage's inputs)."""
    flags = []
    for v in variation_samples(dataset):
        metrics = ",".join(sorted(variation_evaluations(dataset, v, task, "metrics")))  # not the config's order
        flags.append(
            f"--variation {v}=results/variations/{dataset}/{v}/test.h5:"
            f"results/variations/{dataset}/{v}/report/{task}/summary.json:{metrics}"
        )
    return " ".join(flags)


def curve_points(dataset, task):
    """``(model, training events or 'all', metrics.json)`` of every point of the dataset's learning curve for
    ``task``: each subset's evaluation, then the nominal one (the whole train split)."""
    c = curve(dataset)
    out = []
    for m in curve_models(dataset, task):
        out += [(m, n, f"results/learning/{dataset}/n{n}/eval/{m}/metrics.json") for n in c["sizes"]]
        out.append((m, "all", f"results/eval/{dataset}/{m}/metrics.json"))
    return out


def subset_model_files(w):
    """The files of a model retrained on a subset: a network's weights, history and run, or a baseline."""
    if model_kind(w) is ModelKind.NETWORK:
        out = rules.train_subset.output
        return {"model": out.weights.format(**w), "history": out.history.format(**w), "run": out.run.format(**w)}
    return {"model": rules.fit_baseline_subset.output.model.format(**w)}
