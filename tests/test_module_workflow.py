"""detcnn inside a physicist's own Snakemake workflow (docs/deploy.md): the workflow as a Snakemake ``module`` of a
Snakefile in another folder with that folder's own config, and deployed there by ``snakedeploy deploy-workflow``
from a tagged clone. Results land in that folder, nothing in the workflow's source. Also: the rules pass
``snakefmt --check`` and ``snakemake --lint``, and there is one version (pyproject.toml's): the package's, the
changelog's newest and every MLflow run's ``detcnn.version`` tag."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import detcnn
from detcnn.tracking import VERSION_TAG, init_store, mlflow_run
from tests.conftest import ROOT, snakemake, without_studies, workflow_folder

#: The physicist's Snakefile (docs/deploy.md): their config, the workflow as a module with all its rules (named
#: detcnn_<rule>, beside their own rule all), and a step of their own that reads one of detcnn's results.
USER_SNAKEFILE = """configfile: "config/config.yaml"


module detcnn:
    snakefile:
        {snakefile}
    config:
        config


use rule * from detcnn as detcnn_*


rule all:
    default_target: True
    input:
        rules.detcnn_all.input,
        "analysis/best_tagger.txt",


rule best_tagger:
    input:
        "results/report/qg/classification/summary.json",
    output:
        "analysis/best_tagger.txt",
    run:
        import json

        aucs = json.load(open(input[0]))["models"]
        best = max(aucs, key=aucs.get)
        open(output[0], "w").write(f"{{best}} {{aucs[best]:.4f}}\\n")
