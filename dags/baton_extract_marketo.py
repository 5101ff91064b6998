"""baton_extract_marketo: Marketo into raw_marketo, nightly, one task per stream, leads after activities.

Each run extracts every stream from its watermark up to the end of the run's data interval
(the UTC day before 02:00) through the activities paging token and leads by id,
lands it in one transaction per stream, and
publishes the raw_marketo Asset that `baton_transform` waits on. Credentials come only from
the `marketo_default` connection (host = API base URL, login = client id, password = client
secret); the warehouse from `warehouse_default` or WAREHOUSE_URL.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, chain, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from baton.assets import raw_asset_uri
from baton.sources.runner import CONNECTION_IDS, stages_of

SOURCE = "marketo"


@dag(
    dag_id="baton_extract_marketo",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["baton", "extract", SOURCE],
    default_args={"owner": "baton", "retries": 3, "retry_delay": timedelta(minutes=1),
                  "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=30)},
    doc_md=__doc__,
)
def baton_extract_marketo():
    @task(map_index_template="{{ task.op_kwargs['stream'] }}")
    def extract(stream: str, data_interval_end=None) -> list[dict]:
        from airflow.sdk import Connection

        from baton import tasks
        from baton.connections import from_airflow
        from baton.sources.runner import run_for_task

        connection = from_airflow(Connection.get(CONNECTION_IDS[SOURCE]))
        return run_for_task(SOURCE, [stream], connection, tasks.warehouse_url_for_task(), data_interval_end)

    @task(outlets=[Asset(raw_asset_uri(SOURCE))])
    def publish(loads) -> dict:
        # By index: iterating the lazy XCom sequence probes one past its end and logs an error.
        rows = [row for index in range(len(loads)) for row in loads[index]]
        return {"source": SOURCE, "streams": len(rows), "loaded": sum(row["loaded"] for row in rows),
                "rejected": sum(row["rejected"] for row in rows)}

    stages = [extract.override(task_id=f"extract_stage_{n}").expand(stream=list(streams))
              for n, streams in enumerate(stages_of(SOURCE), start=1)]
    chain(*stages, publish(stages[-1]))


baton_extract_marketo()
