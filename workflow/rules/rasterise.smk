# rasterise: all event files of a dataset -> one image file per split, and the statistics of the step.


rule rasterise:
    input:
        event_files,
    output:
        train="results/images/{dataset}/train.h5",
        val="results/images/{dataset}/val.h5",
        test="results/images/{dataset}/test.h5",
        stats="results/images/{dataset}/stats.json",
    params:
        dataset=lambda w: as_json(without_studies(dataset_cfg(w))),  # the studies change no nominal file
        seed=SEED,
    log:
        "logs/rasterise/{dataset}.log",
    benchmark:
        "benchmarks/rasterise/{dataset}.tsv"
    threads: job_threads(config["resources"], "rasterise")
    resources:
        **stage_resources("rasterise"),
    conda:
        ENV
    shell:
        "detcnn rasterise --inputs {input:q} --train {output.train} --val {output.val} --test {output.test}"
        " --stats {output.stats} --dataset {wildcards.dataset} --dataset-config {params.dataset:q}"
        " --seed {params.seed} > {log} 2>&1"
