# train: the MLflow store is created once, then every network trains as its own job.
# A model's params are its own config section, so editing one model reruns only that model. The checkpoint
# is no output (Snakemake would delete it with a failed job's outputs): a rerun of a killed training resumes.


rule init_tracking:
    output:
        marker="results/mlflow/store.json",
    params:
        tracking_uri=TRACKING_URI,
    log:
        "logs/init_tracking.log",
    threads: job_threads(config["resources"], "init_tracking")
    resources:
        **stage_resources("init_tracking"),
    conda:
        ENV
    shell:
        "detcnn init-tracking --uri {params.tracking_uri:q} --marker {output.marker} > {log} 2>&1"


TRAIN_SHELL = (  # also the learning curves' (studies.smk)
    "detcnn train --train {input.train} --val {input.val} --weights {output.weights} --config {output.config}"
    " --history {output.history} --run {output.run} --checkpoint {params.checkpoint}"
    " --dataset {wildcards.dataset} --name {params.name}"
    " --model-config {params.model:q} --seed {params.seed} --threads {threads}"
    " --tracking-uri {params.tracking_uri:q} {params.tracking} > {log} 2>&1"
)


rule train:
    input:
        train=rules.rasterise.output.train,
        val=rules.rasterise.output.val,
        store=ancient(rules.init_tracking.output.marker),
    output:
        weights="results/models/{dataset}/{model}/weights.pt",
        config="results/models/{dataset}/{model}/config.json",
        history="results/models/{dataset}/{model}/history.csv",
        run="results/models/{dataset}/{model}/run.json",
    params:
        name=lambda w: w.model,
        model=lambda w: as_json(config["models"][w.model]),
        checkpoint="results/checkpoints/{dataset}/{model}.pt",
        seed=SEED,
        tracking_uri=TRACKING_URI,
        tracking=lambda w: tracking_args(w.dataset, w.model),
    log:
        "logs/train/{dataset}/{model}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}.tsv"
    threads: lambda w: job_threads(config["resources"], "train", WORKFLOW_CONFIG.models[w.model].gpus)
    resources:
        **training_resources(),
    conda:
        ENV
    shell:
        TRAIN_SHELL


rule export:
    input:
        weights=rules.train.output.weights,
        run=rules.train.output.run,
        test=rules.rasterise.output.test,
    output:
        **({"aoti": "results/models/{dataset}/{model}/model.pt2"} if WORKFLOW_CONFIG.export.aoti else {}),
        onnx="results/models/{dataset}/{model}/model.onnx",
        summary="results/models/{dataset}/{model}/export.json",
    params:
        dataset=lambda w: as_json(without_studies(dataset_cfg(w))),  # the preprocessing the model expects
        seed=SEED,
        aoti=lambda w, output: f"--aoti {output.aoti}" if WORKFLOW_CONFIG.export.aoti else "",
    log:
        "logs/export/{dataset}/{model}.log",
    threads: job_threads(config["resources"], "export")
    resources:
        **stage_resources("export"),
    conda:
        ENV
    shell:
        "detcnn export --weights {input.weights} --test {input.test} --train-run {input.run}"
        " --onnx {output.onnx} --summary {output.summary} --dataset-config {params.dataset:q} --seed {params.seed}"
        " {params.aoti} --threads {threads} > {log} 2>&1"
