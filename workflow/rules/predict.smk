# predict: the networks and baselines a dataset's `predict` names, trained on that dataset or on another of the
# same kind of events (`trained_on`), score every event file of the dataset; per file one ROOT file with a
# friend tree of it (results/predict/<dataset>/<file>.root: same tree name, entries and order).


rule predict:
    input:
        events=lambda w: predict_files(w.dataset)[w.stem],
        reference=lambda w: rules.rasterise.output.test.format(
            dataset=trained_on(w.dataset, config["datasets"][w.dataset])
        ),
        models=lambda w: list(predict_models(w).values()),
    output:
        friend="results/predict/{dataset}/{stem}.root",
    params:
        ds=lambda w: as_json(scoring_dataset(config["datasets"], w.dataset)),
        models=lambda w: " ".join(f"--model {n}={p}" for n, p in predict_models(w).items()),
        seed=SEED,
    log:
        "logs/predict/{dataset}/{stem}.log",
    threads: job_threads(config["resources"], "predict")
    resources:
        **stage_resources("predict"),
    conda:
        ENV
    shell:
        "detcnn predict --events {input.events:q} --out {output.friend} --dataset {wildcards.dataset}"
        " --ds-config {params.ds:q} --reference {input.reference} {params.models} --seed {params.seed}"
        " --threads {threads} > {log} 2>&1"
