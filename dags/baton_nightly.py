"""baton_nightly: the whole nightly run for one date in one DAG: extract every source, build, check.

This is what `baton run --date D` and `make demo` execute in-process (`airflow dags test
baton_nightly D`). A scheduled deployment runs the per-source extract DAGs instead and lets
`baton_transform` follow their Assets; this DAG is paused at creation so the two never double up.
The data interval is the UTC day before the run's date; its end is the run's as-of instant.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from baton.dag_factory import DEFAULT_ARGS, START_DATE, nightly_timetable

SOURCES = ("salesforce", "marketo", "hubspot")


@dag(
    dag_id="baton_nightly",
    schedule=nightly_timetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["baton", "nightly", "demo"],
    default_args=DEFAULT_ARGS,
    doc_md=__doc__,
)
def baton_nightly():
    @task
    def extract(source: str, data_interval_start=None, data_interval_end=None) -> dict:
        from baton import tasks

        return tasks.extract_source(source, data_interval_start, data_interval_end)

    @task
    def build(loads: list[dict], data_interval_end=None) -> dict:
        from baton import tasks

        return tasks.build_warehouse(data_interval_end)

    @task
    def check(built: dict, data_interval_end=None) -> dict:
        from baton import tasks

        return tasks.check_and_publish(data_interval_end)

    loads = [extract.override(task_id=f"extract_{source}")(source) for source in SOURCES]
    check(build(loads))


baton_nightly()
