"""baton_transform: build the warehouse with dbt (through Cosmos), check it, publish it atomically, send the digest.

Scheduled on the Assets the extract DAGs publish: it runs when every raw schema has been
updated since its last run. An extract DAG whose source has no connection succeeds doing
nothing (one log line) and still updates its Asset, so any set of configured sources leads here;
unpause all three extract DAGs. Asset-triggered runs have no data interval: each extract's Asset
event carries its interval's end, and the as-of instant is the earliest of them (a manual run:
the latest watermark the loaders recorded).

    as_of → prepare → dbt (one task per seed and model, its tests after it, into the shadow
    schemas) → mark_built → check_and_publish (quality gate, then one-transaction schema swap)
    → digest

A correctness failure stops at check_and_publish: the marts analysts query stay the previous
run's, and the task's error names every failed check (docs/quality.md). A manual run may ask for
`dbt build --full-refresh` or dbt vars of its own (params `full_refresh`, `dbt_vars`); the Airflow
Variable `baton_dbt_vars` holds a deployment's vars (docs/operations.md).

Parsing runs no dbt and touches no database: the dbt graph comes from the render manifest that
ships in the package (dbt_project/render_manifest.json: `dbt parse` of the project, trimmed to what
rendering reads; Cosmos LoadMode.DBT_MANIFEST), so every machine renders the same tasks and no
task's output changes them. A test fails while it differs from a fresh parse (refresh it with
`python -m baton.build.manifest`). `BATON_DBT_TASKS=single` runs the whole build as one task
(each Cosmos task pays ~10 s of dbt start-up, which only parallel workers win back).
"""

from __future__ import annotations

import os

from airflow.sdk import dag, task

from baton.airflow.dags import DEFAULT_ARGS, START_DATE, build_check_publish, raw_assets, run_params


@dag(
    dag_id="baton_transform",
    schedule=raw_assets(),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["baton", "transform", "dbt", "quality"],
    default_args=DEFAULT_ARGS,
    params=run_params(extract=False),
    doc_md=__doc__,
)
def baton_transform():
    @task
    def as_of(triggering_asset_events=None) -> str:
        from baton.airflow import tasks

        # The earliest as-of the triggering extracts published (their data interval's end), else the
        # latest watermark (a manual run).
        published = [event.extra["as_of"] for events in (triggering_asset_events or {}).values()
                     for event in events if (event.extra or {}).get("as_of")]
        return min(published) if published else tasks.data_as_of(None)

    build_check_publish(as_of(), per_model=os.environ.get("BATON_DBT_TASKS", "per_model") != "single")


baton_transform()
