"""The wheel is a deployment: built with `pip wheel --no-deps`, installed with the postgres and celery
providers into a fresh Python 3.11 environment, its DAG folder imports with no error and lists the four
scheduled DAGs; nothing of the demo or the tests comes along."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile

import pytest

from baton.paths import REPO_ROOT

SCHEDULED_DAGS = {"baton_extract_salesforce", "baton_extract_marketo", "baton_extract_hubspot", "baton_transform"}
NOT_IN_PRODUCTION = ("pgserver", "pytest", "simple-salesforce", "hubspot-api-client", "marketorestpython", "dlt",
                     "baton-sandbox", "selenium")


def _uv() -> str:
    candidate = REPO_ROOT / ".baton" / "tools" / "bin" / "uv"
    return str(candidate) if candidate.exists() else (shutil.which("uv") or pytest.skip("uv is not installed"))


def _pip() -> str:
    """A pip (the project's venv has none: uv manages it): the one `make install` bootstraps uv with, else python3.11's."""
    candidate = REPO_ROOT / ".baton" / "tools" / "bin" / "pip"
    return str(candidate) if candidate.exists() else (shutil.which("pip3.11") or pytest.skip("no pip for Python 3.11"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([_pip(), "wheel", "--no-deps", "-q", "-w", str(out), str(REPO_ROOT)],
                   check=True, capture_output=True, timeout=300)
    (built,) = out.glob("baton-*.whl")
    return str(built)


@pytest.fixture(scope="module")
def deployment(wheel, tmp_path_factory) -> dict:
    """A fresh venv with the wheel and the two providers, as the README's standalone steps install it.

    uv's pip interface stands in for pip (same resolution from PyPI, its cache makes reruns fast)."""
    root = tmp_path_factory.mktemp("deploy")
    venv = root / "venv"
    uv = _uv()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIRFLOW", "BATON_", "VIRTUAL_ENV", "UV_PROJECT"))}
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR") or str(REPO_ROOT / ".baton" / "cache" / "uv")
    subprocess.run([uv, "venv", "-q", "--python", "python3.11", str(venv)], check=True, env=env, timeout=120)
    started = time.monotonic()
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), wheel,
                    "apache-airflow-providers-postgres", "apache-airflow-providers-celery", "celery<5.7"],
                   check=True, env=env, timeout=900)
    install_s = time.monotonic() - started
    print(f"\nwheel + providers installed into a fresh venv in {install_s:.1f}s")
    home = root / "airflow"
    env.update({"AIRFLOW_HOME": str(home), "BATON_STATE_DIR": str(root / "state"), "DO_NOT_TRACK": "1",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"})
    return {"venv": venv, "env": env, "cwd": root, "install_s": install_s}


def _run(deployment, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(deployment["venv"] / "bin" / args[0]), *args[1:]], env=deployment["env"],
                          cwd=deployment["cwd"], capture_output=True, text=True, timeout=timeout)


def test_the_wheel_carries_the_dags_the_dbt_project_and_the_suites(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"baton/dags/baton_transform.py", "baton/dbt_project/dbt_project.yml",
            "baton/dbt_project/render_manifest.json", "baton/expectations/marts.fct_handoffs.json"} <= names
    assert not any("sandbox" in name for name in names)


def test_the_installed_wheel_lists_the_four_dags_with_no_import_error(deployment):
    folder = _run(deployment, "baton", "dags-folder")
    assert folder.returncode == 0, folder.stderr
    dags_folder = folder.stdout.strip()
    assert "site-packages/baton/dags" in dags_folder
    deployment["env"]["AIRFLOW__CORE__DAGS_FOLDER"] = dags_folder
    migrate = _run(deployment, "airflow", "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    # What a dag-processor does: parse the folder, store the DAGs and any import error in the metadata database.
    parsed = _run(deployment, "airflow", "dags", "reserialize")
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    errors = _run(deployment, "airflow", "dags", "list-import-errors", "-o", "plain")
    assert errors.returncode == 0, errors.stderr[-2000:]
    assert "No data found" in errors.stdout + errors.stderr or errors.stdout.strip() == "", errors.stdout
    listed = _run(deployment, "airflow", "dags", "list", "-o", "plain")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert SCHEDULED_DAGS <= set(listed.stdout.split()), listed.stdout


def test_a_production_install_brings_no_test_tool_and_no_embedded_warehouse(deployment):
    listed = subprocess.run([_uv(), "pip", "list", "--python", str(deployment["venv"] / "bin" / "python")],
                            capture_output=True, text=True, env=deployment["env"], check=True)
    installed = {line.split()[0].lower() for line in listed.stdout.splitlines()[2:] if line.strip()}
    assert installed.isdisjoint(NOT_IN_PRODUCTION), installed & set(NOT_IN_PRODUCTION)
    assert {"baton", "apache-airflow-providers-postgres", "apache-airflow-providers-slack"} <= installed


def test_assets_are_valid_under_the_postgres_provider(deployment):
    script = ("from baton.airflow.dags import MARTS_ASSET_URI\nfrom baton.sources.registry import sources\n"
              "from airflow.sdk import Asset\n"
              "for uri in [MARTS_ASSET_URI, *(s.asset_uri for s in sources().values())]: print(Asset(uri).uri)")
    result = _run(deployment, "python", "-c", script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.stdout.split()) == 4
