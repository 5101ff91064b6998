"""`baton bench install`: the README's standalone install, timed.

    pip wheel --no-deps -w DIST .                                  (wheel_build_s)
    python3.11 -m venv VENV && VENV/bin/pip install DIST/baton-*.whl apache-airflow-providers-postgres \\
        apache-airflow-providers-celery 'celery<5.7'               (install_cold_s, then install_warm_s)

Each install goes into a fresh venv with the pip that python3.11's venv brings. The first runs on an
empty pip cache of its own (every distribution downloaded from PyPI, so the figure includes the
network), the second on the cache the first filled (nothing downloaded). Prints one JSON object.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

DEPLOY_PACKAGES = ("apache-airflow-providers-postgres", "apache-airflow-providers-celery", "celery<5.7")


def _timed(command: list[str], env: dict) -> float:
    started = time.monotonic()
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=3600)
    return round(time.monotonic() - started, 1)


def bench_install(python: str = "python3.11") -> dict:
    from baton.paths import REPO_ROOT

    if REPO_ROOT is None:
        raise RuntimeError("baton bench install builds the wheel from a source checkout")
    with tempfile.TemporaryDirectory(prefix="baton-bench-install-") as tmp:
        root = Path(tmp)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("PIP_", "VIRTUAL_ENV", "AIRFLOW", "BATON_", "UV_"))}
        env["PIP_CACHE_DIR"] = str(root / "pip-cache")
        figures: dict = {}
        for run in ("cold", "warm"):
            venv = root / f"venv-{run}"
            subprocess.run([python, "-m", "venv", str(venv)], env=env, check=True, timeout=300)
            pip = str(venv / "bin" / "pip")
            if run == "cold":
                figures["pip"] = subprocess.run([pip, "--version"], env=env, capture_output=True, text=True,
                                                check=True).stdout.split()[1]
                figures["wheel_build_s"] = _timed([pip, "wheel", "--no-deps", "-q", "-w", str(root / "dist"),
                                                   str(REPO_ROOT)], env)
                (wheel,) = (root / "dist").glob("baton-*.whl")
            figures[f"install_{run}_s"] = _timed([pip, "install", "-q", str(wheel), *DEPLOY_PACKAGES], env)
            if run == "cold":
                listed = subprocess.run([pip, "list", "--format=freeze"], env=env, capture_output=True, text=True,
                                        check=True).stdout
                figures["distributions"] = len(listed.splitlines())
        return figures
