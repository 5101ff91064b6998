"""Baton on CeleryExecutor: Airflow's own processes (api-server, scheduler, dag-processor, two Celery
workers; Redis as the broker, the metadata database and the result backend on PostgreSQL), the DAGs
unpaused, and the chain runs on its own: the extracts of the two configured sources (HubSpot has no
connection: its DAG succeeds doing nothing), baton_transform on their Assets, the gate, the publish.
The world lives in Salesforce and Marketo only; its handoffs and leaks then equal the planted truth,
and the tasks ran on both workers. The warehouse is reached only through `warehouse_default`, logging
in as a member of baton_loader and baton_transformer, as the compose stack does.

`BATON_CELERY_WORKERS=N` runs it with N workers (default 2), `BATON_CELERY_CONCURRENCY=C` with C task
slots each (default 1); `baton bench celery --workers N` takes the
figures (baton_sandbox.bench.celery_chain holds the processes both use).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
import requests

from baton_sandbox.bench.celery_chain import (
    DAG_IDS,
    drop_roles,
    provision_roles,
    redis_answers,
    rows,
    scheduled_chain,
    two_source_world,
    world_end,
)
from tests.e2e.test_leaks_against_planted_truth import LEAK_TYPES, _warehouse_handoffs, _warehouse_leaks

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

WORKERS = int(os.environ.get("BATON_CELERY_WORKERS", "2"))
# Two task slots in all, as the one-worker test had: spreading them over two workers costs no test time
# on two cores. `baton bench celery` measures what a second worker's own slots add.
CONCURRENCY = int(os.environ.get("BATON_CELERY_CONCURRENCY", "1"))


@pytest.fixture(scope="module")
def chain(server_url, sandbox_world_factory, tmp_path_factory):
    from baton_sandbox.server import SandboxServer
    from baton_sandbox.store import WorldStore
    from baton_sandbox.truth import compute_truth
    from tests.fixtures.warehouse import _create_database, _drop_database

    if not redis_answers():
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    end = world_end()
    world = sandbox_world_factory(people=300, **two_source_world(end))
    store = WorldStore(world, readonly=True)
    truth = compute_truth(store, end)
    store.close()
    root = tmp_path_factory.mktemp("celery")
    warehouse_db, warehouse_url = _create_database(server_url, "baton_celery_wh")
    metadata_db, metadata_url = _create_database(server_url, "baton_celery_af")
    prefix = f"bc{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: this run's own baton_loader, ...
    server = SandboxServer(world).start()
    server.set_clock(end)
    try:
        login_url = provision_roles(warehouse_url, prefix)
        with scheduled_chain(root, metadata_url=metadata_url, warehouse_login_url=login_url, sandbox_url=server.url,
                             workers=WORKERS, concurrency=CONCURRENCY) as run:
            assert run["state"] == "success", f"baton_transform ended {run['state']}\n{run['processes'].tail()}"
            print(f"\nCelery chain ({WORKERS} workers): first extract → publish {run['chain_s']}s, unpause → "
                  f"baton_transform success {run['unpause_to_end_s']}s, tasks per worker {run['tasks_per_worker']}")
            yield {**run, "url": warehouse_url, "metadata_url": metadata_url, "truth": truth, "prefix": prefix}
    finally:
        server.stop()
        _drop_database(server_url, warehouse_db)
        _drop_database(server_url, metadata_db)
        drop_roles(server_url, prefix)


def test_every_extract_dag_succeeds_and_the_one_without_a_connection_loads_nothing(chain):
    """Any set of sources: each extract DAG's scheduled run succeeds; HubSpot's, with no connection, loads
    nothing and says why in one log line."""
    for dag_id, runs in chain["extracts"].items():
        assert runs == ["success"], dag_id
    loaded = dict(rows(chain["url"], "select source, count(*) from baton_meta.load_log group by 1"))
    assert set(loaded) == {"salesforce", "marketo"}
    skipped = [line for path in chain["logs"].rglob("*.log") for line in path.read_text(errors="replace").splitlines()
               if "hubspot: source skipped: no connection 'hubspot_default'" in line]
    assert skipped, "the HubSpot extract did not say why it loaded nothing"


def test_tasks_spread_over_every_celery_worker(chain):
    """Scale-out: every task ran on one of the started workers, and each worker ran some (task_instance.hostname)."""
    per_worker = chain["tasks_per_worker"]
    assert set(per_worker) == set(chain["workers"]), per_worker
    assert all(count > 0 for count in per_worker.values())
    assert sum(per_worker.values()) == rows(chain["metadata_url"], "select count(*) from task_instance"
                                                                   " where dag_id = any(%s)", (list(DAG_IDS),))[0][0]


def test_the_chain_wrote_the_warehouse_as_a_loader_and_transformer_member_not_a_superuser(chain):
    """Least privilege works end to end: the Airflow login is no superuser, holds only the two roles, and
    the extracts and the publish it ran succeeded (raw tables filled, marts published by it)."""
    login = f"{chain['prefix']}_airflow"
    (superuser,), = rows(chain["url"], "select rolsuper from pg_roles where rolname = %s", (login,))
    assert superuser is False
    member_of = {role for (role,) in rows(chain["url"], "select b.rolname from pg_auth_members m join pg_roles b"
                                          " on b.oid = m.roleid join pg_roles r on r.oid = m.member where r.rolname = %s",
                                          (login,))}
    assert member_of == {f"{chain['prefix']}_loader", f"{chain['prefix']}_transformer"}
    (marts_owner,), = rows(chain["url"], "select nspowner::regrole::text from pg_namespace where nspname = 'marts'")
    assert marts_owner == login
    assert rows(chain["url"], "select count(*) from raw_salesforce.lead")[0][0] > 0


def test_the_admin_logs_in_with_the_password_the_simple_auth_manager_generated(chain):
    """The README's login: user admin, its password in AIRFLOW_HOME/simple_auth_manager_passwords.json.generated."""
    passwords = json.loads((chain["airflow_home"] / "simple_auth_manager_passwords.json.generated").read_text())
    api = chain["api_url"]
    token = requests.post(f"{api}/auth/token", json={"username": "admin", "password": passwords["admin"]}, timeout=30)
    assert token.status_code == 201, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    dags = requests.get(f"{api}/api/v2/dags", headers=headers, params={"dag_id_pattern": "baton_"}, timeout=30)
    assert dags.status_code == 200, dags.text
    assert {dag["dag_id"] for dag in dags.json()["dags"]} >= set(DAG_IDS)
    wrong = requests.post(f"{api}/auth/token", json={"username": "admin", "password": "not-it"}, timeout=30)
    assert wrong.status_code == 401
    assert requests.get(f"{api}/api/v2/dags", timeout=30).status_code == 401


