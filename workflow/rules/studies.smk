# studies (docs/studies.md): systematic variations (test-only samples made with changed generator, detector or
# camera settings, judged with the models trained on the nominal sample), performance in bins (computed by the
# evaluate rule, drawn here) and learning curves (the models retrained on nested subsets of the train split).
# Each study runs only for the datasets whose config asks for it; the commands are those of the nominal rules,
# the input functions in study_inputs.smk.


# -- systematic variations -----------------------------------------------------------------------------------


rule generate_variation:
    output:
        events="results/variations/{dataset}/{variation}/events/{sample}_{shard}.root",
        stats="results/variations/{dataset}/{variation}/events/{sample}_{shard}.json",
    params:
        generate=lambda w: as_json(variation_generate(dataset_cfg(w), variation_cfg(w))),
        source=lambda w: dataset_cfg(w)["source"],
        seed=SEED,
    log:
        "logs/generate_variation/{dataset}/{variation}/{sample}_{shard}.log",
    benchmark:
        "benchmarks/generate_variation/{dataset}/{variation}/{sample}_{shard}.tsv"
    threads: job_threads(config["resources"], "generate")
    resources:
        **stage_resources("generate"),
    conda:
        ENV
    shell:
        GENERATE_SHELL


rule rasterise_variation:
    input:
        variation_event_files,
    output:
        test="results/variations/{dataset}/{variation}/test.h5",
        stats="results/variations/{dataset}/{variation}/stats.json",
    params:
        dataset=lambda w: as_json({**without_studies(dataset_cfg(w)), "variations": variation_only(w)}),
        seed=SEED,
    log:
        "logs/rasterise_variation/{dataset}/{variation}.log",
    threads: job_threads(config["resources"], "rasterise")
    resources:
        **stage_resources("rasterise"),
    conda:
        ENV
    shell:
        "detcnn rasterise-variation --inputs {input:q} --test {output.test} --stats {output.stats}"
        " --dataset {wildcards.dataset} --variation {wildcards.variation} --dataset-config {params.dataset:q}"
        " --seed {params.seed} > {log} 2>&1"


rule evaluate_variation:
    input:
        unpack(model_files),
        val=rules.rasterise.output.val,
        test=rules.rasterise_variation.output.test,
        twin=lambda w: [] if w.variation == TWIN else f"results/variations/{w.dataset}/{TWIN}/test.h5",
        store=ancient(rules.init_tracking.output.marker),
    output:
        scores="results/variations/{dataset}/{variation}/eval/{model}/scores.npz",
        metrics="results/variations/{dataset}/{variation}/eval/{model}/metrics.json",
        plot="results/variations/{dataset}/{variation}/eval/{model}/plot.png",
    params:
        **EVALUATE_PARAMS,
        name=lambda w: w.model,
        study=lambda w, input: f"--variation {w.variation}" + (f" --nominal-test {input.twin}" if input.twin else ""),
    log:
        "logs/evaluate_variation/{dataset}/{variation}/{model}.log",
    threads: job_threads(config["resources"], "evaluate")
    resources:
        **stage_resources("evaluate"),
    conda:
        ENV
    shell:
        EVALUATE_SHELL


for _task in TASKS:
    _figures = task_figures(_task)

    rule:
        name:
            f"report_variation_{_task}"
        input:
            metrics=lambda w, task=_task: variation_evaluations(w.dataset, w.variation, task, "metrics"),
            scores=lambda w, task=_task: variation_evaluations(w.dataset, w.variation, task, "scores"),
            test=rules.rasterise_variation.output.test,
        output:
            **{name: f"results/variations/{{dataset}}/{{variation}}/report/{_task}/{name}.png" for name in _figures},
            table=f"results/variations/{{dataset}}/{{variation}}/report/{_task}/comparison.md",
            csv=f"results/variations/{{dataset}}/{{variation}}/report/{_task}/comparison.csv",
            summary=f"results/variations/{{dataset}}/{{variation}}/report/{_task}/summary.json",
        params:
            task=_task,
            figures=lambda w, output, figures=_figures: report_figures(output, figures),
            seed=SEED,
            n_bootstrap=config["evaluate"]["n_bootstrap"],
        log:
            f"logs/report_variation/{{dataset}}/{{variation}}/{_task}.log",
        threads: job_threads(config["resources"], "report")
        resources:
            **stage_resources("report"),
        conda:
            ENV
        shell:
            REPORT_SHELL

    rule:
        name:
            f"variations_{_task}"
        input:
            metrics=lambda w, task=_task: evaluation_files(w.dataset, task, "metrics"),
            varied=lambda w, task=_task: [
                path
                for v in variation_samples(w.dataset)
                for path in (
                    *variation_evaluations(w.dataset, v, task, "metrics"),
                    f"results/variations/{w.dataset}/{v}/report/{task}/summary.json",
                    f"results/variations/{w.dataset}/{v}/test.h5",
                )
            ],
        output:
            table=report_file(_task, "variations.md", "variations"),
            summary=f"results/report/{{dataset}}/{_task}/variations.json",
            figure=report_file(_task, "variations.png", "variations"),
        params:
            task=_task,
            variations=lambda w, task=_task: variations_flags(w.dataset, task),
            config=lambda w: as_json(config["datasets"][w.dataset]["variations"]),
        log:
            f"logs/variations/{{dataset}}/{_task}.log",
        threads: job_threads(config["resources"], "report")
        resources:
            **stage_resources("report"),
        conda:
            ENV
        shell:
            "detcnn variations --metrics {input.metrics:q} {params.variations} --variations-config {params.config:q} --table {output.table}"
            " --summary {output.summary} --figure {output.figure}"
            " --dataset {wildcards.dataset} --task {params.task} > {log} 2>&1"

    rule:
        name:
            f"binned_{_task}"
        input:
            metrics=lambda w, task=_task: evaluation_files(w.dataset, task, "metrics"),
        output:
            table=report_file(_task, "binned.md", "binned"),
            summary=f"results/report/{{dataset}}/{_task}/binned.json",
            figure=report_file(_task, "binned.png", "binned"),
        params:
            task=_task,
        log:
            f"logs/binned/{{dataset}}/{_task}.log",
        threads: job_threads(config["resources"], "report")
        resources:
            **stage_resources("report"),
        conda:
            ENV
        shell:
            "detcnn binned --metrics {input.metrics:q} --table {output.table} --summary {output.summary}"
            " --figure {output.figure} --dataset {wildcards.dataset} --task {params.task} > {log} 2>&1"

    rule:
        name:
            f"learning_curve_{_task}"
        input:
            points=lambda w, task=_task: [p for _, _, p in curve_points(w.dataset, task)],
            train=rules.rasterise.output.train,
        output:
            table=report_file(_task, "learning_curve.md", "learning_curve"),
            summary=f"results/report/{{dataset}}/{_task}/learning_curve.json",
            figure=report_file(_task, "learning_curve.png", "learning_curve"),
        params:
            task=_task,
            points=lambda w, task=_task: " ".join(f"--point {m}:{n}:{p}" for m, n, p in curve_points(w.dataset, task)),
        log:
            f"logs/learning_curve/{{dataset}}/{_task}.log",
        threads: job_threads(config["resources"], "report")
        resources:
            **stage_resources("report"),
        conda:
            ENV
        shell:
            "detcnn learning-curve {params.points} --train {input.train} --table {output.table}"
            " --summary {output.summary} --figure {output.figure} --dataset {wildcards.dataset}"
            " --task {params.task} > {log} 2>&1"


