"""The cluster path: job resources from the config, the SLURM profile as the executor plugin reads it (GPU
jobs' sbatch arguments checked without a GPU, slurm_extra validated for every rule), and the tiny workflow
through the SLURM executor on a real one-node cluster (Debian's slurm-wlm, started by tools/slurm-local.sh),
giving what the local run gives (for its jet dataset, from its generated events: a job of every later rule)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from detcnn.resources import job_resources, job_threads
from tests.conftest import ROOT, seed_events, snakemake, without_studies, workflow_folder

GPU_CONFIG = {
    "resources": {"default": {"slurm_account": "hep", "slurm_partition": "standard"},
                  "train": {"threads": 4}, "gpu": {"slurm_partition": "gpu", "gpu_model": "h100", "cpus_per_gpu": 8}},
}  # fmt: skip


def test_job_resources_merge_default_stage_and_gpu() -> None:
    res = {"default": {"mem_mb": 2000, "runtime": 60, "slurm_partition": "standard", "slurm_account": "hep"},
           "train": {"mem_mb": 6000, "runtime": 240, "threads": 4, "slurm_partition": None},
           "gpu": {"slurm_partition": "gpu", "gpu_model": "h100", "cpus_per_gpu": 8}}  # fmt: skip
    cpu = job_resources(res, "train", gpus=0)
    assert cpu["slurm_partition"] == "standard" and cpu["gpu"] == 0 and cpu["gpu_model"] == "" and cpu["mem_mb"] == 6000
    gpu = job_resources(res, "train", gpus=2)
    assert (gpu["slurm_partition"], gpu["gpu"], gpu["gpu_model"], gpu["cpus_per_gpu"]) == ("gpu", 2, "h100", 8)
    assert gpu["slurm_account"] == "hep" and gpu["runtime"] == 240 and gpu["request_gpus"] == 2
    assert job_resources(res, "report")["mem_mb"] == 2000 and job_threads(res, "train") == 4
    assert job_threads(res, "report") == 1


def _dry_run_resources(tmp_path: Path, extra: dict) -> dict[str, list[dict[str, str]]]:
    """``snakemake -n --profile workflow/profiles/slurm`` on the tiny config merged with ``extra``: the
    resources Snakemake gives each job, by rule."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="needs pip install -e '.[slurm]'")
    cfg = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    cfg.update(extra)
    cfg["models"]["cnn"]["train"]["gpus"] = 1
    result = snakemake(workflow_folder(tmp_path, cfg), "-n", "--profile", "workflow/profiles/slurm")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\nrule ", result.stdout):
        name = block.split(":", 1)[0].strip()
        found = re.search(r"^\s+resources: (.*)$", block, re.M)
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        if found:
            res = dict(kv.split("=", 1) for kv in found.group(1).split(", ") if "=" in kv)
            res["wildcards"] = wildcards.group(1) if wildcards else ""
            jobs.setdefault(name, []).append(res)
    return jobs


def _job(res: dict[str, str], threads: int = 1) -> SimpleNamespace:
    """A job as the plugin's submit functions read it: resources (ints as ints) and threads."""
    typed = {k: int(v) if v.isdigit() else v for k, v in res.items() if k != "wildcards"}
    resources = SimpleNamespace(**typed, get=lambda k, d=None: typed.get(k, d))
    return SimpleNamespace(resources=resources, threads=threads)


