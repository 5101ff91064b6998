"""baton_hot_leads' shape: the hourly SLA watch as an Airflow DAG (dags/baton_hot_leads.py calls it).

    extract_<source> (one per registered source) → build → write

One run per hour on a data-interval timetable ("0 * * * *", UTC); the interval's end is the
instant everything is evaluated at. Every task body is in baton.watch.hour, the functions
`baton watch --at` runs. No database or network work at parse time. The extract tasks publish no
Asset: the raw-schema Assets are the nightly extracts', and an hourly event would start
baton_transform every hour.
"""

from __future__ import annotations

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

from baton.airflow.dags import DEFAULT_ARGS, START_DATE

DAG_ID = "baton_hot_leads"


def hourly_timetable() -> CronDataIntervalTimetable:
    """Every hour on the hour, for the hour before: its end is the run's as-of instant."""
    return CronDataIntervalTimetable("0 * * * *", timezone="UTC")


def hot_leads_dag(doc_md: str | None = None):
    from baton.sources.registry import source_names

    @dag(dag_id=DAG_ID, schedule=hourly_timetable(), start_date=START_DATE, catchup=False, max_active_runs=1,
         tags=["baton", "watch", "write-back"], default_args=DEFAULT_ARGS, doc_md=doc_md)
    def hot_leads():
        @task
        def extract(source: str, data_interval_end=None) -> dict:
            from baton.warehouse import warehouse_url
            from baton.watch.hour import extract as extract_source

            loads = extract_source(source, data_interval_end, warehouse_url=warehouse_url())
            if loads is None:
                return {"source": source, "skipped": True}
            return {"source": source, "streams": len(loads), "loaded": sum(load["loaded"] for load in loads)}

        @task
        def build(data_interval_end=None) -> dict:
            from baton.warehouse import warehouse_url
            from baton.watch.hour import build_models

            return build_models(warehouse_url(), data_interval_end)

        @task
        def write(data_interval_end=None) -> dict:
            from baton.warehouse import warehouse_url
            from baton.watch.hour import task_write_back

            return task_write_back(warehouse_url(), data_interval_end)

        extracts = [extract.override(task_id=f"extract_{name}")(name) for name in source_names()]
        built = build()
        extracts >> built
        built >> write()

    return hot_leads()
