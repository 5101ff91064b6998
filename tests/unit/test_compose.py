"""docker-compose.yml describes the whole stack and is valid for the default services and every profile
(checked offline with Debian's docker-compose: no container engine runs here). What can run without an
engine does: the worker's executor guard, and warehouse-init's SQL against the test PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import psycopg
import pytest
import yaml

from baton.paths import REPO_ROOT

STACK = {"warehouse", "warehouse-init", "airflow-db", "sandbox", "airflow-init", "airflow-api-server",
         "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
PROFILES = {"celery": {"redis", "airflow-worker"}}
AIRFLOW_SERVICES = {"airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker"}
ONE_SHOTS = {"warehouse-init", "airflow-init"}
ADMIN_PASSWORD = "admin-secret-" + uuid.uuid4().hex[:8]  # recognisable: where may it appear?
LOGIN_PASSWORD = "login-secret-" + uuid.uuid4().hex[:8]


def _docker_compose() -> str:
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


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    """docker-compose on the repository's file, blind to a developer's .env and shell settings."""
    binary = _docker_compose()
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("AIRFLOW", "BATON_", "WAREHOUSE", "COMPOSE_"))}

    def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([binary, "-f", str(REPO_ROOT / "docker-compose.yml"), "--env-file", str(empty), *args],
                              cwd=REPO_ROOT, capture_output=True, text=True, env={**clean, **(env or {})})

    return run


@pytest.fixture(scope="module")
def celery_stack(compose) -> dict:
    """The resolved file with the celery profile and the executor switched, and recognisable passwords."""
    result = compose("--profile", "celery", "config",
                      env={"AIRFLOW_EXECUTOR": "CeleryExecutor", "WAREHOUSE_ADMIN_PASSWORD": ADMIN_PASSWORD,
                           "BATON_WAREHOUSE_PASSWORD": LOGIN_PASSWORD})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_compose_file_is_valid_with_every_profile(compose, profile):
    """`docker-compose config -q` passes for the default services and for each profile."""
    result = compose(*(["--profile", profile] if profile else []), "config", "-q")
    assert result.returncode == 0, result.stderr


def test_the_default_stack_is_the_warehouse_airflow_and_the_sandbox_and_celery_adds_redis_and_a_worker(celery_stack):
    """Without a profile: warehouse, Airflow's four services on their metadata database, the sandbox and the
    two one-shot inits; the celery profile adds exactly Redis and a worker."""
    default = {name for name, service in celery_stack.items() if not service.get("profiles")}
    assert default == STACK
    for profile, added in PROFILES.items():
        assert {name for name, service in celery_stack.items() if profile in service.get("profiles", [])} == added


def test_every_service_has_a_healthcheck_or_is_a_one_shot_its_dependants_wait_for(celery_stack):
    """As in Airflow's official compose file: every long-running service has a healthcheck and whoever depends
    on it waits for it to be healthy; a one-shot (its exit code is its health) is waited for to complete."""
    for name, service in celery_stack.items():
        if name in ONE_SHOTS:
            assert service.get("restart") == "no" and "healthcheck" not in service, name
        else:
            test = service.get("healthcheck", {}).get("test")
            assert test and test[0] in ("CMD", "CMD-SHELL") and not service["healthcheck"].get("disable"), name
        for dependency, how in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            assert how["condition"] == expected, (name, dependency)
    assert set(celery_stack["airflow-worker"]["depends_on"]) == {"redis", "airflow-api-server", "airflow-init"}
    for name in AIRFLOW_SERVICES:
        assert "airflow-init" in celery_stack[name]["depends_on"], name


def test_the_executor_is_local_by_default_and_one_variable_switches_every_airflow_service(celery_stack):
    """AIRFLOW_EXECUTOR is the switch (a profile cannot change the always-on services' environment)."""
    raw = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert raw["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == (
        "${AIRFLOW_EXECUTOR:-LocalExecutor}")
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        assert celery_stack[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_the_worker_refuses_to_start_unless_the_executor_is_celery(celery_stack):
    """The celery profile without the executor switch fails loudly instead of leaving an idle worker."""
    command = [part.replace("$$", "$") for part in celery_stack["airflow-worker"]["command"]]
    assert command[:2] == ["bash", "-ec"] and command[2].rstrip().endswith("exec airflow celery worker")
    guard = command[2].replace("exec airflow celery worker", "echo would-start")
    refused = subprocess.run(["bash", "-ec", guard], env={"PATH": os.environ["PATH"],
                             "AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}, capture_output=True, text=True)
    assert refused.returncode == 1 and "AIRFLOW_EXECUTOR=CeleryExecutor" in refused.stderr
    started = subprocess.run(["bash", "-ec", guard], env={"PATH": os.environ["PATH"],
                             "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}, capture_output=True, text=True)
    assert started.returncode == 0 and started.stdout.strip() == "would-start"


def test_airflow_reaches_the_warehouse_only_through_warehouse_default_as_the_airflow_login(celery_stack):
    """Airflow's services hold `warehouse_default` as baton_airflow and no WAREHOUSE_URL; the admin password
    is in the warehouse, warehouse-init and airflow-init only (which runs `baton warehouse grant`)."""
    for name in AIRFLOW_SERVICES:
        environment = celery_stack[name]["environment"]
        assert "WAREHOUSE_URL" not in environment, name
        assert environment["AIRFLOW_CONN_WAREHOUSE_DEFAULT"] == (
            f"postgres://baton_airflow:{LOGIN_PASSWORD}@warehouse:5432/baton"), name
    holding_admin = {name for name, service in celery_stack.items() if ADMIN_PASSWORD in str(service)}
    assert holding_admin == {"warehouse", "warehouse-init", "airflow-init"}
    assert "baton warehouse grant" in " ".join(celery_stack["airflow-init"]["command"])
    assert celery_stack["airflow-init"]["environment"]["WAREHOUSE_URL"].startswith(f"postgresql://postgres:{ADMIN_PASSWORD}@")


def test_warehouse_init_and_grant_give_airflow_a_login_that_loads_and_builds_and_both_can_run_again(
        celery_stack, fresh_warehouse):
    """The stack's warehouse set-up on a real, empty PostgreSQL, twice (it runs on every `up`): warehouse-init's
    own SQL, then airflow-init's `baton warehouse grant`. The login is no superuser, a member of exactly the
    loader and transformer roles, and may write raw and build a shadow schema (role names made unique here:
    roles are cluster-wide)."""
    from baton.security import Roles, grant
    from baton.warehouse import url_parts

    if not shutil.which("psql"):
        pytest.skip("no psql (the postgres image brings its own)")
    prefix = f"bw{uuid.uuid4().hex[:8]}"
    script = celery_stack["warehouse-init"]["command"][2].replace("$$", "$").replace("baton_", f"{prefix}_")
    parts = url_parts(fresh_warehouse)
    env = {"PATH": os.environ["PATH"], "PGHOST": parts["host"], "PGPORT": parts["port"], "PGUSER": parts["user"],
           "PGDATABASE": parts["dbname"], "PGPASSWORD": parts["password"],
           "BATON_WAREHOUSE_PASSWORD": "it's a \"password\""}
    login = f"{prefix}_airflow"
    try:
        for _ in range(2):
            ran = subprocess.run(["bash", "-ec", script], env=env, capture_output=True, text=True, timeout=60)
            assert ran.returncode == 0, ran.stderr
            grant(fresh_warehouse, prefix=prefix)  # on an empty warehouse: no marts yet
        with psycopg.connect(fresh_warehouse) as conn:
            state = conn.execute("select rolcanlogin, rolsuper, rolpassword is not null from pg_authid"
                                 " where rolname = %s", (login,)).fetchone()
            member_of = {role for (role,) in conn.execute(
                "select g.rolname from pg_auth_members m join pg_roles g on g.oid = m.roleid"
                " join pg_roles r on r.oid = m.member where r.rolname = %s", (login,))}
        assert state == (True, False, True)
        assert member_of == {Roles(prefix).loader, Roles(prefix).transformer}
        with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
            conn.execute(f'set role "{login}"')
            conn.execute("insert into raw_salesforce.lead (id, data, _loaded_at, _load_id) values ('L1', '{}', now(), 'x')")
            conn.execute("create schema marts_shadow; create table marts_shadow.t as select id from raw_salesforce.lead")
    finally:
        roles = [login, *Roles(prefix).all]
        with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
            existing = [role for role in roles if conn.execute("select 1 from pg_roles where rolname = %s",
                                                               (role,)).fetchone()]
            for role in existing:
                conn.execute(f'drop owned by "{role}" cascade')
            for role in existing:
                conn.execute(f'drop role "{role}"')


def test_compose_builds_every_baton_service_from_the_locked_image(celery_stack):
    """Every service but the databases and Redis runs the one image, built from uv.lock without the dev group."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev --group deploy" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    built = {name for name, service in celery_stack.items() if service.get("image") == "baton:local"}
    assert built == set(celery_stack) - {"warehouse", "warehouse-init", "airflow-db", "redis"}
