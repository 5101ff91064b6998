"""The build → gate → publish sequence that baton_nightly and baton_transform both run (baton.airflow.dags).

    prepare            raw tables exist; the shadow schemas are clean or the last published
    build_into_shadow  dbt build into the shadow schemas (staging_shadow, intermediate_shadow, marts_shadow)
    build              prepare + build_into_shadow + mark the shadow built (for callers outside Airflow)
    check_and_publish  the quality gate on the shadow, then the atomic swap (baton.build.publish)

One sequence at a time per warehouse: `prepare` takes the lease (baton.build.lease), each later
step checks it and keeps it beating, the publish or a failure gives it back. A second sequence
waits, then fails with "another run holds the warehouse since ...", without touching the first's
shadow.

A correctness failure raises before the swap: the marts analysts query stay the previous
night's, and the error names each failed check. Both steps are safe to retry: a build starts
from a clean or previously published shadow; a publish swaps only a freshly built shadow, and a
rerun after a successful swap reports the generation already live instead of swapping back.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime

from baton.build.publish import SHADOW_SUFFIX, PublishRefused, prepare_shadow, publish, read_generation
from baton.instants import iso_z

log = logging.getLogger("baton.quality")


class BuildFailed(RuntimeError):
    pass


def prepare(warehouse_url: str, *, owner: str | None = None) -> dict:
    """Take the warehouse's lease; raw tables exist; the shadow is clean or the last published.

    Returns what prepare_shadow did plus `lease`, the token every later step of this sequence
    passes on. While another sequence holds the warehouse this waits (BATON_LEASE_WAIT_SECONDS),
    then raises WarehouseBusy, touching nothing.
    """
    from baton.build.dbt import ensure_raw_tables
    from baton.build.lease import acquire, holding, release
    from baton.engines import engine_for, is_postgres

    if not is_postgres(warehouse_url):
        # DuckDB and Spark: the engine's lock serializes every step and the generation states guard
        # the publish (baton.engines.base); the PostgreSQL lease table has no twin there yet.
        engine = engine_for(warehouse_url)
        engine.ensure_raw_tables()
        return {**engine.prepare_shadow(), "lease": None}
    token = acquire(warehouse_url, owner=owner)
    try:
        with holding(warehouse_url, token, "prepare"):
            ensure_raw_tables(warehouse_url)
            prepared = prepare_shadow(warehouse_url)
    except BaseException:
        release(warehouse_url, token)
        raise
    return {**prepared, "lease": token}


def build_into_shadow(warehouse_url: str, *, as_of: datetime, target_name: str = "nightly",
                      lease: str | None = None, full_refresh: bool = False):
    """One `dbt build` (seeds, models, tests; `--full-refresh` when asked) into the shadow schemas;
    raise naming what failed."""
    from baton.build.dbt import dbt

    with _holding(warehouse_url, lease, "dbt_build"):
        result = dbt(["build", *(["--full-refresh"] if full_refresh else [])], warehouse_url,
                     vars={"as_of": iso_z(as_of)}, schema_suffix=shadow_suffix(warehouse_url),
                     target_name=target_name)
    if not result.success:
        named = "; ".join(f"{f['name']}: {(f.get('message') or f['status'])}"[:300] for f in result.failures()[:10])
        raise BuildFailed(f"dbt build into the shadow schemas failed, nothing published: "
                          f"{named or result.exception or 'see the dbt log'}")
    return result


def mark_built(warehouse_url: str, *, as_of: datetime, manifest_path=None, lease: str | None = None) -> str:
    """Stamp the shadow built (publish.mark_built), while this sequence still holds the warehouse."""
    from baton.build.publish import mark_built as stamp
    from baton.engines import engine_for, is_postgres

    if not is_postgres(warehouse_url):
        return engine_for(warehouse_url).mark_built(as_of=iso_z(as_of), manifest_path=manifest_path)
    with _holding(warehouse_url, lease, "mark_built"):
        return stamp(warehouse_url, as_of=as_of, manifest_path=manifest_path)


def build(warehouse_url: str, *, as_of: datetime, lease: str | None = None) -> dict:
    """prepare, dbt build into the shadow with every "now" at `as_of`, stamp the shadow built.

    With `lease` (from prepare) the caller keeps the warehouse for its check_and_publish;
    without one, build takes the lease and gives it back when it returns.
    """
    from baton.build.lease import release
    from baton.paths import state_path

    own = lease is None
    prepared = prepare(warehouse_url) if own else {"full_refresh": None, "lease": lease}
    try:
        result = build_into_shadow(warehouse_url, as_of=as_of, target_name="nightly", lease=prepared["lease"])
        manifest = state_path("dbt", "nightly", "target", "manifest.json")
        build_id = mark_built(warehouse_url, as_of=as_of, manifest_path=manifest if manifest.is_file() else None,
                              lease=prepared["lease"])
    finally:
        if own:
            release(warehouse_url, prepared["lease"])
    statuses: dict[str, int] = {}
    for item in result.results:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return {"build_id": build_id, "as_of": iso_z(as_of), "nodes": statuses, "full_refresh": prepared["full_refresh"]}


def check_and_publish(warehouse_url: str, *, as_of: datetime, lease: str | None = None) -> dict:
    """Gate the shadow build; publish it atomically when every correctness check passes.

    The lease is given back after the swap and after a failed gate or a refused publish (the
    same shadow would fail again); without `lease` this step takes and returns one of its own.
    """
    from baton.build.lease import acquire, release
    from baton.engines import is_postgres
    from baton.quality.gate import QualityGateFailed

    if not is_postgres(warehouse_url):
        return _check_and_publish_on_engine(warehouse_url, as_of=as_of)
    own = lease is None
    token = acquire(warehouse_url, step="check_and_publish") if own else lease
    try:
        with _holding(warehouse_url, token, "check_and_publish"):
            outcome = _check_and_publish(warehouse_url, as_of=as_of, lease=token)
    except (QualityGateFailed, PublishRefused):
        release(warehouse_url, token)
        raise
    except BaseException:
        if own:
            release(warehouse_url, token)
        raise
    release(warehouse_url, token)
    return outcome


def _check_and_publish(warehouse_url: str, *, as_of: datetime, lease: str) -> dict:
    from baton.quality.gate import run_gate
    from baton.warehouse import connect

    with connect(warehouse_url) as conn:
        shadow = read_generation(conn, f"marts{SHADOW_SUFFIX}")
        live = read_generation(conn, "marts")
    if shadow is None or shadow.state != "built":
        if live is not None and live.as_of == iso_z(as_of):
            # A retry after the swap: this as-of is already live; swapping again would undo it.
            log.info("marts as of %s already published (build %s); nothing to do", live.as_of, live.build_id)
            return {"published": False, "already_published": True, "build_id": live.build_id, "as_of": live.as_of}
        raise PublishRefused(f"marts{SHADOW_SUFFIX} holds no fresh build to check and publish; run the build first")
    gate = run_gate(warehouse_url, as_of=as_of, schema_suffix=SHADOW_SUFFIX, build_id=shadow.build_id)
    published = publish(warehouse_url, lease=lease)
    with connect(warehouse_url) as conn:
        conn.execute("update quality.gate_runs set published_at = now() where run_id = %s", (gate["run_id"],))
    return {"published": True, "gate": gate, **published}


def shadow_suffix(warehouse_url: str) -> str:
    """The schemas a build writes: PostgreSQL's shadow; on DuckDB and Spark the colour not live."""
    from baton.engines import engine_for, is_postgres

    return SHADOW_SUFFIX if is_postgres(warehouse_url) else engine_for(warehouse_url).shadow_suffix()