def test_gpu_training_gets_the_plugins_gpu_arguments(tmp_path: Path) -> None:
    """Without a GPU: the sbatch call the plugin builds for a training with train.gpus 1 and a gpu_model asks
    for that GPU on the GPU partition; a CPU training asks for none; every rule's slurm_extra passes."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string
    from snakemake_executor_plugin_slurm.validation import validate_slurm_extra

    jobs = _dry_run_resources(tmp_path, GPU_CONFIG)
    assert {"generate", "rasterise", "train", "evaluate", "fit_baseline", "init_tracking"} <= set(jobs)
    for listed in jobs.values():
        for res in listed:
            validate_slurm_extra(_job(res))  # raises on a flag the plugin manages itself
    trainings = {r["wildcards"]: r for r in jobs["train"]}
    gpu = trainings["dataset=qg, model=cnn"]
    params = {"run_uuid": "x", "slurm_logfile": "log", "comment_str": "c", "workdir": "", "account": "-A hep",
              "partition": f"-p {gpu['slurm_partition']}"}  # fmt: skip
    call = get_submit_command(_job(gpu, threads=4), params) + set_gres_string(_job(gpu))
    assert "-p gpu" in call and "--gpus=h100:1" in call and "--cpus-per-gpu=8" in call
    assert "-t 240" in call and "--mem 6000" in call
    cpu = trainings["dataset=qg, model=resnet"]
    assert cpu["gpu"] == "0" and cpu["slurm_partition"] == "standard" and set_gres_string(_job(cpu)) == ""
    assert all(r["slurm_partition"] == "standard" and r["gpu"] == "0" for r in jobs["generate"])


SLURM_MISSING = shutil.which("slurmctld") is None or shutil.which("munged") is None


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if SLURM_MISSING:
        pytest.skip("SLURM is not installed here (apt-get install slurm-wlm munge; .ci/run does)")
    if os.geteuid() != 0:
        pytest.skip("the one-node SLURM cluster needs root")
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="needs pip install -e '.[slurm]'")
    state = tmp_path_factory.mktemp("slurm")
    up = subprocess.run(["bash", str(ROOT / "tools/slurm-local.sh"), "up", str(state)], capture_output=True,
                        text=True, timeout=120)  # fmt: skip
    if up.returncode != 0:
        pytest.fail(f"tools/slurm-local.sh up failed: {up.stderr}")
    yield {"SLURM_CONF": up.stdout.strip().removeprefix("export SLURM_CONF=")}
    subprocess.run(["bash", str(ROOT / "tools/slurm-local.sh"), "down", str(state)], check=False, timeout=60)


def _results(folder: Path, dataset: str) -> set[str]:
    """The result files of ``dataset`` (``results/<stage>/<dataset>/...``), tracking, checkpoints and the learning
    curve (not run through SLURM) aside."""
    skip = ("mlflow", "checkpoints", "learning")
    return {str(p.relative_to(folder)) for p in (folder / "results").rglob("*") if p.is_file()
            and not any(s in p.parts for s in skip) and dataset in p.relative_to(folder).parts[2:3]
            and not p.name.startswith("learning_curve")}  # fmt: skip


@pytest.mark.workflow
def test_the_tiny_workflow_through_slurm_gives_the_local_results(
    slurm_cluster: dict[str, str], workdir: Path, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    cfg = yaml.safe_load((ROOT / "config/tiny.yaml").read_text())
    everything = {*cfg["models"], *cfg["baselines"]}
    cfg["datasets"] = {"qg": without_studies(cfg["datasets"]["qg"])}  # the tiny config's jets and bins
    cfg["models"] = {"cnn": {**cfg["models"]["cnn"], "datasets": ["qg"]}}  # one job of each rule
    cfg["baselines"] = {"cut_n_constituents": cfg["baselines"]["cut_n_constituents"]}
    workflow_folder(tmp_path, cfg)
    seed_events(tmp_path, workdir)  # Pythia's jets as the local run made them; every later stage through SLURM
    env = {**os.environ, **slurm_cluster, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "workflow/profiles/slurm",
        "--slurm-status-command",
        "squeue",
        "--slurm-no-account",
        "--jobs",
        "4",
        "--latency-wait",
        "10",
        "--slurm-init-seconds-before-status-checks",
        "5",
    ]  # fmt: skip  (a test: poll after 5 s, not 40 s; the plugin adds 10 s to the wait after each idle poll)
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "has been submitted with SLURM jobid" in result.stdout + result.stderr
    ours, names = _results(tmp_path, "qg"), {*cfg["models"], *cfg["baselines"]}
    others = everything - names  # trained and fitted by the local run of the whole tiny config
    local = {r for r in _results(workdir, "qg") if not others & set(Path(r).parts)}
    assert ours == local and "results/report/qg/classification/comparison.md" in ours
    for rel in sorted(ours):
        if rel.endswith(".h5"):
            assert (tmp_path / rel).read_bytes() == (workdir / rel).read_bytes(), rel
        if rel.endswith("metrics.json"):
            mine, local = (json.loads((d / rel).read_text())["metrics"] for d in (tmp_path, workdir))
            assert mine == local, rel
    runs = {}
    for folder in (workdir, tmp_path):
        client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'results/mlflow/mlflow.db'}")
        exp = client.get_experiment_by_name("detcnn/qg")
        runs[folder] = sorted((r.info.run_name, r.info.status) for r in client.search_runs([exp.experiment_id])
                              if r.info.run_name.split("/")[-1] in names)  # fmt: skip
    assert runs[tmp_path] == runs[workdir] and {s for _, s in runs[tmp_path]} == {"FINISHED"}
    assert len(runs[tmp_path]) == 4  # train and eval of a network and a baseline
