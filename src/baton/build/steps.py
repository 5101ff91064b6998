"""The build → gate → publish sequence that baton_nightly and baton_transform both run (baton.airflow.dags).

    prepare            raw tables exist; the shadow schemas are clean or the last published
    build_into_shadow  dbt build into the shadow schemas (staging_shadow, intermediate_shadow, marts_shadow)
    build              prepare + build_into_shadow + mark the shadow built (for callers outside Airflow)
    check_and_publish  the quality gate on the shadow, then the atomic swap (baton.build.publish)

A correctness failure raises before the swap: the marts analysts query stay the previous
night's, and the error names each failed check. Both steps are safe to retry: a build starts
from a clean or previously published shadow; a publish swaps only a freshly built shadow, and a
rerun after a successful swap reports the generation already live instead of swapping back.
"""

from __future__ import annotations

import logging
from datetime import datetime

from baton.build.publish import SHADOW_SUFFIX, PublishRefused, mark_built, prepare_shadow, publish, read_generation
from baton.instants import iso_z

log = logging.getLogger("baton.quality")


class BuildFailed(RuntimeError):
    pass



def prepare(warehouse_url: str) -> dict:
    """Before dbt runs: every raw table exists (empty if never loaded); the shadow is clean or the last published."""
    from baton.build.dbt import ensure_raw_tables

    ensure_raw_tables(warehouse_url)
    return prepare_shadow(warehouse_url)


def build_into_shadow(warehouse_url: str, *, as_of: datetime, target_name: str = "nightly"):
    """One `dbt build` (seeds, models, tests) into the shadow schemas; raise naming what failed."""
    from baton.build.dbt import dbt

    result = dbt(["build"], warehouse_url, vars={"as_of": iso_z(as_of)}, schema_suffix=SHADOW_SUFFIX,
                 target_name=target_name)
    if not result.success:
        named = "; ".join(f"{f['name']}: {(f.get('message') or f['status'])}"[:300] for f in result.failures()[:10])
        raise BuildFailed(f"dbt build into the shadow schemas failed, nothing published: "
                          f"{named or result.exception or 'see the dbt log'}")
    return result


def build(warehouse_url: str, *, as_of: datetime) -> dict:
    """prepare, dbt build into the shadow with every "now" at `as_of`, stamp the shadow built."""
    from baton.paths import state_path

    prepared = prepare(warehouse_url)
    result = build_into_shadow(warehouse_url, as_of=as_of, target_name="nightly")
    manifest = state_path("dbt", "nightly", "target", "manifest.json")
    build_id = mark_built(warehouse_url, as_of=as_of, manifest_path=manifest if manifest.is_file() else None)
    statuses: dict[str, int] = {}
    for item in result.results:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1
    return {"build_id": build_id, "as_of": iso_z(as_of), "nodes": statuses, "full_refresh": prepared["full_refresh"]}


def check_and_publish(warehouse_url: str, *, as_of: datetime) -> dict:
    """Gate the shadow build; publish it atomically when every correctness check passes."""
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
    published = publish(warehouse_url)
    with connect(warehouse_url) as conn:
        conn.execute("update quality.gate_runs set published_at = now() where run_id = %s", (gate["run_id"],))
    return {"published": True, "gate": gate, **published}
