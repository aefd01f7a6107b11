# rasterise: all event files of a dataset -> one image file per split.


rule rasterise:
    input:
        event_files,
    output:
        train="results/images/{dataset}/train.h5",
        val="results/images/{dataset}/val.h5",
        test="results/images/{dataset}/test.h5",
        stats="results/images/{dataset}/stats.json",
    params:
        dataset=lambda w: as_json(dataset_cfg(w)),
        seed=SEED,
    log:
        "logs/rasterise/{dataset}.log",
    benchmark:
        "benchmarks/rasterise/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        ENV
    shell:
        "detcnn rasterise --inputs {input:q} --train {output.train} --val {output.val} --test {output.test}"
        " --dataset {wildcards.dataset} --dataset-config {params.dataset:q} --seed {params.seed}"
        " --stats {output.stats} > {log} 2>&1"