# -- learning curves ------------------------------------------------------------------------------------------


rule subset:
    input:
        train=rules.rasterise.output.train,
    output:
        train="results/learning/{dataset}/n{size}/train.h5",
    params:
        seed=SEED,
    log:
        "logs/subset/{dataset}/n{size}.log",
    threads: 1
    resources:
        **stage_resources("rasterise"),
    conda:
        ENV
    shell:
        "detcnn subset --train {input.train} --out {output.train} --size {wildcards.size} --seed {params.seed} > {log} 2>&1"


rule train_subset:
    input:
        train=rules.subset.output.train,
        val=rules.rasterise.output.val,
        store=ancient(rules.init_tracking.output.marker),
    output:
        weights="results/learning/{dataset}/n{size}/models/{model}/weights.pt",
        config="results/learning/{dataset}/n{size}/models/{model}/config.json",
        history="results/learning/{dataset}/n{size}/models/{model}/history.csv",
        run="results/learning/{dataset}/n{size}/models/{model}/run.json",
    params:
        name=lambda w: f"{w.model}_n{w.size}",
        model=lambda w: as_json(config["models"][w.model]),
        checkpoint="results/checkpoints/{dataset}/n{size}/{model}.pt",
        seed=SEED,
        tracking_uri=TRACKING_URI,
        tracking="",
    log:
        "logs/train_subset/{dataset}/n{size}/{model}.log",
    threads: lambda w: job_threads(config["resources"], "train", WORKFLOW_CONFIG.models[w.model].gpus)
    resources:
        **training_resources(),
    conda:
        ENV
    shell:
        TRAIN_SHELL


rule fit_baseline_subset:
    input:
        train=rules.subset.output.train,
        val=rules.rasterise.output.val,
        store=ancient(rules.init_tracking.output.marker),
    output:
        model="results/learning/{dataset}/n{size}/models/{model}/baseline.json",
    params:
        name=lambda w: f"{w.model}_n{w.size}",  # its run train/<model>_n<size>, as a network's subset training
        baseline=lambda w: as_json(config["baselines"][w.model]),
        efficiencies=EFFICIENCIES,
        tracking_uri=TRACKING_URI,
    log:
        "logs/fit_baseline_subset/{dataset}/n{size}/{model}.log",
    threads: job_threads(config["resources"], "fit_baseline")
    resources:
        **stage_resources("fit_baseline"),
    conda:
        ENV
    shell:
        FIT_SHELL


rule evaluate_subset:
    input:
        unpack(subset_model_files),
        val=rules.rasterise.output.val,
        test=rules.rasterise.output.test,
        store=ancient(rules.init_tracking.output.marker),
    output:
        scores="results/learning/{dataset}/n{size}/eval/{model}/scores.npz",
        metrics="results/learning/{dataset}/n{size}/eval/{model}/metrics.json",
        plot="results/learning/{dataset}/n{size}/eval/{model}/plot.png",
    params:
        **EVALUATE_PARAMS,
        name=lambda w: f"{w.model}_n{w.size}",  # as its training run (eval/<model>_n<size>, its child)
        study="",
    log:
        "logs/evaluate_subset/{dataset}/n{size}/{model}.log",
    threads: job_threads(config["resources"], "evaluate")
    resources:
        **stage_resources("evaluate"),
    conda:
        ENV
    shell:
        EVALUATE_SHELL
