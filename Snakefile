# detcnn: particle-detector events -> images -> CNNs, compared with the cut-based analysis.
# Table of contents only: the rules live in workflow/rules, the work in src/detcnn.
from snakemake.utils import min_version

min_version("8.20")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/study_inputs.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/rasterise.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/studies.smk"


rule all:
    input:
        all_reports(),
        all_exports(),
        all_studies(),
    default_target: True
