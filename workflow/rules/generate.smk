# generate: one shard per job (sample x shard) of the dataset's source, each shard with its own seed derived
# from the config seed.


GENERATE_SHELL = (  # also a variation's (studies.smk): its shard numbers come after the nominal ones
    "detcnn generate --source {params.source} --sample {wildcards.sample} --shard {wildcards.shard} --seed {params.seed}"
    " --generate-config {params.generate:q} --events {output.events} --stats {output.stats} > {log} 2>&1"
)


rule generate:
    output:
        events="results/events/{dataset}/{sample}_{shard}.root",
        stats="results/events/{dataset}/{sample}_{shard}.json",
    params:
        generate=lambda w: as_json(dataset_cfg(w)["generate"]),
        source=lambda w: dataset_cfg(w)["source"],
        seed=SEED,
    log:
        "logs/generate/{dataset}/{sample}_{shard}.log",
    benchmark:
        "benchmarks/generate/{dataset}/{sample}_{shard}.tsv"
    threads: job_threads(config["resources"], "generate")
    resources:
        **stage_resources("generate"),
    conda:
        ENV
    shell:
        GENERATE_SHELL
