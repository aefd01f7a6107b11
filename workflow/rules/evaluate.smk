# baselines and evaluate: baselines are fitted on train, then networks and baselines are scored on
# the same test events by the same evaluate rule, into the same file structure.


# The commands, also those of the studies' rules (studies.smk): a learning curve's subsets, a variation's samples.
FIT_SHELL = (
    "detcnn fit-baseline --train {input.train} --val {input.val} --model {output.model} --dataset {wildcards.dataset}"
    " --name {params.name} --baseline-config {params.baseline:q} --efficiencies {params.efficiencies}"
    " --tracking-uri {params.tracking_uri:q} > {log} 2>&1"
)
EVALUATE_SHELL = (
    "detcnn evaluate --model-file {input.model} --kind {params.kind} {params.history} --val {input.val}"
    " --test {input.test} --scores {output.scores} --metrics {output.metrics} --plot {output.plot}"
    " --dataset {wildcards.dataset}"
    " --name {params.name} --efficiencies {params.efficiencies} --purities {params.purities}"
    " --n-bootstrap {params.n_bootstrap} --seed {params.seed} --threads {threads}"
    " --tracking-uri {params.tracking_uri:q} {params.study} > {log} 2>&1"
)


rule fit_baseline:
    input:
        train=rules.rasterise.output.train,
        val=rules.rasterise.output.val,
        store=ancient(rules.init_tracking.output.marker),
    output:
        model="results/models/{dataset}/{model}/baseline.json",
    params:
        name=lambda w: w.model,
        baseline=lambda w: as_json(config["baselines"][w.model]),
        efficiencies=EFFICIENCIES,
        tracking_uri=TRACKING_URI,
    log:
        "logs/fit_baseline/{dataset}/{model}.log",
    threads: job_threads(config["resources"], "fit_baseline")
    resources:
        **stage_resources("fit_baseline"),
    conda:
        ENV
    shell:
        FIT_SHELL


rule evaluate:
    input:
        unpack(model_files),
        val=rules.rasterise.output.val,
        test=rules.rasterise.output.test,
        store=ancient(rules.init_tracking.output.marker),
    output:
        scores="results/eval/{dataset}/{model}/scores.npz",
        metrics="results/eval/{dataset}/{model}/metrics.json",
        plot="results/eval/{dataset}/{model}/plot.png",
    params:
        **EVALUATE_PARAMS,
        name=lambda w: w.model,
        study=lambda w: bins_flag(w.dataset),
    log:
        "logs/evaluate/{dataset}/{model}.log",
    threads: job_threads(config["resources"], "evaluate")
    resources:
        **stage_resources("evaluate"),
    conda:
        ENV
    shell:
        EVALUATE_SHELL
