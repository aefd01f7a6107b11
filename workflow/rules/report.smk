# report: every evaluated model of a dataset side by side; outputs wrapped in report() for
# `snakemake --report report.html`.


rule report:
    input:
        metrics=evaluations,
        test=rules.rasterise.output.test,
    output:
        table=report("results/report/{dataset}/comparison.md", caption="../report/comparison.rst", category="{dataset}"),
        csv="results/report/{dataset}/comparison.csv",
        summary="results/report/{dataset}/summary.json",
        roc=report("results/report/{dataset}/roc.png", caption="../report/roc.rst", category="{dataset}"),
        auc_params=report(
            "results/report/{dataset}/auc_vs_parameters.png", caption="../report/auc_vs_parameters.rst", category="{dataset}"
        ),
        images=report("results/report/{dataset}/mean_images.png", caption="../report/mean_images.rst", category="{dataset}"),
        observables=report(
            "results/report/{dataset}/observables.png", caption="../report/observables.rst", category="{dataset}"
        ),
    params:
        evals=lambda w, input: [str(p).rsplit("/", 1)[0] for p in input.metrics],
        seed=SEED,
        n_bootstrap=config["evaluate"]["n_bootstrap"],
        efficiencies=EFFICIENCIES,
    log:
        "logs/report/{dataset}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    shell:
        "detcnn report --evals {params.evals:q} --test {input.test} --out-dir results/report/{wildcards.dataset}"
        " --dataset {wildcards.dataset} --efficiencies {params.efficiencies} --n-bootstrap {params.n_bootstrap}"
        " --seed {params.seed} > {log} 2>&1"
