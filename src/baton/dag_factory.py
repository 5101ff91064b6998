"""What every Baton DAG shares: the nightly timetable, the defaults, and the extract DAG's shape.

The DAG files under dags/ stay one per dag_id; the three extract DAGs differ only in their
source, so they are built here from it.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from baton.assets import raw_asset_uri

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")
DEFAULT_ARGS = {"owner": "baton", "retries": 3, "retry_delay": timedelta(minutes=1),
                "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=30)}


def nightly_timetable() -> CronDataIntervalTimetable:
    """Every night at 00:00 UTC, for the UTC day before: its end is the run's as-of instant."""
    return CronDataIntervalTimetable("0 0 * * *", timezone="UTC")


def extract_dag(source: str, doc_md: str):
    """baton_extract_<source>: the source's streams in dependency stages, then its raw-schema Asset."""
    from baton.sources.runner import CONNECTION_IDS, stages_of

    @dag(
        dag_id=f"baton_extract_{source}",
        schedule=nightly_timetable(),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["baton", "extract", source],
        default_args=DEFAULT_ARGS,
        doc_md=doc_md,
    )
    def extract_source():
        @task(map_index_template="{{ task.op_kwargs['stream'] }}")
        def extract(stream: str, data_interval_end=None) -> list[dict]:
            from airflow.sdk import Connection

            from baton import tasks
            from baton.connections import from_airflow
            from baton.sources.runner import run_for_task

            connection = from_airflow(Connection.get(CONNECTION_IDS[source]))
            return run_for_task(source, [stream], connection, tasks.warehouse_url_for_task(), data_interval_end)

        @task(outlets=[Asset(raw_asset_uri(source))])
        def publish(loads) -> dict:
            # By index: iterating the lazy XCom sequence probes one past its end and logs an error.
            rows = [row for index in range(len(loads)) for row in loads[index]]
            return {"source": source, "streams": len(rows), "loaded": sum(row["loaded"] for row in rows),
                    "rejected": sum(row["rejected"] for row in rows)}

        stages = [extract.override(task_id=f"extract_stage_{n}").expand(stream=list(streams))
                  for n, streams in enumerate(stages_of(source), start=1)]
        chain(*stages, publish(stages[-1]))

    return extract_source()