def test_the_scheduled_chains_handoffs_equal_the_planted_truth(chain):
    """What the scheduler published (no run by hand) holds every planted handoff and no other."""
    url, truth = chain["url"], chain["truth"]
    warehouse_person = {key: person for key, person in rows(
        url, "select record_key, person_id from intermediate.int_people_matched_across_sources")}
    person_of = {}
    for person in truth["people"]:
        found = {warehouse_person.get(f"{i['source_system']}:{i['source_object']}:{i['source_id']}")
                 for i in person["identities"]} - {None}
        if found:
            person_of[person["person_id"]] = found.pop()
    handoff_key = {h["handoff_id"]: (person_of.get(h["person_id"]), h["handed_off_at"]) for h in truth["handoffs"]}
    assert set(_warehouse_handoffs(url)) == set(handoff_key.values())
    assert len(handoff_key) >= 10
    chain["keys"] = (person_of, handoff_key)


@pytest.mark.parametrize("leak_type", LEAK_TYPES)
def test_the_scheduled_chains_leaks_equal_the_planted_truth(chain, leak_type):
    """Each leak type of the scheduled chain's marts equals the planted leaks, person and handoff."""
    if "keys" not in chain:
        test_the_scheduled_chains_handoffs_equal_the_planted_truth(chain)
    person_of, handoff_key = chain["keys"]
    planted = {(leak["leak_type"], person_of.get(leak["person_id"]), handoff_key.get(leak["handoff_id"]))
               for leak in chain["truth"]["leaks"] if leak["leak_type"] == leak_type}
    found = {key for key in _warehouse_leaks(chain["url"]) if key[0] == leak_type}
    assert found == planted
