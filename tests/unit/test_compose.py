"""docker-compose.yml describes the whole stack and is valid (checked offline: no Docker engine runs here)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from baton.paths import REPO_ROOT

STACK = {"warehouse", "airflow-db", "sandbox", "airflow-init", "airflow-api-server", "airflow-scheduler",
         "airflow-dag-processor", "airflow-triggerer"}


@pytest.fixture(scope="module")
def docker_compose() -> str:
    """Debian's docker-compose validates a file without an engine; the test setup installs it."""
    found = shutil.which("docker-compose")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("docker-compose is not installed and this user cannot apt-get install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], env=env, capture_output=True)
    if install.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        install = subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], env=env, capture_output=True)
    if install.returncode != 0:
        pytest.skip(f"could not install Debian's docker-compose: {install.stderr.decode()[-300:]}")
    return shutil.which("docker-compose")


def _compose(docker_compose: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([docker_compose, "-f", str(REPO_ROOT / "docker-compose.yml"), *args],
                          cwd=REPO_ROOT, capture_output=True, text=True)


def test_compose_file_is_valid(docker_compose):
    result = _compose(docker_compose, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_warehouse_airflow_three_services_and_the_sandbox(docker_compose):
    result = _compose(docker_compose, "config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == STACK


def test_compose_builds_every_baton_service_from_the_locked_image(docker_compose):
    result = _compose(docker_compose, "config")
    assert result.returncode == 0, result.stderr
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    assert result.stdout.count("image: baton:local") == len(STACK) - 2  # all but the two PostgreSQL servers
