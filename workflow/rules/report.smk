# report: every evaluated model of one task of a dataset side by side. One rule per task, generated from the
# task table (the tasks' figures differ); outputs wrapped in report() for `snakemake --report report.html`.


REPORT_SHELL = (  # also a variation's report (studies.smk)
    "detcnn report --metrics {input.metrics:q} --scores {input.scores:q} --test {input.test}"
    " --table {output.table} --csv {output.csv} --summary {output.summary} {params.figures}"
    " --dataset {wildcards.dataset} --task {params.task} --n-bootstrap {params.n_bootstrap}"
    " --seed {params.seed} > {log} 2>&1"
)


for _task in TASKS:
    _figures = task_figures(_task)

    rule:
        name:
            f"report_{_task}"
        input:
            metrics=lambda w, task=_task: evaluation_files(w.dataset, task, "metrics"),
            scores=lambda w, task=_task: evaluation_files(w.dataset, task, "scores"),
            test=rules.rasterise.output.test,
        output:
            **{name: report_file(_task, f"{name}.png", name) for name in _figures},
            table=report_file(_task, "comparison.md", "comparison"),
            csv=f"results/report/{{dataset}}/{_task}/comparison.csv",
            summary=f"results/report/{{dataset}}/{_task}/summary.json",
        params:
            task=_task,
            figures=lambda w, output, figures=_figures: report_figures(output, figures),
            seed=SEED,
            n_bootstrap=config["evaluate"]["n_bootstrap"],
        log:
            f"logs/report/{{dataset}}/{_task}.log",
        threads: job_threads(config["resources"], "report")
        resources:
            **stage_resources("report"),
        conda:
            ENV
        shell:
            REPORT_SHELL
