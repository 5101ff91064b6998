"""The repository's shape holds: one registry of sources that dbt agrees with, a wheel without the
sandbox, no Airflow plugins folder, and lint-clean Python and SQL."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from baton.paths import DBT_PROJECT_DIR, REPO_ROOT
from baton.sources.registry import sources


def _dbt_source_tables(source: str) -> set[str]:
    path = DBT_PROJECT_DIR / "models" / "staging" / source / f"_{source}__sources.yml"
    declared = yaml.safe_load(path.read_text())
    return {table["name"] for entry in declared["sources"] for table in entry.get("tables", [])}


@pytest.mark.parametrize("source", list(sources()))
def test_every_declared_stream_has_a_staging_source_entry_and_no_other(source):
    streams = set(sources()[source].stream_names)
    tables = _dbt_source_tables(source)
    assert streams - tables == set(), f"streams with no entry in _{source}__sources.yml"
    assert tables - streams == set(), f"dbt sources no stream of {source} declares"


def test_every_source_names_its_connection_stages_and_asset():
    for name, source in sources().items():
        assert source.connection_id == f"{name}_default"
        staged = [stream for stage in source.stream_stages() for stream in stage]
        assert sorted(staged) == sorted(source.stream_names), name
        assert source.asset_uri == f"postgres://warehouse:5432/baton/raw_{name}/all_streams"


def _uv() -> str | None:
    candidate = REPO_ROOT / ".baton" / "tools" / "bin" / "uv"
    return str(candidate) if candidate.exists() else shutil.which("uv")


def test_the_product_wheel_holds_no_sandbox_module(tmp_path):
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (make install bootstraps it into .baton/tools)")
    subprocess.run([uv, "build", "--wheel", "--package", "baton", "--out-dir", str(tmp_path), str(REPO_ROOT)],
                   check=True, capture_output=True, cwd=REPO_ROOT)
    (wheel,) = tmp_path.glob("baton-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    modules = [name for name in names if name.endswith(".py")]
    assert any(name == "baton/sources/registry.py" for name in modules)
    assert [name for name in names if "sandbox" in name] == []
    assert all(name.startswith(("baton/", "baton-")) for name in names)


def test_airflows_plugins_folder_holds_nothing_of_baton():
    from baton.airflow.environment import airflow_env

    assert not (REPO_ROOT / "plugins").exists()
    plugins = Path(airflow_env({})["AIRFLOW__CORE__PLUGINS_FOLDER"])
    assert not plugins.is_relative_to(REPO_ROOT / "src")
    assert list(plugins.glob("**/*.py")) == [] if plugins.exists() else True


def test_python_passes_ruff():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO_ROOT)],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout[-4000:]


def test_dbt_sql_passes_sqlfluff():
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    result = subprocess.run([str(sqlfluff), "lint", "dbt_project", "--nocolor"],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout[-4000:]
