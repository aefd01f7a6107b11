# baselines and evaluate: cut baselines are fitted on train, then networks and baselines are scored on
# the same test events by the same evaluate rule, into the same file structure.


rule fit_baseline:
    input:
        train=rules.rasterise.output.train,
        store=ancient(rules.init_tracking.output.marker),
    output:
        cuts="results/models/{dataset}/{model}/cuts.json",
    params:
        baseline=lambda w: as_json(config["baselines"][w.model]),
    log:
        "logs/fit_baseline/{dataset}/{model}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "detcnn fit-baseline --train {input.train} --out-dir results/models/{wildcards.dataset}/{wildcards.model}"
        " --dataset {wildcards.dataset} --name {wildcards.model} --baseline-config {params.baseline:q}"
        " --efficiencies {EFFICIENCIES} --tracking-uri {TRACKING_URI:q} > {log} 2>&1"


def trained_model(wildcards):
    kind = model_kind(wildcards)
    target = rules.train.output.weights if kind == "network" else rules.fit_baseline.output.cuts
    return target.format(dataset=wildcards.dataset, model=wildcards.model)


rule evaluate:
    input:
        model=trained_model,
        test=rules.rasterise.output.test,
        store=ancient(rules.init_tracking.output.marker),
    output:
        scores="results/eval/{dataset}/{model}/scores.npz",
        metrics="results/eval/{dataset}/{model}/metrics.json",
        roc="results/eval/{dataset}/{model}/roc.png",
    params:
        kind=model_kind,
        seed=SEED,
        n_bootstrap=config["evaluate"]["n_bootstrap"],
    log:
        "logs/evaluate/{dataset}/{model}.log",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    shell:
        "detcnn evaluate --model-path {input.model} --kind {params.kind} --test {input.test}"
        " --out-dir results/eval/{wildcards.dataset}/{wildcards.model} --dataset {wildcards.dataset}"
        " --model {wildcards.model} --efficiencies {EFFICIENCIES} --n-bootstrap {params.n_bootstrap}"
        " --seed {params.seed} --threads {threads} --tracking-uri {TRACKING_URI:q} > {log} 2>&1"
