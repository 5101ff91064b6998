"""What the DAGs' tasks do, kept out of the DAG files so they stay declarations.

Each function takes plain values (instants, source names) and finds its credentials in
Airflow connections, or in the environment when run outside Airflow.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

log = logging.getLogger("baton")


def warehouse_url_for_task() -> str:
    """WAREHOUSE_URL, else Airflow's `warehouse_default` connection, else the embedded warehouse."""
    if os.environ.get("WAREHOUSE_URL"):
        return os.environ["WAREHOUSE_URL"]
    try:
        from airflow.sdk import Connection

        return Connection.get("warehouse_default").get_uri()
    except Exception:  # no Airflow, or no such connection
        from baton import warehouse

        return warehouse.warehouse_url()


def _instant(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)


def extract_source(source: str, start, end) -> dict:
    """Extract every stream of one source up to `end` and land it in its raw schema."""
    from baton.connections import get_connection
    from baton.sources.runner import run_for_task

    conn = get_connection(f"{source}_default")
    if conn is None:
        log.warning("%s: no connection %s_default configured; source skipped", source, source)
        return {"source": source, "skipped": True}
    streams = run_for_task(source, None, conn, warehouse_url_for_task(), end)
    return {"source": source, "streams": streams,
            "extracted": sum(s["extracted"] for s in streams),
            "rejected": sum(s["rejected"] for s in streams)}


def build_warehouse(as_of) -> dict:
    """dbt build (models, seeds, tests) with every "now" evaluated at `as_of`."""
    # Into the shadow schemas: analysts keep the published marts until check_and_publish swaps them.
    from baton.quality.nightly import build

    return build(warehouse_url_for_task(), as_of=_instant(as_of))


def check_and_publish(as_of) -> dict:
    """The quality gate: correctness checks must pass before the marts are published."""
    from baton.quality.gate import QualityGateFailed
    from baton.quality.nightly import check_and_publish as gate_and_publish

    try:
        return gate_and_publish(warehouse_url_for_task(), as_of=_instant(as_of))
    except QualityGateFailed as failure:
        # The same data fails the same checks again: fail now instead of retrying.
        try:
            from airflow.sdk.exceptions import AirflowFailException
        except ImportError:
            raise failure from None
        raise AirflowFailException(str(failure)) from failure


def loaded_as_of() -> datetime:
    """The data's own "now" for asset-triggered runs: the latest watermark any stream reached."""
    from baton.warehouse import connect

    with connect(warehouse_url_for_task()) as conn:
        row = conn.execute("select max(watermark) from baton_meta.sync_state").fetchone()
    return row[0] or datetime.now(timezone.utc)
