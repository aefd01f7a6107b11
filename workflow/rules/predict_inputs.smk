# Input functions of predict.smk: which event files, which models, which friend files.
from detcnn.config.predict import scoring_dataset, trained_on


def predict_files(dataset):
    """``{stem: path}``: the event files of ``dataset`` by the name of their friend file (the file name without
    ``.root``); two files of one name stop the workflow (their friends would overwrite each other)."""
    paths = dataset_event_files(dataset)
    stems = {}
    for path in paths:
        stem = Path(path).name.removesuffix(".root")
        if stem in stems:
            raise WorkflowError(
                f"datasets.{dataset}: two event files are named {Path(path).name} ({stems[stem]}, {path}); "
                "their friend trees would overwrite each other: rename one"
            )
        stems[stem] = path
    return stems


def all_predictions():
    """The friend file of every event file of every dataset with a ``predict`` section."""
    return [
        f"results/predict/{d}/{stem}.root"
        for d, ds in config["datasets"].items()
        if ds.get("predict")
        for stem in predict_files(d)
    ]


def predict_models(wildcards):
    """``{name: file}``: the trained network (weights.pt) or fitted baseline of every model of the prediction."""
    source = trained_on(wildcards.dataset, config["datasets"][wildcards.dataset])
    files = {}
    for name in config["datasets"][wildcards.dataset]["predict"]["models"]:
        model = {"dataset": source, "model": name}
        if WORKFLOW_CONFIG.model(name).kind is ModelKind.NETWORK:
            files[name] = rules.train.output.weights.format(**model)
        else:
            files[name] = rules.fit_baseline.output.model.format(**model)
    return files