"""
#: The jobs of :func:`module_config` (``snakemake -n``'s job table).
JOBS = {"generate": 2, "init_tracking": 1, "rasterise": 1, "train": 1, "fit_baseline": 1, "evaluate": 2,
        "export": 1, "report_classification": 1, "all": 1}  # fmt: skip


def module_config() -> dict:
    """The tiny config's q/g dataset without its studies, 60 jets per sample, its cnn and one cut: a user's own
    small config (about a minute on 2 cores)."""
    tiny = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    qg = {k: v for k, v in without_studies(tiny["datasets"]["qg"]).items() if k != "bins"}
    qg["generate"]["n_jets_per_shard"] = 60
    return {
        "seed": tiny["seed"],
        "tracking": tiny["tracking"],
        "evaluate": {**tiny["evaluate"], "n_bootstrap": 10},
        "datasets": {"qg": qg},
        "models": {"cnn": {**tiny["models"]["cnn"], "datasets": ["qg"]}},
        "baselines": {"cut_n_constituents": tiny["baselines"]["cut_n_constituents"]},
    }


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command-line tool ``name`` of this environment (snakefmt, snakedeploy, git) run in ``cwd``."""
    local = Path(sys.executable).parent / name
    if not local.exists() and shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([name, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def files(folder: Path) -> dict[str, tuple[int, int]]:
    """``{path: (bytes, mtime in ns)}`` of every file under ``folder`` (its .git excepted)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(folder).parts}  # fmt: skip


def job_counts(output: str) -> dict[str, int]:
    """The job table of ``snakemake -n``: ``{rule: jobs}``."""
    table = output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def user_folder(folder: Path, snakefile: str) -> Path:
    """``folder`` with the physicist's Snakefile (the module's ``snakefile``) and their config/config.yaml."""
    (folder / "config").mkdir(parents=True)
    (folder / "Snakefile").write_text(USER_SNAKEFILE.format(snakefile=json.dumps(snakefile)))
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(module_config()))
    return folder


@pytest.mark.workflow
def test_the_workflow_runs_as_a_module_of_a_users_snakefile(tmp_path: Path) -> None:
    source = tmp_path / "detcnn"  # the workflow's source: its folder, as in a clone
    shutil.copytree(ROOT / "workflow", source / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    before = files(source)
    user = user_folder(tmp_path / "analysis", str(source / "workflow" / "Snakefile"))
    result = snakemake(user)
    assert result.returncode == 0, result.stderr[-4000:]
    for path in ("results/report/qg/classification/comparison.md", "results/report/qg/classification/roc.png",
                 "results/models/qg/cnn/weights.pt", "results/models/qg/cnn/model.onnx",
                 "results/models/qg/cut_n_constituents/baseline.json", "results/eval/qg/cnn/metrics.json",
                 "results/mlflow/mlflow.db", "logs/train/qg/cnn.log", "benchmarks/train/qg/cnn.tsv"):  # fmt: skip
        assert (user / path).is_file(), path
    table = (user / "results/report/qg/classification/comparison.md").read_text()
    assert "| cnn | network |" in table and "| cut_n_constituents | baseline |" in table, table
    aucs = json.loads((user / "results/report/qg/classification/summary.json").read_text())["models"]
    best, auc = (user / "analysis/best_tagger.txt").read_text().split()  # the physicist's own step
    assert best == max(aucs, key=aucs.get) and float(auc) == pytest.approx(aucs[best], abs=1e-4), (best, auc)
    assert files(source) == before, "the run wrote into the workflow's source"

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{user / 'results/mlflow/mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("detcnn/qg").experiment_id])
    names = sorted(r.info.run_name for r in runs)
    assert names == ["eval/cnn", "eval/cut_n_constituents", "train/cnn", "train/cut_n_constituents"], names
    assert {r.data.tags.get(VERSION_TAG) for r in runs} == {detcnn.__version__}

    again = snakemake(user, "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
    report = snakemake(user, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-2000:]
    caption = (source / "workflow/report/classification/roc.rst").read_text().split("\n")[0][:40]
    assert caption in (user / "report.html").read_text(), "the report lacks the module's own figure caption"


@pytest.mark.workflow
def test_snakedeploy_deploys_a_tag_of_a_clone(tmp_path: Path) -> None:
    clone = tmp_path / "detcnn"
    for part in ("workflow", "config"):
        shutil.copytree(ROOT / part, clone / part, ignore=shutil.ignore_patterns("__pycache__"))
    tag = f"v{detcnn.__version__}"
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", tag],
                 ["tag", tag]):  # fmt: skip
        assert tool("git", *args, cwd=clone).returncode == 0, args
    # the working tree moves on after the tag: the deployment must read the tag
    snakefile = clone / "workflow" / "Snakefile"
    snakefile.write_text("raise SystemExit('the working tree was read, not the tag')\n" + snakefile.read_text())

    dest = tmp_path / "analysis"
    deployed = tool("snakedeploy", "deploy-workflow", str(clone), str(dest), "--tag", tag, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    assert (dest / "config" / "config.yaml").read_text() == (ROOT / "config" / "config.yaml").read_text()
    text = (dest / "workflow" / "Snakefile").read_text()
    assert "module detcnn:" in text and "use rule * from detcnn" in text, text
    # snakedeploy 0.17.1 writes a local repository's Snakefile as "workflow/Snakefile", which Snakemake reads
    # relative to the deployed Snakefile: pin it to the clone's tag instead (docs/deploy.md)
    pinned = json.dumps(f"git+file://{clone}/workflow/Snakefile@{tag}")
    text, n = re.subn(r'^(\s+)"workflow/Snakefile"\s*$', lambda m: m[1] + pinned, text, flags=re.M)
    assert n == 1, text
    (dest / "workflow" / "Snakefile").write_text(text)
    (dest / "config" / "config.yaml").write_text(yaml.safe_dump(module_config()))
    result = snakemake(dest, "-n")
    assert result.returncode == 0, result.stderr[-4000:]
    assert job_counts(result.stdout) == JOBS, result.stdout[-3000:]


def test_the_rules_are_snakefmt_formatted() -> None:
    """``snakefmt --check workflow/`` with the project's settings (pyproject.toml's [tool.snakefmt])."""
    result = tool("snakefmt", "--check", "workflow/", cwd=ROOT)
    assert result.returncode == 0, f"run `snakefmt workflow/`:\n{result.stderr[-2000:]}"


@pytest.mark.parametrize("config", ["config.yaml", "tiny.yaml"])
def test_snakemake_lint_is_clean(tmp_path: Path, config: str) -> None:
    folder = workflow_folder(tmp_path, yaml.safe_load((ROOT / "config" / config).read_text()))
    result = snakemake(folder, "--lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_one_version_in_pyproject_the_package_and_the_changelog() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert detcnn.__version__ == version, "the installed metadata is stale: pip install -e ."
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0] == version, releases


def test_the_config_readmes_example_is_a_config_that_runs() -> None:
    """config/README.md's own-files example passes the schema and the checks (its network takes its images)."""
    from detcnn.config import load

    block = re.search(r"```yaml\n(.*?)```", (ROOT / "config" / "README.md").read_text(), re.S)
    loaded = load(yaml.safe_load(block[1]), networks=True)
    assert list(loaded.datasets) == ["my_jets"] and loaded.models["cnn"].datasets == ("my_jets",)


def test_every_mlflow_run_records_the_version_that_ran_it(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    init_store(uri)
    with mlflow_run(uri, "toy", "train/cnn", tags={"kind": "network"}) as (_tracker, run):
        run_id = run.info.run_id
    client = MlflowClient(tracking_uri=uri)
    tags = client.get_run(run_id).data.tags
    assert tags[VERSION_TAG] == detcnn.__version__ and tags["kind"] == "network", tags
    client.delete_tag(run_id, VERSION_TAG)
    with mlflow_run(uri, "toy", "train/cnn", run_id=run_id):  # a resumed training
        pass
    assert client.get_run(run_id).data.tags[VERSION_TAG] == detcnn.__version__
