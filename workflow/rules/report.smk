# report: every evaluated model of one task of a dataset side by side, one rule per kind of task (their
# figures differ); outputs wrapped in report() for `snakemake --report report.html`.

rule report_classification:
    input:
        metrics=evaluations,
        test=rules.rasterise.output.test,
    output:
        table=figure("comparison.md", "comparison"),
        csv=f"{REPORT}comparison.csv",
        summary=f"{REPORT}summary.json",
        roc=figure("roc.png", "roc"),
        auc_params=figure("auc_vs_parameters.png", "auc_vs_parameters"),
        images=figure("mean_images.png", "mean_images"),
        observables=figure("observables.png", "observables"),
        examples=figure("examples.png", "examples"),
        confusion=figure("confusion.png", "confusion"),
    wildcard_constraints:
        task="classification",
    params:
        **report_params(),
    log:
        "logs/report/{dataset}/{task}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        ENV
    shell:
        REPORT_SHELL


rule report_segmentation:
    input:
        metrics=evaluations,
        test=rules.rasterise.output.test,
    output:
        table=figure("comparison.md", "comparison"),
        csv=f"{REPORT}comparison.csv",
        summary=f"{REPORT}summary.json",
        confusion=figure("confusion.png", "confusion"),
        examples=figure("examples.png", "segmentation_examples"),
    wildcard_constraints:
        task="segmentation",
    params:
        **report_params(),
    log:
        "logs/report/{dataset}/{task}.log",
    threads: 1
    resources:
        mem_mb=6000,
        runtime=20,
    conda:
        ENV
    shell:
        REPORT_SHELL


rule report_regression:
    input:
        metrics=evaluations,
        test=rules.rasterise.output.test,
    output:
        table=figure("comparison.md", "comparison"),
        csv=f"{REPORT}comparison.csv",
        summary=f"{REPORT}summary.json",
        residuals=figure("residuals.png", "residuals"),
        resolution=figure("resolution_vs_energy.png", "resolution_vs_energy"),
        examples=figure("examples.png", "regression_examples"),
    wildcard_constraints:
        task="pixel_regression|energy_regression",
    params:
        **report_params(),
    log:
        "logs/report/{dataset}/{task}.log",
    threads: 1
    resources:
        mem_mb=6000,
        runtime=20,
    conda:
        ENV
    shell:
        REPORT_SHELL
