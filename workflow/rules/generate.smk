# generate: one Pythia shard per job (sample x shard), each with its own seed derived from the config seed.


rule generate_jets:
    output:
        events="results/events/{dataset}/{sample}_{shard}.root",
        stats="results/events/{dataset}/{sample}_{shard}.json",
    params:
        generate=lambda w: as_json(dataset_cfg(w)["generate"]),
        seed=SEED,
    log:
        "logs/generate/{dataset}/{sample}_{shard}.log",
    benchmark:
        "benchmarks/generate/{dataset}/{sample}_{shard}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    shell:
        "detcnn generate --sample {wildcards.sample} --shard {wildcards.shard} --seed {params.seed}"
        " --generate-config {params.generate:q} --out {output.events} --stats {output.stats} > {log} 2>&1"


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
