"""Screenshots of a finished workflow for docs/: the MLflow runs table of each dataset and task, and the
Snakemake report, taken with Debian's headless Chromium driven by Playwright.

    apt-get install chromium && pip install -e ".[docs]"   # playwright's driver; it downloads no browser
    python tools/screenshots.py                 # in the project folder, after `snakemake --cores 2`
    python tools/screenshots.py --report report.html --out docs/figures

Starts ``mlflow ui`` on the workflow's store (``results/mlflow/mlflow.db``) on a free port and opens, for
every dataset (experiment) and every task trained on it, the runs table as a physicist would set it up:
the training runs of that task (``params.task = ...``; their evaluations are child runs whose headline
metrics are copied up), sorted by the task's headline test metric (from the
task table), with the columns that answer "which network, with which settings, beat the cuts": ``kind``,
``arch``, ``n_parameters``, ``n_train``, ``train.lr`` and the headline metric with its bootstrap error.
Saves ``dashboard_<dataset>_<task>.png``, then ``report.png``: the report (``snakemake --report``, built if
absent) opened on one figure (``--report-figure``); and stops the server. ``page`` arguments are Playwright
pages. Not a test: it needs a browser and a finished run.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
#: Columns of MLflow's default runs table that take room from parameters and metrics.
HIDDEN = ("Dataset", "Source", "Models")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the MLflow server did not answer at {url} within {seconds:.0f} s")


def runs_url(base: str, experiment_id: str, task: str, headline: str, higher_is_better: bool) -> str:
    """The runs table of one experiment: the runs of ``task``, sorted by ``test/<headline>``, best first."""
    query = {
        "searchFilter": f"params.task = '{task}' and attributes.run_name LIKE 'train/%'",
        "orderByKey": f"metrics.`test/{headline}`",
        "orderByAsc": "false" if higher_is_better else "true",
        "startTime": "ALL",
        "lifecycleFilter": "Active",
    }
    return f"{base}/#/experiments/{experiment_id}/runs?{urllib.parse.urlencode(query)}"


def set_columns(page: Any, show: list[str]) -> None:
    """Reset the columns (the selection is kept per experiment: another task's metrics would stay), hide MLflow's
    default attribute columns :data:`HIDDEN` and show ``show`` (parameter and metric names),
    through the runs table's column selector (a tree of check boxes with a search field)."""
    selector = page.locator("[data-component-id$='experimentviewrunscolumnselector.tsx_315']")
    selector.click()
    page.get_by_text("Reset to defaults", exact=True).click()  # closes the selector
    page.wait_for_timeout(300)
    if not page.get_by_placeholder("Search columns").is_visible():
        selector.click()
    search = page.get_by_placeholder("Search columns")
    search.wait_for()
    for name in [*HIDDEN, *show]:
        search.fill(name)
        page.wait_for_timeout(300)
        nodes = page.locator("[data-testid='column-selector-tree'] .du-bois-light-tree-treenode")
        for i in range(nodes.count()):
            node = nodes.nth(i)
            if node.locator(".du-bois-light-tree-title").inner_text().strip() != name:
                continue
            checked = "checkbox-checked" in (node.get_attribute("class") or "")
            if checked != (name in show):
                node.locator(".du-bois-light-tree-checkbox").click()
            break
        else:
            print(f"  no column '{name}' in this experiment", file=sys.stderr)
    search.fill("")
    page.keyboard.press("Escape")


def close_assistant(page: Any) -> None:
    """Close MLflow 3's assistant side panel, which covers a third of the table."""
    close = page.locator("[data-component-id='mlflow.assistant.chat_panel.close']")
    if close.count():
        close.first.click()


def shoot_report(page: Any, report: Path, figure: str, png: Path) -> None:
    """The Snakemake report opened on ``figure`` (``results/report/<dataset>/...``): its dataset's category in
    the menu, then the figure's eye button."""
    page.goto(report.resolve().as_uri())
    page.get_by_text("Results", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text(figure.split("/")[2], exact=True).first.click()
    row = page.locator("tr", has_text=figure).first
    row.wait_for(timeout=30_000)
    row.locator("a[iconname='eye']").click()
    page.wait_for_timeout(2000)
    page.screenshot(path=str(png))
    print(f"{png} <- {report}: {figure}")


def experiments_and_tasks(uri: str) -> list[tuple[str, str, str]]:
    """``(dataset, experiment_id, task)`` for every task trained in every ``detcnn/`` experiment."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = []
    for exp in client.search_experiments():
        if not exp.name.startswith("detcnn/"):
            continue
        tasks = {r.data.params.get("task") for r in client.search_runs([exp.experiment_id], max_results=1000)}
        found += [(exp.name.removeprefix("detcnn/"), exp.experiment_id, t) for t in sorted(t for t in tasks if t)]
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", type=Path, default=Path("results/mlflow/mlflow.db"))
    p.add_argument("--report", type=Path, default=Path("report.html"))
    p.add_argument("--out", type=Path, default=Path("docs/figures"))
    p.add_argument("--width", type=int, default=1600, help="browser window width, pixels")
    p.add_argument("--height", type=int, default=800, help="browser window height, pixels")
    p.add_argument(
        "--report-figure",
        default="results/report/qg/classification/roc.png",
        help="the report entry to open in report.png",
    )
    p.add_argument("--only", nargs="*", help="dataset/task pairs to photograph (default: all)")
    a = p.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no chromium here: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise SystemExit('playwright is not installed: pip install -e ".[docs]"') from None
    if not a.store.is_file():
        raise SystemExit(f"no MLflow store at {a.store}: run the workflow first (snakemake --cores 2)")
    from detcnn.tasks import TASKS

    uri = f"sqlite:///{a.store.resolve()}"
    pages = [x for x in experiments_and_tasks(uri) if not a.only or f"{x[0]}/{x[2]}" in a.only]
    a.out.mkdir(parents=True, exist_ok=True)
    if not a.report.is_file():
        subprocess.run([sys.executable, "-m", "snakemake", "--report", str(a.report)], check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(f"{base}/health")
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=browser, args=CHROMIUM_ARGS)
            page = chromium.new_page(viewport={"width": a.width, "height": a.height})
            for dataset, experiment_id, task in pages:
                headline, higher = TASKS[task].HEADLINE
                page.goto(runs_url(base, experiment_id, task, headline, higher))
                page.wait_for_selector("text=train/", timeout=60_000)
                close_assistant(page)
                set_columns(page, ["kind", "arch", "n_parameters", "n_train", "train.lr", f"test/{headline}",
                                   f"test/{headline}_err"])  # fmt: skip
                page.wait_for_timeout(1000)
                png = a.out / f"dashboard_{dataset}_{task}.png"
                page.screenshot(path=str(png))
                print(f"{png} <- {page.url}")
            shoot_report(page, a.report, a.report_figure, a.out / "report.png")
            chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
