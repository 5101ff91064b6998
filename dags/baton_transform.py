"""baton_transform: build the warehouse with dbt and run the checks once the raw schemas are fresh.

Scheduled on the Assets the extract DAGs publish: it runs when every raw schema has been
updated since its last run. Asset-triggered runs have no data interval, so the as-of instant
is the latest watermark the loaders recorded (the data's own "now").
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task

from baton.assets import MARTS_ASSET_URI, SOURCES, raw_asset_uri


@dag(
    dag_id="baton_transform",
    schedule=[Asset(raw_asset_uri(source)) for source in SOURCES],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["baton", "transform", "dbt", "quality"],
    default_args={"owner": "baton", "retries": 2, "retry_delay": timedelta(minutes=2),
                  "retry_exponential_backoff": True},
    doc_md=__doc__,
)
def baton_transform():
    @task
    def as_of() -> str:
        from baton import tasks

        return tasks.loaded_as_of().isoformat()

    @task
    def build(as_of_instant: str) -> dict:
        from baton import tasks

        return tasks.build_warehouse(as_of_instant)

    @task(outlets=[Asset(MARTS_ASSET_URI)])
    def check(built: dict, as_of_instant: str) -> dict:
        from baton import tasks

        return tasks.check_and_publish(as_of_instant)

    instant = as_of()
    check(build(instant), instant)


baton_transform()
