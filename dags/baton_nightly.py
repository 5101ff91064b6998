"""baton_nightly: the whole nightly run for one date in one DAG: extract every source, build, check, publish.

This is what `baton run --date D` and `make demo` execute in-process (`airflow dags test
baton_nightly D`). A scheduled deployment runs the per-source extract DAGs instead and lets
`baton_transform` follow their Assets; this DAG is paused at creation so the two never double up.
The data interval is the UTC day before the run's date; its end is the run's as-of instant.

    extract_<source> (one task per registered source) → as_of → prepare → dbt_build → mark_built
    → check_and_publish → digest

A manual run may ask (params, `baton run --full-refresh / --since / --vars`) for a full refresh,
a backfill start, or dbt vars of its own (docs/operations.md).

From as_of on it is the same chain as baton_transform (baton.airflow.dags.build_check_publish),
with the dbt build as one task (a Cosmos task per model pays dbt's start-up each time, which an
in-process run never wins back).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from baton.airflow.dags import (
    DEFAULT_ARGS,
    START_DATE,
    build_check_publish,
    extract_all_sources,
    nightly_timetable,
    run_params,
)


@dag(
    dag_id="baton_nightly",
    schedule=nightly_timetable(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["baton", "nightly", "demo"],
    default_args=DEFAULT_ARGS,
    params=run_params(),
    doc_md=__doc__,
)
def baton_nightly():
    @task
    def as_of(data_interval_end=None) -> str:
        from baton.airflow import tasks

        return tasks.data_as_of(data_interval_end)

    instant = as_of()
    extract_all_sources() >> instant
    build_check_publish(instant, per_model=False)


baton_nightly()
