"""Screenshots of a finished workflow for docs/: the MLflow runs table of each experiment and the Snakemake
report, taken with headless Chromium (Debian's ``chromium``: ``apt-get install chromium``).

    python tools/screenshots.py                 # in the project folder, after `snakemake --cores 2`
    python tools/screenshots.py --report report.html --out docs/figures

Starts ``mlflow ui`` on the workflow's store (``results/mlflow/mlflow.db``) on a free port, opens each
experiment's runs table (``#/experiments/<id>/runs``) and the report (``snakemake --report`` output, built
if absent), saves ``dashboard_<dataset>.png`` and ``report.png``, and stops the server. Not a test: it
needs a browser and a finished run.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


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


def shoot(browser: str, url: str, png: Path, size: str, wait_ms: int) -> None:
    """One headless Chromium screenshot of ``url``, taken ``wait_ms`` after the page starts loading (the
    dashboard is a single-page app that keeps polling: a virtual-time budget would never run out)."""
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={size}",
           f"--timeout={wait_ms}", f"--screenshot={png}", url]  # fmt: skip
    png.unlink(missing_ok=True)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=wait_ms / 1000 + 120)
    if done.returncode != 0 or not png.is_file():
        raise SystemExit(f"chromium failed on {url}: {done.stderr[-1500:]}")
    print(f"{png} <- {url}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", type=Path, default=Path("results/mlflow/mlflow.db"))
    p.add_argument("--report", type=Path, default=Path("report.html"))
    p.add_argument("--out", type=Path, default=Path("docs/figures"))
    p.add_argument("--size", default="1600,1000", help="browser window, pixels")
    p.add_argument("--wait-ms", type=int, default=30000, help="time for the page's scripts to render")
    a = p.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no chromium here: apt-get install chromium")
    if not a.store.is_file():
        raise SystemExit(f"no MLflow store at {a.store}: run the workflow first (snakemake --cores 2)")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{a.store.resolve()}"
    experiments = [e for e in MlflowClient(tracking_uri=uri).search_experiments() if e.name.startswith("detcnn/")]
    a.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/health")
        for exp in experiments:
            name = exp.name.removeprefix("detcnn/")
            shoot(browser, f"http://127.0.0.1:{port}/#/experiments/{exp.experiment_id}/runs",
                  a.out / f"dashboard_{name}.png", a.size, a.wait_ms)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    if not a.report.is_file():
        subprocess.run([sys.executable, "-m", "snakemake", "--report", str(a.report)], check=True)
    shoot(browser, a.report.resolve().as_uri(), a.out / "report.png", a.size, a.wait_ms)


if __name__ == "__main__":
    main()