def _check_and_publish_on_engine(warehouse_url: str, *, as_of: datetime) -> dict:
    """The gate on the built colour, then the engine's publish (baton.engines.base.Engine.publish)."""
    from baton.engines import engine_for
    from baton.quality.engine_gate import run_engine_gate

    engine = engine_for(warehouse_url)
    with engine.connect() as conn:
        built = next((g for g in engine.generations(conn).values() if g.state == "built"), None)
        live = engine.read_published(conn)
    if built is None:
        if live is not None and live.as_of == iso_z(as_of):
            log.info("marts as of %s already published (build %s); nothing to do", live.as_of, live.build_id)
            return {"published": False, "already_published": True, "build_id": live.build_id, "as_of": live.as_of}
        raise PublishRefused(f"no fresh build on {engine.kind} to check and publish; run the build first")
    gate = run_engine_gate(engine, as_of=as_of, schema_suffix=built.colour, build_id=built.build_id)
    return {"published": True, "gate": gate, **engine.publish()}


@contextmanager
def _holding(warehouse_url: str, lease: str | None, step: str):
    """The lease checked and kept beating for the step; no lease (a caller outside a sequence): nothing."""
    if lease is None:
        yield None
        return
    from baton.build.lease import holding

    with holding(warehouse_url, lease, step):
        yield lease
